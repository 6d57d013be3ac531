"""Protocols compiled into bluesky plans, callable by name with JSON-able parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
from bluesky.protocols import Readable
from bluesky.utils import FailedStatus, MsgGenerator, RequestAbort
from ophyd_async.core import Device, DeviceVector, SignalR

from devices import (
    Analyser,
    Capability,
    DeviceError,
    InstrumentDevice,
    Range,
    RoboticArm,
    Spectrometer,
    SynthesisStation,
    Timer,
)
from protocols import stubs
from protocols.models import (
    Analyse,
    Discard,
    Dispense,
    Heat,
    Measure,
    PluginStep,
    Protocol,
    Stir,
    Transfer,
    Wait,
)
from protocols.plate_plan import run_plate
from protocols.preflight import DeviceFacts, device_for
from protocols.resources import Claims, Resources, StepTimes
from protocols.step_kinds import load_step_kind


@dataclass(frozen=True)
class Bay:
    """A synthesis station with the place it holds its vial and its own timer: where one
    trial's synthesis runs, so several trials can run side by side.

    Args:
        station: the synthesis station.
        slot: the location of its vial slot.
        timer: waits of its trials (one per bay, so stopping one does not cut another's).
    """

    station: SynthesisStation
    slot: str
    timer: Timer


@dataclass(frozen=True)
class LabDevices:
    """The devices a protocol runs on, and the roles of the lab's places.

    ``station``, ``slot`` and ``timer`` are the first bay's: the one a trial runs on. A
    lab with several stations hands each trial the view :meth:`on` its station; the arm,
    the instruments and the ``resources`` locks are shared by every view.
    """

    arm: RoboticArm
    bays: tuple[Bay, ...]
    spectrometer: Spectrometer
    waste: str
    holder: str  # where the spectrometer holds its vial
    resources: Resources
    analyser: Analyser | None = None
    analyser_holder: str | None = None
    #: devices of installed packages, by name (a balance, a pH probe)
    others: dict[str, InstrumentDevice] = field(default_factory=dict)
    #: what every device declares of itself, by name: which runs a package's step
    facts: dict[str, DeviceFacts] = field(default_factory=dict)
    #: every arm, ``arm`` first (empty: ``arm`` is the only one)
    arms: tuple[RoboticArm, ...] = ()
    #: every spectrometer with the place of its holder, ``spectrometer`` first (empty:
    #: ``spectrometer`` at ``holder`` is the only one)
    spectrometers: tuple[tuple[Spectrometer, str], ...] = ()

    @property
    def all_arms(self) -> tuple[RoboticArm, ...]:
        """Every arm of the lab."""
        return self.arms or (self.arm,)

    @property
    def all_spectrometers(self) -> tuple[tuple[Spectrometer, str], ...]:
        """Every spectrometer of the lab, with its holder."""
        return self.spectrometers or ((self.spectrometer, self.holder),)

    def arm_for(self, source: str, destination: str) -> RoboticArm:
        """The first arm that reaches both places (preflight refused a protocol where
        none does; the first arm then, whose refusal names the place)."""
        both = {source, destination}
        return next((a for a in self.all_arms if both <= a.reachable), self.arm)

    def spectrometer_at(self, place: str | None) -> Spectrometer:
        """The spectrometer whose holder is ``place`` (the first if none is)."""
        return next((s for s, h in self.all_spectrometers if h == place), self.spectrometer)

    def heats(self, place: str | None) -> Any:
        """The device that heats the vial standing at ``place`` (its ``heater`` is
        movable, its ``ambient_c`` the setpoint of its safe state): the station at its
        slot, a heating block at its own place; None where nothing heats."""
        if place == self.slot:
            return self.station
        for name, device in self.others.items():
            facts = self.facts.get(name)
            if facts and facts.place == place and Capability.HEATS in facts.capabilities:
                return device
        return None

    @property
    def station(self) -> SynthesisStation:
        """The station this view runs trials on."""
        return self.bays[0].station

    @property
    def slot(self) -> str:
        """Where that station holds its vial."""
        return self.bays[0].slot

    @property
    def timer(self) -> Timer:
        """That station's timer."""
        return self.bays[0].timer

    @property
    def stations(self) -> tuple[SynthesisStation, ...]:
        """Every synthesis station of the lab."""
        return tuple(b.station for b in self.bays)

    def on(self, station: str) -> LabDevices:
        """The view whose trials run on the station named ``station``."""
        chosen = [b for b in self.bays if b.station.name == station]
        if not chosen:
            names = [b.station.name for b in self.bays]
            raise ValueError(f"no synthesis station {station!r}; stations are {names}")
        return replace(self, bays=(chosen[0], *(b for b in self.bays if b is not chosen[0])))

    @property
    def instruments(self) -> tuple[InstrumentDevice, ...]:
        """The devices that stand for an instrument on a wire."""
        found: tuple[InstrumentDevice, ...] = (*self.all_arms, *self.stations)
        found += tuple(s for s, _ in self.all_spectrometers)
        found += (self.analyser,) if self.analyser is not None else ()
        return found + tuple(self.others.values())

    @property
    def holders(self) -> list[tuple[str, Any]]:
        """Each place an instrument holds a vial, with the signal naming the vial there
        (or, for an instrument that cannot name it, saying one is there)."""
        found: list[tuple[str, Any]] = [(b.slot, b.station.vial) for b in self.bays]
        found += [(holder, s.vial) for s, holder in self.all_spectrometers]
        if self.analyser is not None and self.analyser_holder is not None:
            found.append((self.analyser_holder, self.analyser.vial))
        for name, device in self.others.items():
            # a package's device that knows its vial, or only that one is there (a
            # balance feels a load): ``occupied``, read as True
            place = self.facts[name].place
            vial = getattr(device, "vial", None) or getattr(device, "occupied", None)
            if place is not None and isinstance(vial, SignalR):
                found.append((place, vial))
        return found

    def resolve(self, path: str) -> Device:
        """A device by its dotted path, e.g. ``station.heater`` or ``station.pumps.1``, so a
        plan called by name (from a queue or the API) can name the devices it uses."""
        head, *rest = path.split(".")
        roles: dict[str, Device | None] = {
            "arm": self.arm,
            "station": self.station,
            "spectrometer": self.spectrometer,
            "analyser": self.analyser,
        }
        by_name = {d.name: d for d in (*self.instruments, *(b.timer for b in self.bays))}
        device: Any = roles.get(head) or by_name.get(head)
        for part in rest:
            if device is None:
                break
            device = (
                device.get(int(part))
                if isinstance(device, DeviceVector) and part.isdigit()
                else getattr(device, part, None)
            )
        if not isinstance(device, Device):
            known = sorted({*roles, *by_name})
            raise ValueError(f"no device {path!r}; devices are {known} and their parts")
        return device


def _arm(step: Transfer | Discard, lab: LabDevices) -> RoboticArm:
    """The arm that carries the vial of a transfer or discard."""
    destination = step.destination if isinstance(step, Transfer) else lab.waste
    return lab.arm_for(step.source, destination)


def _step_plan(step: Any, lab: LabDevices, vial_at: str | None) -> MsgGenerator[Any]:
    match step:
        case Transfer():
            return stubs.transfer(_arm(step, lab), step.source, step.destination)
        case Dispense():
            return stubs.dispense(lab.station, step.reagent, step.volume, step.rate)
        case Heat():
            return stubs.heat((lab.heats(vial_at) or lab.station).heater, step.temperature)
        case Stir():
            return stubs.stir(lab.station, lab.timer, step.speed, step.duration)
        case Wait():
            return stubs.wait(lab.timer, step.duration)
        case Measure():
            return stubs.measure(
                lab.spectrometer_at(vial_at), step.integration_time, [lab.station.heater, lab.arm]
            )
        case Analyse():
            if lab.analyser is None:
                raise ValueError("this lab has no analyser")
            return stubs.analyse(lab.analyser, [lab.station.heater, lab.arm])
        case Discard():
            return stubs.discard(_arm(step, lab), step.source, lab.waste)
        case PluginStep():
            device = lab.others[device_for(step, lab.facts)]
            return load_step_kind(step.step).plan(step.fields, device)
    raise TypeError(f"no plan stub for step {step!r}")


def _claims(step: Any, lab: LabDevices) -> list[str]:
    """What a step must hold while it runs, in the lock order: the place a vial goes to
    (one vial per place) before the arm (one move at a time)."""
    match step:
        case Transfer() if step.destination != lab.waste:
            return [step.destination, _arm(step, lab).name]
        case Transfer() | Discard():
            return [_arm(step, lab).name]
        case PluginStep():  # one trial at a time on a package's device
            return [device_for(step, lab.facts)]
    return []


def _user(step: Any, lab: LabDevices, vial_at: str | None) -> str:
    """The device a step keeps busy, for the timeline."""
    match step:
        case Transfer() | Discard():
            return _arm(step, lab).name
        case Measure():
            return lab.spectrometer_at(vial_at).name
        case Analyse() if lab.analyser is not None:
            return lab.analyser.name
        case PluginStep():
            return device_for(step, lab.facts)
        case Heat():
            return str((lab.heats(vial_at) or lab.station).name)
    return lab.station.name


def run_protocol(
    lab: LabDevices,
    protocol: Protocol | dict[str, Any],
    station: str | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """One run: every step of a concrete protocol, then the station's safe state.

    A checkpoint precedes each step, so a deferred pause (the only kind the lab asks for)
    waits for the step in progress to finish. Each step first takes the shared resources
    it needs (see :mod:`protocols.resources`), so runs on other stations may go on at the
    same time; the ``conditions`` stream records each step's device, start and end.

    ``protocol`` may be the model or its JSON dict (as a queue server would send it).

    Args:
        lab: the connected devices and their places.
        protocol: a concrete protocol (no placeholders left), or its JSON form.
        station: the synthesis station to run on (its slot is the protocol's); the first
            if None.
        md: metadata for the run's start document (campaign, trial, ...).
    """
    if station is not None:
        lab = lab.on(station)
    if not isinstance(protocol, Protocol):
        protocol = Protocol.model_validate(protocol, context={"filled": True})
    metadata = {
        "protocol": protocol.to_json_dict(),
        "plan_name": "run_protocol",
        "station": lab.station.name,
        **(md or {}),
    }

    # each vial sees only its own trial: a heated place (the station's slot, a heating
    # block) reaches this trial's first temperature there (ambient if it has none) before
    # the vial goes in, however hot the last trial left it
    first_heat = _first_heat(protocol)
    #: what heats each place this trial's vial goes to (None: nothing)
    heated = {p: lab.heats(p) for p in _visited(protocol)}
    #: the heating blocks among them, besides the station, by place: read with it into the
    #: conditions stream, made safe at the end
    at = {p: d for p, d in heated.items() if d is not None and d is not lab.station}
    blocks = list(at.values())
    claims = Claims(lab.resources, owner=(metadata.get("campaign"), metadata.get("trial")))
    times = StepTimes(lab.resources.clock)

    #: the dispense in progress, if any: one cut short still did part of its work
    dispensing: list[Dispense] = []

    @bpp.run_decorator(md=metadata)
    def body() -> MsgGenerator[None]:
        yield from bpp.finalize_wrapper(steps(), cut_short())

    def cut_short() -> MsgGenerator[None]:
        """A dispense cut short (a fault, an emergency stop) delivered what its pump pumped
        until then: the station is read once more, into the ``cut_short`` stream, so that
        the ledger books it. The read is best effort (the station may be gone); it is made
        again when the emergency stop's abort, or the failure of the dispense it cut, is
        raised into it."""
        if not dispensing:
            return
        # the dispense's failure, the stop's abort and a second trip of the interlock may
        # each be raised into the read: one attempt for each, and one to read
        for _ in range(5):
            try:
                yield from bps.trigger_and_read([lab.station], name="cut_short")
            except (RequestAbort, FailedStatus):
                continue
            except (DeviceError, TimeoutError):
                pass
            return

    def steps() -> MsgGenerator[None]:
        conditioned: list[Any] = []
        vial_at: str | None = None  # where this trial's vial is
        for step in protocol.steps:
            # a pause lands here, between steps, never inside one (a dispense is not redone)
            yield from bps.checkpoint()
            times.reach()
            into = step.destination if isinstance(step, Transfer) else None
            heating = heated[into] if into is not None else None
            if into is not None and heating is not None and heating not in conditioned:
                # the place first: a block another trial's vial stands in keeps its heat
                yield from claims.take([into])
                times.preparing()
                start = first_heat.get(into, f"{heating.ambient_c} degC")
                yield from stubs.heat(heating.heater, start)
                times.prepared(heating.name)
                conditioned.append(heating)
            yield from claims.take(_claims(step, lab))
            times.begin(_user(step, lab, vial_at))
            dispensing[:] = [step] if isinstance(step, Dispense) else []
            yield from _step_plan(step, lab, vial_at)
            dispensing.clear()
            times.end()
            if isinstance(step, Transfer | Discard):  # the vial has left its place
                claims.vacate(step.source)
                claims.give(_arm(step, lab).name)
                vial_at = step.destination if isinstance(step, Transfer) else None
            if isinstance(step, PluginStep):
                claims.give(device_for(step, lab.facts))
            # the vial's history: what the block and stirrer did, step by step
            yield from bps.trigger_and_read([lab.station, *blocks, times], name="conditions")

    def cleanup() -> MsgGenerator[None]:
        # the station is this trial's while its vial is in it; once the vial has left, it
        # may be the next trial's already (see Protocol.frees_its_station)
        if lab.slot in claims.held:
            yield from bpp.finalize_wrapper(stubs.safe_state(lab.station), claims.give_all())
        else:
            yield from claims.give_all()
            yield from claims.if_free(lab.slot, stubs.safe_state(lab.station))
        for place, block in at.items():  # not one another trial's vial stands in now
            yield from claims.if_free(place, bps.stop(block))

    return (yield from bpp.finalize_wrapper(body(), cleanup()))


def _first_heat(protocol: Protocol) -> dict[str, Any]:
    """The first temperature each place heats the vial to, by place."""
    found: dict[str, Any] = {}
    vial_at: str | None = None
    for step in protocol.steps:
        if isinstance(step, Transfer):
            vial_at = step.destination
        elif isinstance(step, Heat) and vial_at is not None:
            found.setdefault(vial_at, step.temperature)
    return found


def _visited(protocol: Protocol) -> list[str]:
    """Each place the vial is carried to, once, in order."""
    places = [s.destination for s in protocol.steps if isinstance(s, Transfer)]
    return list(dict.fromkeys(places))


def _readables(lab: LabDevices, names: list[str]) -> list[Readable[Any]]:
    if isinstance(names, str) or not isinstance(names, list | tuple):
        raise TypeError(f"detectors: give a list of device names, e.g. [{names!r}]")
    found: list[Readable[Any]] = []
    for name in names:
        device = lab.resolve(name)
        if not isinstance(device, Readable):
            raise ValueError(f"device {name!r} cannot be read")
        found.append(device)
    return found


def count(
    lab: LabDevices, detectors: list[str], num: int = 1, md: dict[str, Any] | None = None
) -> MsgGenerator[str]:
    """``bp.count`` of the named devices, e.g. ``["spectrometer", "station.heater"]``.

    Args:
        lab: the connected devices.
        detectors: device or signal names.
        num: how many readings.
        md: metadata for the run's start document.
    """
    _at_least_one(num)
    if not detectors:
        raise ValueError("detectors: name at least one device to read")
    return (yield from bp.count(_readables(lab, detectors), num=num, md=md))


def _at_least_one(num: int) -> None:
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num: {num!r} is not a whole number of at least 1")


def scan(
    lab: LabDevices,
    detectors: list[str],
    motor: str,
    start: float,
    stop: float,
    num: int,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """``bp.scan``: ``start`` and ``stop`` are in the unit the motor declares (e.g. degC).

    Args:
        lab: the connected devices.
        detectors: device or signal names to read at each point.
        motor: the name of the device or signal to step.
        start: the first set point.
        stop: the last set point.
        num: how many points.
        md: metadata for the run's start document.
    """
    _at_least_one(num)
    devices = _readables(lab, detectors)
    moved = lab.resolve(motor)
    limits = getattr(moved, "limits", None)
    if isinstance(limits, Range):  # refused before the run opens: nothing is recorded
        for what, value in (("start", start), ("stop", stop)):
            limits.check(value, device=motor, what=what)
    return (yield from bp.scan(devices, moved, start, stop, num, md=md))


def clear_workcell(lab: LabDevices, md: dict[str, Any] | None = None) -> MsgGenerator[list[str]]:
    """The workcell's start state after a fault: the station safe (and read back), every
    vial left in the gripper, the station or an instrument's holder carried to the waste. One
    run, whose ``handling_<arm>`` streams name each vial carried; returns their ids.

    Args:
        lab: the connected devices and their places.
        md: metadata for the run's start document.
    """

    @bpp.run_decorator(md={"plan_name": "clear_workcell", **(md or {})})
    def body() -> MsgGenerator[list[str]]:
        for station in lab.stations:
            yield from stubs.safe_state(station)
        carried = []
        for arm in lab.all_arms:
            held = yield from bps.rd(arm.holding)
            if held:
                yield from bps.trigger_and_read([arm], name=stubs.handling(arm))
                yield from bps.mv(arm, lab.waste)
                yield from bps.mv(arm.gripper, "open")
                carried.append(held)
        for place, vial_signal in lab.holders:
            if (yield from bps.rd(vial_signal)):
                arm = lab.arm_for(place, lab.waste)
                vial = yield from stubs.transfer(arm, place, lab.waste)
                carried.append(vial or f"the vial at {place}")
        return carried

    return (yield from body())


#: plans callable by name with JSON-able arguments (the executor and a queue server use it)
PLANS: dict[str, Callable[..., MsgGenerator[Any]]] = {
    "run_protocol": run_protocol,
    "run_plate": run_plate,
    "clear_workcell": clear_workcell,
    "count": count,
    "scan": scan,
}
