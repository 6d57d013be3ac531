"""Simulated EPICS instruments on this machine: real soft IOCs (EPICS base from PyPI)
whose records are the instrument, and a PV Access server for what base has no record for
(a motor record's fields)."""

from simulators.epics._heating_block import HEATING_BLOCK_DB, HeatingBlockTwin
from simulators.epics._ioc import LOOPBACK_CLIENT, SoftIoc, use_loopback_iocs
from simulators.epics._stage import StageTwin

__all__ = [
    "HEATING_BLOCK_DB",
    "LOOPBACK_CLIENT",
    "HeatingBlockTwin",
    "SoftIoc",
    "StageTwin",
    "use_loopback_iocs",
]
