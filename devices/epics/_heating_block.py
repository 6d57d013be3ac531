"""A heated vial block whose controller is an EPICS IOC: the block heats the vial that
stands in it, as the station's own block heats the vial in its slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ophyd_async.core import SignalR
from ophyd_async.core import StandardReadableFormat as Format
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

from devices._block import BlockHeater, HeatingBlock
from devices._clock import Clock
from devices._quantity import Range
from devices._signals import with_units
from devices.epics._driver import EpicsDriver


@dataclass(frozen=True)
class BlockPvs:
    """The process variables of a heating block, each a full address
    (``ca://LAB:HB1:SP``).

    Args:
        setpoint: the temperature it is told (degC).
        temperature: the block's temperature (degC), with its alarm severity.
        ramp: how fast it goes there (K/min).
        identity: ``maker,model,serial,firmware``.
        estop: the emergency stop, latched (1) until reset (0).
        occupied: a vial stands in the block (its presence sensor).
    """

    setpoint: str
    temperature: str
    ramp: str
    identity: str
    estop: str
    occupied: str


class EpicsHeatingBlock(HeatingBlock):
    """A heated block on an EPICS IOC's PVs (Channel Access or PV Access, through
    ophyd-async's EPICS signals); ``ramp_rate`` is a setting of the controller. The lab's
    emergency stop latches its stop PV.

    Args:
        driver: identity, state and emergency stop over the IOC's PVs.
        pvs: the block's process variables.
        clock: lab time.
        limits: the temperatures it may be set to.
        ambient_c: the setpoint of its safe state.
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) settling may take.
        name: the device's name.
    """

    driver: EpicsDriver

    def __init__(
        self,
        driver: EpicsDriver,
        pvs: BlockPvs,
        clock: Clock,
        limits: Range,
        ambient_c: float = 25.0,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        heater = BlockHeater(
            with_units(epics_signal_rw(float, pvs.setpoint), "degC"),
            with_units(epics_signal_r(float, pvs.temperature), "degC"),
            clock,
            limits,
            tolerance_c,
            settle_timeout_s,
        )
        super().__init__(
            driver,
            heater,
            epics_signal_r(bool, pvs.occupied),
            ambient_c=ambient_c,
            timeout_s=driver.timeout,
        )
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.ramp_rate = with_units(epics_signal_rw(float, pvs.ramp), "K/min")
        self.identity_text = epics_signal_r(str, pvs.identity)
        self.estop = epics_signal_rw(bool, pvs.estop)
        driver.attach(self.identity_text, self.estop, [heater.temperature])
        self.set_name(name)  # its own PVs too, declared after the block's

    def pushed(self) -> list[SignalR[Any]]:
        """Every PV it reads: CA and PVA monitors push each change, and the record's
        timestamp is when it last changed (a setpoint set an hour ago is current)."""
        return [
            self.heater.setpoint,
            self.heater.temperature,
            self.ramp_rate,
            self.occupied,
        ]
