"""Devices on EPICS IOCs, through ophyd-async's own EPICS support (Channel Access and PV
Access): the PVs are ophyd-async EPICS signals; :class:`EpicsDriver` answers the lab's
instrument questions (identity, state, emergency stop) from them."""

from devices.epics._driver import EpicsDriver
from devices.epics._heating_block import BlockPvs, EpicsHeatingBlock
from devices.epics._stage import EpicsStageDriver

__all__ = ["BlockPvs", "EpicsDriver", "EpicsHeatingBlock", "EpicsStageDriver"]
