"""Experiment protocols: YAML definitions, preflight checks, and the bluesky plans they
compile into."""

from protocols._quantity_field import Placeholder
from protocols.models import (
    Discard,
    Dispense,
    Heat,
    Measure,
    Protocol,
    Stir,
    Transfer,
    Wait,
)
from protocols.plans import PLANS, Bay, LabDevices, run_protocol
from protocols.preflight import LabLimits, PreflightError, Violation, preflight
from protocols.resources import Resources

__all__ = [
    "PLANS",
    "Bay",
    "Discard",
    "Dispense",
    "Heat",
    "LabDevices",
    "LabLimits",
    "Measure",
    "Placeholder",
    "PreflightError",
    "Protocol",
    "Resources",
    "Stir",
    "Transfer",
    "Violation",
    "Wait",
    "preflight",
    "run_protocol",
]
