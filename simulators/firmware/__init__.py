"""Instrument firmware emulators: the instrument side of each ASCII line protocol.

Each firmware answers one request line with one reply line (``OK [payload]`` or
``ERR <message>``), as documented in ``docs/protocols/README.md``. The same object serves an
in-process transport today and a pseudo-terminal or socket tomorrow.
"""

from simulators.firmware._analyser import AnalyserFirmware, ScalarTruth
from simulators.firmware._arm import ArmFirmware
from simulators.firmware._base import ESTOP_LATCHED, FirmwareError, LineFirmware
from simulators.firmware._spectrometer import SpectrometerFirmware
from simulators.firmware._station import StationFirmware

__all__ = [
    "ESTOP_LATCHED",
    "AnalyserFirmware",
    "ArmFirmware",
    "FirmwareError",
    "LineFirmware",
    "ScalarTruth",
    "SpectrometerFirmware",
    "StationFirmware",
]
