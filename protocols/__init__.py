"""Experiment protocols: YAML definitions, preflight checks, and the bluesky plans they
compile into."""

import importlib
from typing import TYPE_CHECKING, Any

from protocols._name_field import Name, check_name
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
from protocols.preflight import LabLimits, PreflightError, Violation, preflight

if TYPE_CHECKING:
    from protocols.plans import PLANS, Bay, LabDevices, run_protocol
    from protocols.resources import Resources

#: the plans (bluesky, the devices) load when first asked for, so that a command that
#: only reads files costs nothing more than the files' models
_HOMES = {
    **dict.fromkeys(("PLANS", "Bay", "LabDevices", "run_protocol"), "protocols.plans"),
    "Resources": "protocols.resources",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'protocols' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "PLANS",
    "Bay",
    "Discard",
    "Dispense",
    "Heat",
    "LabDevices",
    "LabLimits",
    "Measure",
    "Name",
    "Placeholder",
    "PreflightError",
    "Protocol",
    "Resources",
    "Stir",
    "Transfer",
    "Violation",
    "Wait",
    "check_name",
    "preflight",
    "run_protocol",
]
