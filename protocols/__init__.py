"""Experiment protocols: YAML definitions, preflight checks, and the bluesky plans they
compile into."""

from protocols.models import (
    Discard,
    Dispense,
    Heat,
    Measure,
    Protocol,
    Stir,
    Transfer,
    Wait,
    load_protocol,
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
    "PreflightError",
    "Protocol",
    "Stir",
    "Transfer",
    "Violation",
    "Wait",
    "load_protocol",
    "preflight",
    "run_protocol",
]
