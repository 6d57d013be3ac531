"""Simulated instruments and chemistry, so every feature runs without hardware.

Simulators speak the instrument side of each wire protocol (see ``firmware``); the lab's
composition code connects them to the very drivers that talk to real hardware. Nothing in
here imports the rest of the project.
"""

from simulators.chemistry import DEFAULT_DYES, WAVELENGTHS_NM, Dye, DyeChemistry, GroundTruth
from simulators.clock import SimClock
from simulators.firmware import (
    AnalyserFirmware,
    ArmFirmware,
    LineFirmware,
    ScalarTruth,
    SpectrometerFirmware,
    StationFirmware,
)
from simulators.pty_server import Fault, PtyServer
from simulators.reaction import SnArChemistry, SnArKinetics
from simulators.workcell import Location, Reservoir, Vial, Workcell

__all__ = [
    "DEFAULT_DYES",
    "WAVELENGTHS_NM",
    "AnalyserFirmware",
    "ArmFirmware",
    "Dye",
    "DyeChemistry",
    "Fault",
    "GroundTruth",
    "LineFirmware",
    "Location",
    "PtyServer",
    "Reservoir",
    "ScalarTruth",
    "SimClock",
    "SnArChemistry",
    "SnArKinetics",
    "SpectrometerFirmware",
    "StationFirmware",
    "Vial",
    "Workcell",
]
