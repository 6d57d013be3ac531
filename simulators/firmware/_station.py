"""A simulated synthesis station: syringe pumps, a heated block and a magnetic stirrer."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from simulators.clock import SimClock
from simulators.firmware._base import FirmwareError, LineFirmware
from simulators.workcell import Reservoir, Vial, Workcell

#: where a block with its heater stuck on heads
STUCK_C = 300.0
#: the heater's deadband (degC): within it the block holds its setpoint, and a vial in it
#: is booked at the setpoint, not at the last hundredth of a degree its lag reached then
SETTLED_C = 0.5


@dataclass
class InterlockInput:
    """An interlock input as the controller latches it: its level now, the rising edges
    it has counted since power-up (so a pulse shorter than any host's poll is still
    seen), and when it last came on (lab seconds, wall monotonic seconds)."""

    on: bool = False
    trips: int = 0
    tripped_at: tuple[float, float] | None = None

    def report(self) -> str:
        """``<level>:<trips>``, as ``SENSE`` and ``LOCKS?`` report it."""
        return f"{int(self.on)}:{self.trips}"


@dataclass(eq=False)
class _Stroke:
    """A pump stroke in progress: from which reservoir into which vial (None: the drain),
    when it began (lab seconds), how fast and how much; ``delivered`` once it has ended."""

    reservoir: Reservoir
    into: Vial | None
    started: float
    ml_min: float
    ml: float
    delivered: float | None = None

    def pumped(self, now: float) -> float:
        """What it has drawn by ``now`` (mL); a jammed pump draws nothing."""
        if self.delivered is not None or self.reservoir.jammed:
            return 0.0
        return min(self.ml, self.ml_min * max(0.0, now - self.started) / 60.0)


class StationFirmware(LineFirmware):
    """Commands: ``PUMPS?``, ``DISP <pump> <mL> <mL/min>``, ``LEVEL? <pump>``,
    ``PRIME <pump> <mL> <mL/min>`` (through the line to the drain, for priming and
    calibration), ``TEMP <degC>``, ``TEMP?``, ``TSET?``, ``STIR <rpm> [<s>]`` (with a run
    time, the stirrer's own timer stops it), ``STIR?``, ``VIAL?``,
    ``LOCKS?``, ``STOP``, the common ``STATE?``, ``RESET``, ``ESTOP``, and the real-time
    query ``SENSE`` (interlock inputs and block temperature, answered past a dispense).

    The block follows its setpoint with a first-order lag; the vial in the slot records
    the highest temperature it saw and how long it was stirred (a timed stir exactly its
    run time, however late the next command comes). A pump stopped by an
    emergency stop has delivered what it pumped until then, and the vial holds it.
    """

    model, serial_number = "SynthStation", "SN2001"

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        slot: str,
        pumps: dict[int, Reservoir],
        ambient_c: float = 25.0,
        tau_s: float = 60.0,
        heartbeat_s: float | None = None,
    ) -> None:
        super().__init__(clock)
        #: real seconds of silence from the controller after which the station stops
        #: itself and latches, as a PLC's watchdog does (None: it never does)
        self.heartbeat_s = heartbeat_s
        self._heard = time.monotonic()
        #: when the controller was last found silent (lab seconds), if ever
        self.controller_lost_at: float | None = None
        self.workcell = workcell
        self.slot = slot
        self.pumps = dict(pumps)
        self.ambient_c = ambient_c
        self.tau_s = tau_s
        self.setpoint_c = ambient_c
        self._t_from, self._t_since = ambient_c, clock.now()
        self._stuck = False
        self._rpm = 0.0
        #: a timed stir's seconds not yet booked into the vial (None: stirs until told)
        self._stir_left: float | None = None
        #: the station's interlock inputs (set ``door_open`` and ``leak`` to inject a trip)
        self.inputs = {"door": InterlockInput(), "leak": InterlockInput()}
        #: the pump strokes in progress
        self._strokes: list[_Stroke] = []
        self._stir_since = clock.now()
        workcell.before_take[slot] = self._settle
        self.commands.update(
            {
                "PUMPS?": self._pumps,
                "DISP": self._dispense,
                "PRIME": self.prime,
                "LEVEL?": self._level,
                "TEMP": self._set_temp,
                "TEMP?": self._temp,
                "TSET?": self._tset,
                "STIR": self._stir,
                "STIR?": self._stir_q,
                "VIAL?": self._vial,
                "LOCKS?": self._locks,
                "STOP": self._stop,
            }
        )
        self.realtime["SENSE"] = self.sense

    def notice(self, command: str) -> None:
        """Every command, by either wire, is the controller's heartbeat too."""
        self._heard = time.monotonic()
        super().notice(command)

    def tick(self) -> None:
        """The controller silent for ``heartbeat_s`` (its process killed, its cable out):
        stop everything and latch, as the emergency stop does, so a block is not left hot
        and stirring until someone comes."""
        silent = time.monotonic() - self._heard
        if self.heartbeat_s is None or silent <= self.heartbeat_s or self.estopped:
            return
        if self.rpm or self.setpoint_c != self.ambient_c or self._strokes:
            self.controller_lost_at = self.clock.now()
            self.emergency_stop()

    @property
    def door_open(self) -> bool:
        """The enclosure door's input."""
        return self.inputs["door"].on

    @door_open.setter
    def door_open(self, on: bool) -> None:
        self._set_input("door", on)

    @property
    def leak(self) -> bool:
        """The leak sensor's input."""
        return self.inputs["leak"].on

    @leak.setter
    def leak(self, on: bool) -> None:
        self._set_input("leak", on)

    def _set_input(self, name: str, on: bool) -> None:
        wired = self.inputs[name]
        if on and not wired.on:
            wired.trips += 1
            wired.tripped_at = (self.clock.now(), time.monotonic())
        wired.on = on

    def sense(self) -> str:
        """The real-time report: each interlock input as ``<level>:<trips>`` and the
        block's temperature, e.g. ``door=0:0,leak=1:1,temp=25.000``."""
        locks = ",".join(f"{name}={wired.report()}" for name, wired in self.inputs.items())
        return f"{locks},temp={self.temperature():.3f}"

    @property
    def heater_stuck(self) -> bool:
        """Fault injection: the heater's relay welded on; the block heats towards
        ``STUCK_C`` whatever the setpoint says (which still reads back as set)."""
        return self._stuck

    @heater_stuck.setter
    def heater_stuck(self, stuck: bool) -> None:
        self._settle()
        self._t_from, self._t_since = self.temperature(), self.clock.now()
        self._stuck = stuck

    def temperature(self) -> float:
        """The block's temperature now (first-order lag towards the setpoint, or towards
        ``STUCK_C`` with the heater stuck on)."""
        dt = self.clock.now() - self._t_since
        target = STUCK_C if self._stuck else self.setpoint_c
        return target + (self._t_from - target) * math.exp(-dt / self.tau_s)

    @property
    def rpm(self) -> float:
        """The stirrer's speed now (0 once a timed stir has run its time)."""
        if self._stir_left is not None and self.clock.now() - self._stir_since >= self._stir_left:
            self._settle()
        return self._rpm

    def _settle(self) -> None:
        """Book heat and stirring into the vial in the slot up to now (a timed stir up to
        where its timer ran out, and it stops there)."""
        now = self.clock.now()
        stirred = now - self._stir_since
        ran_out = self._stir_left is not None and stirred >= self._stir_left
        if self._stir_left is not None:
            stirred = min(stirred, self._stir_left)
            self._stir_left = None if ran_out else self._stir_left - stirred
        vial = self.workcell.vials_at.get(self.slot)
        if vial is not None:
            seen = self.temperature()
            if abs(seen - self.setpoint_c) <= SETTLED_C and not self._stuck:
                seen = self.setpoint_c  # settled: the vial sees the setpoint the block holds
            vial.temperature_c = max(vial.temperature_c, seen)
            if self._rpm > 0:
                vial.stir_time_s += stirred
                vial.stir_rpm = max(vial.stir_rpm, self._rpm)
        if ran_out:
            self._rpm = 0.0
        self._stir_since = now

    def _pump(self, pump: int) -> Reservoir:
        try:
            return self.pumps[int(pump)]
        except (KeyError, ValueError):
            raise FirmwareError(f"no pump {pump}") from None

    async def _pumps(self) -> str:
        return ",".join(f"{i}={r.reagent}" for i, r in self.pumps.items())

    # --- the station's own operations, in its units (mL, mL/min, degC, rpm) ----------
    async def dispense(self, pump: int, ml: float, ml_min: float) -> None:
        """Dispense into the vial in the slot (what the pump truly delivers)."""
        reservoir = self._pump(pump)
        if ml < 0 or ml_min <= 0:
            raise FirmwareError("volume must be >= 0 and rate > 0")
        vial = self.workcell.vials_at.get(self.slot)
        if vial is None:
            raise FirmwareError("no vial in slot")
        if vial.volume_ml + ml > vial.capacity_ml + 1e-9:
            raise FirmwareError(f"vial {vial.id} would overflow ({vial.volume_ml + ml:.3f} mL)")
        if ml > reservoir.volume_ml + 1e-9:
            raise FirmwareError(
                f"reservoir {reservoir.reagent} holds only {reservoir.volume_ml:.3f} mL"
            )
        await self._pump_out(pump, reservoir, ml, ml_min, into=vial)
        self._settle()

    async def prime(self, pump: int, ml: float, ml_min: float) -> None:
        """Push ``ml`` through the pump's line into the drain: fills the line before use,
        and lets staff check the delivered volume against the reservoir's level sensor."""
        reservoir = self._pump(pump)
        if ml <= 0 or ml_min <= 0:
            raise FirmwareError("volume and rate must be > 0")
        if ml > reservoir.volume_ml + 1e-9:
            raise FirmwareError(
                f"reservoir {reservoir.reagent} holds only {reservoir.volume_ml:.3f} mL"
            )
        await self._pump_out(pump, reservoir, ml, ml_min)

    async def _pump_out(
        self, pump: int, reservoir: Reservoir, ml: float, ml_min: float, into: Vial | None = None
    ) -> None:
        """Pump ``ml`` at ``ml_min`` from ``reservoir`` into ``into`` (the drain if None).
        An emergency stop ends the stroke where it is (see ``_halt``)."""
        stroke = _Stroke(reservoir, into, self.clock.now(), ml_min, ml)
        self._strokes.append(stroke)
        try:
            await self.busy_for(60.0 * ml / ml_min)
        except FirmwareError:
            raise FirmwareError(
                f"stopped by emergency stop after {stroke.delivered or 0.0:.3f} mL"
            ) from None
        finally:
            self._strokes.remove(stroke)
        if stroke.delivered is not None:  # halted by a fault of the controller meanwhile
            raise FirmwareError(f"pump {pump} halted after {stroke.delivered:.3f} mL")
        if reservoir.jammed:
            raise FirmwareError(f"pump {pump} jammed: nothing dispensed")
        stroke.delivered = self._deliver(reservoir, ml, into)

    @staticmethod
    def _deliver(reservoir: Reservoir, ml: float, into: Vial | None) -> float:
        delivered = min(ml * reservoir.delivery, reservoir.volume_ml)
        reservoir.volume_ml -= delivered
        if into is not None:
            into.contents_ml[reservoir.reagent] = (
                into.contents_ml.get(reservoir.reagent, 0.0) + delivered
            )
        return delivered

    def level(self, pump: int) -> float:
        """A reservoir's true level (mL), falling during a stroke as the pump draws."""
        reservoir = self._pump(pump)
        drawn = sum(s.pumped(self.clock.now()) for s in self._strokes if s.reservoir is reservoir)
        return reservoir.volume_ml - drawn * reservoir.delivery

    def set_temperature(self, celsius: float) -> None:
        """Change the setpoint."""
        self._settle()
        self._t_from, self._t_since = self.temperature(), self.clock.now()
        self.setpoint_c = celsius

    def set_stir(self, rpm: float, seconds: float | None = None) -> None:
        """Change the stirrer's speed; with ``seconds``, its own timer stops it then."""
        self._settle()
        self._rpm = rpm
        self._stir_left = seconds if rpm > 0 and seconds else None

    def stop(self) -> None:
        """Safe state: stirrer off, heater to ambient."""
        self.set_stir(0.0)
        self.set_temperature(self.ambient_c)

    def _halt(self) -> None:
        """Stirrer off, heater to ambient, and every pump stopped where it is: what it
        pumped until now has left its reservoir and is in the vial, at once, so that the
        levels read right after the stop are true."""
        self.stop()
        now = self.clock.now()
        for stroke in self._strokes:
            if stroke.delivered is None:
                stroke.delivered = self._deliver(stroke.reservoir, stroke.pumped(now), stroke.into)

    def vial(self) -> Vial | None:
        """The vial in the slot, or None."""
        return self.workcell.vials_at.get(self.slot)

    # --- the ASCII command set -----------------------------------------------------------
    async def _dispense(self, pump: int, volume: float, rate: float) -> None:
        await self.dispense(pump, volume, rate)

    async def _level(self, pump: int) -> str:
        return f"{self.level(pump):.4f}"

    async def _set_temp(self, celsius: float) -> None:
        self.set_temperature(celsius)

    async def _temp(self) -> str:
        self._settle()
        return f"{self.temperature():.3f}"

    async def _tset(self) -> str:
        return f"{self.setpoint_c:.3f}"

    async def _stir(self, rpm: float, seconds: float = 0.0) -> None:
        if seconds < 0:
            raise FirmwareError("run time must be >= 0 (0: until told)")
        self.set_stir(rpm, seconds or None)

    async def _stir_q(self) -> str:
        return f"{self.rpm:.1f}"

    async def _vial(self) -> str:
        vial = self.vial()
        return "NONE" if vial is None else f"{vial.id} {vial.volume_ml:.4f}"

    async def _locks(self) -> str:
        return ",".join(f"{name}={wired.report()}" for name, wired in self.inputs.items())

    async def _stop(self) -> None:
        self.stop()
