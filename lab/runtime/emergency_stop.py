"""The emergency stop: every instrument at once, latched until staff reset it.

The stop bypasses the plan queue: it goes straight to each instrument's real-time stop on
the devices' event loop, all devices concurrently, and returns once each has confirmed (or
names the ones that did not). Until a reset, nothing may start and each instrument itself
refuses motion.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from devices import InstrumentDevice
from lab.errors import Conflict
from lab.runtime.lab import Lab


@dataclass
class EstopReport:
    """Who or what stopped the lab (a user, an interlock), why, when, and what each device
    answered (``safe`` or the error)."""

    by: str
    reason: str
    time: float
    devices: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def confirmed(self) -> bool:
        """Every device confirmed its stop."""
        return all(answer == "safe" for answer in self.devices.values())


class ResetError(Conflict):
    """The latch could not be cleared (not latched, or a device did not reset)."""


class EmergencyStop(ABC):
    """The latch: ``emergency_stop`` stops everything and latches, ``refusal()`` is what
    every start asks first, ``reset`` (staff) clears it once every device has. What
    "everything" is belongs to the subclass: a lab's instruments (:class:`Safety`), or
    workcells behind their queue servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latched: EstopReport | None = None

    @abstractmethod
    def _stop_all(self) -> dict[str, str]:
        """Stop every device at once; each one's answer (``safe`` or why not)."""

    @abstractmethod
    def _reset_all(self) -> dict[str, str]:
        """Clear each device's latch; each one's answer (``reset`` or why not)."""

    def refusal(self) -> str | None:
        """Why nothing may start now (the latched emergency stop), or None."""
        report = self.latched
        if report is None:
            return None
        return f"emergency stop latched (by {report.by}); staff must reset it first"

    def emergency_stop(self, by: str, reason: str) -> EstopReport:
        """Latch, then stop every instrument at once and wait for their confirmations.

        Args:
            by: who or what pressed it (a user name, ``interlock leak``).
            reason: why, in words.
        """
        start = time.perf_counter()
        with self._lock:
            report = EstopReport(by, reason, time.time())
            self.latched = report
        report.devices = self._stop_all()
        report.seconds = time.perf_counter() - start
        return report

    def reset(self) -> dict[str, str]:
        """Clear each instrument's latch, then the lab's; raises :class:`ResetError` (and
        stays latched) if any device does not reset."""
        with self._lock:
            if self.latched is None:
                raise ResetError("the emergency stop is not latched")
            answers = self._reset_all()
            failed = {name: a for name, a in answers.items() if a != "reset"}
            if failed:
                raise ResetError(
                    "still latched; " + "; ".join(f"{n}: {a}" for n, a in failed.items())
                )
            self.latched = None
            return answers


class Safety(EmergencyStop):
    """The emergency stop of a lab whose instruments this process owns.

    Args:
        lab: the connected lab whose instruments are stopped.
        timeout_s: how long a device may take to confirm its stop, retries included.
    """

    def __init__(self, lab: Lab, timeout_s: float = 10.0) -> None:
        super().__init__()
        self._lab = lab
        self._timeout_s = timeout_s

    def _stop_all(self) -> dict[str, str]:
        return self._lab.call(self._stop_each())

    async def _stop_each(self) -> dict[str, str]:
        d = self._lab.devices
        for bay in d.bays:  # end waits in progress at once
            for waiting in (bay.station.heater, bay.timer):
                await waiting.stop(success=False)
        answers = await asyncio.gather(*(self._stop(i) for i in d.instruments))
        return {i.name: a for i, a in zip(d.instruments, answers, strict=True)}

    async def _stop(self, device: InstrumentDevice) -> str:
        """Asked again until ``timeout_s`` runs out: a device whose link is down may be
        back in a second (its transport reconnects), and a stop given up is a heater on."""
        deadline = time.monotonic() + self._timeout_s
        pause = 0.1
        while True:
            try:
                left = max(deadline - time.monotonic(), 0.01)
                await asyncio.wait_for(device.emergency_stop(), left)
            except TimeoutError:
                return f"not confirmed within {self._timeout_s:g} s"
            except Exception as err:  # any failure is reported per device, never raised
                if time.monotonic() + pause >= deadline:
                    return f"not confirmed in {self._timeout_s:g} s of trying: {err}"
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            return "safe"

    def _reset_all(self) -> dict[str, str]:
        return self._lab.call(self._reset_each())

    async def _reset_each(self) -> dict[str, str]:
        async def one(device: InstrumentDevice) -> str:
            try:
                await asyncio.wait_for(device.reset(), self._timeout_s)
            except Exception as err:  # reported per device
                return f"did not reset: {err}"
            return "reset"

        instruments = self._lab.devices.instruments
        answers = await asyncio.gather(*(one(i) for i in instruments))
        return {i.name: a for i, a in zip(instruments, answers, strict=True)}
