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
from protocols.plans import PLANS, LabDevices, run_protocol
from protocols.preflight import LabLimits, PreflightError, Violation, preflight

__all__ = [
    "PLANS",
    "Discard",
    "Dispense",
    "Heat",
    "LabDevices",
    "LabLimits",
    "Measure",
    "Placeholder",
    "PreflightError",
    "Protocol",
    "Stir",
    "Transfer",
    "Violation",
    "Wait",
    "preflight",
    "run_protocol",
]
