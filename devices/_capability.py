"""What a device can do for a protocol, so that a lab is checked against a protocol by
capability, not by which instrument kinds it happens to hold."""

from enum import StrEnum


class Capability(StrEnum):
    """One thing a device does for a protocol step."""

    MOVES_VIALS = "moves vials"
    """carries a vial between named places (an arm)"""
    HOLDS_VIAL = "holds a vial"
    """holds one vial at a place of its own (a slot, a holder, a weighing pan)"""
    DISPENSES = "dispenses reagents"
    HEATS = "heats"
    STIRS = "stirs"
    MEASURES_SPECTRUM = "measures a spectrum"
    MEASURES_QUANTITIES = "measures named quantities"
    WEIGHS = "weighs"
    PIPETTES = "pipettes into wells"
    """moves reagents from its reservoirs into the wells of a plate (a liquid handler)"""
    READS_PLATES = "reads plates"
    """measures every well of a plate at once (a plate reader)"""
