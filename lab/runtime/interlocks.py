"""Interlocks and their watchdog: the lab file's conditions (a door, a leak, an
over-temperature) read from the instruments while the lab runs.

A tripped ``pause`` interlock pauses the executor, which lands between protocol steps,
and resumes it once the interlock clears. Bluesky's suspenders are not used for this on
purpose: a suspender interrupts the step in progress and replays it from the last
checkpoint, and a dispense replayed is a dispense done twice. An ``emergency_stop``
interlock stops every device at once and latches until staff reset. An interlock that
cannot be read for its device's ``stale_after`` counts as tripped: a stale heartbeat is
never taken for safe.

Every interlock is read on a path that no command in progress blocks (the device's
``live_signals``: a real-time query on a serial line, a subscription on OPC UA), so a leak
during a ten-minute dispense is seen in one period, not when the dispense ends. An on/off
input is latched at the instrument (on now, and the rising edges counted since power-up),
so a pulse that comes and goes between two reads still trips it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pint
from ophyd_async.core import SignalR

from devices import DeviceError, InputState, InstrumentDevice, parse_quantity
from lab.errors import ConfigError
from lab.files.lab_file import InterlockConfig
from lab.runtime.lab import Lab
from lab.states import ExecutorState

log = logging.getLogger(__name__)


class Pausable(Protocol):
    """What a ``pause`` interlock holds: an :class:`~lab.runtime.executor.Executor`, or a
    workcell's RunEngine."""

    @property
    def state(self) -> ExecutorState:
        """``idle``, ``running``, ``pausing`` or ``paused``."""
        ...

    def pause(self) -> None:
        """Pause at the next checkpoint."""
        ...

    def resume(self) -> None:
        """Go on."""
        ...


@dataclass
class _Watched:
    name: str
    config: InterlockConfig
    signal: SignalR[Any]
    device: InstrumentDevice
    path: str  # the signal's path below its device
    stale_after_s: float
    above: float | None  # in the signal's own unit
    last_read: float
    latched: bool | None  # an on/off input the instrument latches (None: not known yet)
    trips: int | None = None  # its rising edges as last read


def _threshold(name: str, config: InterlockConfig, described: dict[str, Any]) -> float | None:
    """``above`` in the signal's own unit; ValueError (``field: why``) if it does not fit
    the signal: an on/off input trips when on and takes no ``above``, a number needs one, in
    a unit it can be compared in."""
    field = f"interlocks.{name}.above"
    dtype, unit = described.get("dtype"), described.get("units") or ""
    if dtype == "boolean":
        if config.above is not None:
            raise ValueError(
                f"{field}: {config.signal} is on or off: it trips when on; remove above"
            )
        return None
    if dtype not in ("number", "integer"):
        raise ValueError(
            f"interlocks.{name}.signal: {config.signal} is not a number or an on/off input"
        )
    if config.above is None:
        raise ValueError(
            f"{field}: {config.signal} is a number ({unit or 'no unit'}): say above which it "
            f"trips, e.g. above: '95 {unit or 'degC'}'"
        )
    limit = parse_quantity(config.above)
    try:
        return float(limit.m_as(unit))
    except (pint.DimensionalityError, pint.UndefinedUnitError, ValueError):
        raise ValueError(
            f"{field}: '{config.above}' cannot be compared with {config.signal}, read in {unit}"
        ) from None


class Watchdog:
    """Reads every interlock each ``watchdog_period`` on the devices' event loop.

    Args:
        lab: the connected lab whose ``config.interlocks`` are watched.
        executor: paused and resumed by ``pause`` interlocks.
        emergency_stop: what an ``emergency_stop`` interlock calls, with who pressed it
            (``interlock <name>``) and why (the lab process's own button: it stops the
            campaign, every device, the plan).
    """

    def __init__(
        self, lab: Lab, executor: Pausable, emergency_stop: Callable[[str, str], object]
    ) -> None:
        self._lab = lab
        self._executor = executor
        self._emergency_stop = emergency_stop
        # the period is lab time (see Lab.watch_period_s); a read's staleness stays real
        # time, for it measures the wire
        self._period_s = lab.watch_period_s
        #: interlock name -> why it is tripped, for the dashboard and the log
        self.tripped: dict[str, str] = {}
        self._paused = False
        self._stops: list[threading.Thread] = []
        self._task: asyncio.Task[None] | None = None
        self._watched = lab.call(self._resolve())

    async def _resolve(self) -> list[_Watched]:
        """Each interlock with its signal; ConfigError naming the lab file and the field of
        every interlock that cannot be watched, before anything starts."""
        watched, problems = [], []
        for name, config in self._lab.config.interlocks.items():
            try:
                signal, device, path = self._signal(name, config)
                above = _threshold(name, config, (await signal.describe())[signal.name])
            except ValueError as err:
                problems.append(str(err))
                continue
            stale = self._lab.config.devices[device.name].stale_after.m_as("s")
            inputs = await self._inputs(device)
            state = inputs.get(path) if inputs is not None else None
            watched.append(
                _Watched(
                    name,
                    config,
                    signal,
                    device,
                    path,
                    float(stale),
                    above,
                    time.monotonic(),
                    latched=(path in inputs) if inputs is not None else None,
                    trips=state.trips if state is not None else None,
                )
            )
        if problems:
            raise ConfigError(self._lab.config.file().name, problems)
        return watched

    def _signal(
        self, name: str, config: InterlockConfig
    ) -> tuple[SignalR[Any], InstrumentDevice, str]:
        """The signal, its instrument and its path there; ValueError (``field: why``) if it
        is not a signal read on a path no command blocks."""
        field = f"interlocks.{name}.signal"
        try:
            signal = self._lab.devices.resolve(config.signal)
        except ValueError as err:
            raise ValueError(f"{field}: {err}") from None
        device_name, _, path = config.signal.partition(".")
        device = self._lab.devices.resolve(device_name)
        if not isinstance(signal, SignalR) or not isinstance(device, InstrumentDevice):
            raise ValueError(f"{field}: {config.signal!r} is not a signal of an instrument")
        live = device.live_signals()
        if live.get(path) is not signal:
            can = ", ".join(f"{device_name}.{p}" for p in live) or "none"
            raise ValueError(
                f"{field}: {config.signal} is not read while {device_name} runs a command, so "
                f"an interlock on it would go blind; signals of {device_name} that can be "
                f"interlocks: {can}"
            )
        return signal, device, path

    @staticmethod
    async def _inputs(device: InstrumentDevice) -> dict[str, InputState] | None:
        """The device's latched inputs now; None if it cannot be read now (the watchdog's
        first read then tells)."""
        try:
            return await device.latched_inputs()
        except DeviceError:
            return None

    def start(self) -> Watchdog:
        """Start reading the interlocks (a no-op when the lab file has none)."""

        async def spawn() -> None:
            self._task = asyncio.create_task(self._watch(), name="interlock-watchdog")

        if self._watched:
            self._lab.call(spawn())
        return self

    def stop(self) -> None:
        """Stop watching, once any emergency stop in progress has done its work."""

        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()
                # bounded: a read stuck in a driver must not hold up closing the lab (which
                # closes the driver, and so ends the read)
                _, pending = await asyncio.wait({self._task}, timeout=5.0)
                if pending:
                    log.warning("interlock watchdog did not stop within 5 s; closing anyway")

        self._lab.call(cancel())
        self.settle()

    def settle(self) -> None:
        """Wait for the emergency stops the interlocks started: a campaign that ends
        because of one reports (and closes the lab) only after it has confirmed."""
        while self._stops:
            self._stops.pop().join(timeout=60.0)  # each device's stop is bounded well below

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # on a fixed cadence: the time the reads take does not stretch the period
            due = max(due + self._period_s, loop.time())
            await asyncio.sleep(due - loop.time())
            # read all at once: read one after another, a device's outage could be seen by
            # its first interlock and missed by the next, read after the reconnect
            reasons = await asyncio.gather(*(self._reason(w) for w in self._watched))
            for w, reason in zip(self._watched, reasons, strict=True):
                await self._update(w, reason)

    async def _reason(self, w: _Watched) -> str | None:
        """Why ``w`` is tripped now, or None if it is clear."""
        pulse = False
        try:
            async with asyncio.timeout(w.stale_after_s):
                inputs = await w.device.latched_inputs() if w.latched is not False else {}
                w.latched = w.path in inputs
                if w.latched:
                    state = inputs[w.path]
                    pulse = not state.on and w.trips is not None and state.trips > w.trips
                    value: Any = state.on
                    w.trips = state.trips
                else:
                    value = await w.signal.get_value()
        except (DeviceError, TimeoutError) as err:
            age = time.monotonic() - w.last_read
            if age <= w.stale_after_s:
                return self.tripped.get(w.name)
            why = str(err) or f"no answer within {w.stale_after_s:g} s"
            return f"{w.config.signal} not read for {age:.1f} s (heartbeat lost): {why}"
        w.last_read = time.monotonic()
        if w.above is not None and value > w.above:
            return f"{w.config.signal} = {value:g}, above {w.config.above}"
        if w.above is None and value:
            return f"{w.config.signal} is on"
        if pulse:
            return f"{w.config.signal} came on and went off again between two reads"
        return None

    async def _update(self, w: _Watched, reason: str | None) -> None:
        """Act on a change. The executor and the emergency stop wait on this event loop,
        so they are called from a thread of their own, never from the loop itself."""
        if reason is not None and w.name not in self.tripped:
            self.tripped[w.name] = reason
            log.warning("interlock %s tripped: %s", w.name, reason)
            if w.config.action == "emergency_stop":
                by = f"interlock {w.name}"
                stop = threading.Thread(
                    target=self._emergency_stop, args=(by, f"{by}: {reason}"), daemon=True
                )
                self._stops.append(stop)
                stop.start()
            elif self._executor.state not in (ExecutorState.PAUSED, ExecutorState.PAUSING):
                self._paused = True
                await asyncio.to_thread(self._executor.pause)
        elif reason is None and w.name in self.tripped:
            del self.tripped[w.name]
            log.warning("interlock %s cleared", w.name)
            pausing = [n for n in self.tripped if self._config(n).action == "pause"]
            if w.config.action == "pause" and self._paused and not pausing:
                self._paused = False
                await asyncio.to_thread(self._executor.resume)

    def _config(self, name: str) -> InterlockConfig:
        return self._lab.config.interlocks[name]
