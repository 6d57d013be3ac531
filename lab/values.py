"""A trial's parameter values as text: a quantity that reads back exactly, a choice by
its name; one way for the API, the exports and the approvals alike."""

from __future__ import annotations

from devices import format_quantity, unit_symbol
from planners import ParameterValue


def format_value(value: ParameterValue) -> str:
    """``"1.5 milliliter"`` for a quantity (exact, as :func:`devices.parse_quantity`
    reads it), the name for a choice."""
    return value if isinstance(value, str) else format_quantity(value)


def short_value(value: ParameterValue) -> str:
    """``"1.23 mL"``: four significant digits for a person to read, the name for a
    choice."""
    return value if isinstance(value, str) else f"{value.m:.4g} {unit_symbol(value.units)}".strip()
