"""Simulated EPICS instruments: real soft IOCs (EPICS base from PyPI) whose records are
the instrument, on this machine."""

from simulators.epics._heating_block import HEATING_BLOCK_DB, HeatingBlockTwin
from simulators.epics._ioc import LOOPBACK_CLIENT, SoftIoc, use_loopback_iocs

__all__ = [
    "HEATING_BLOCK_DB",
    "LOOPBACK_CLIENT",
    "HeatingBlockTwin",
    "SoftIoc",
    "use_loopback_iocs",
]
