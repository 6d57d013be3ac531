"""Pydantic field types for unit-bearing values that may be ``{placeholders}``."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pint
from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema

from devices import format_quantity, parse_quantity

PLACEHOLDER = re.compile(r"^\{\s*([A-Za-z_]\w*)\s*\}$")


class Placeholder(str):
    """A ``{name}`` left in a protocol template, filled from a trial's parameters."""

    @property
    def key(self) -> str:
        """The parameter name inside the braces."""
        match = PLACEHOLDER.match(self)
        assert match is not None
        return match.group(1)


def _validator(dimension: str, example: str):
    def parse(value: Any, info: ValidationInfo) -> pint.Quantity | Placeholder:
        if isinstance(value, str) and PLACEHOLDER.match(value.strip()):
            context = info.context or {}
            if context.get("filled"):
                raise ValueError(f"placeholder {value} was not filled")
            if context.get("placeholders") is False:
                raise ValueError(f"placeholders such as {value} belong in protocol files only")
            return Placeholder(value.strip())
        if isinstance(value, int | float):  # bool is an int too
            raise ValueError(f"{value!r} has no unit; write e.g. '{example}'")
        quantity = parse_quantity(value) if isinstance(value, str) else value
        if not isinstance(quantity, pint.Quantity):
            raise ValueError(f"expected a quantity such as '{example}', got {value!r}")
        if not quantity.check(dimension):
            raise ValueError(
                f"'{quantity:~P}' has the wrong dimension: expected {dimension} (e.g. '{example}')"
            )
        return quantity

    return parse


def _serialize(value: pint.Quantity | Placeholder) -> str:
    return str(value) if isinstance(value, Placeholder) else format_quantity(value)


def QuantityField(dimension: str, example: str) -> Any:
    """A pydantic field type for a quantity of ``dimension`` written with its unit (e.g. ``example``), or a ``{placeholder}`` in a protocol template."""
    schema = {
        "type": "string",
        "description": f"a quantity of {dimension} with its unit, e.g. '{example}'",
        "examples": [example],
    }
    return Annotated[
        Any,
        BeforeValidator(_validator(dimension, example)),
        PlainSerializer(_serialize),
        WithJsonSchema(schema),
    ]


Volume = QuantityField("[volume]", "2.5 mL")
VolumeRate = QuantityField("[volume]/[time]", "5 mL/min")
Temperature = QuantityField("[temperature]", "60 degC")
Duration = QuantityField("[time]", "90 s")
Speed = QuantityField("1/[time]", "600 rpm")
Length = QuantityField("[length]", "0.1 mm")
Fraction = QuantityField("[]", "2 %")
Counts = QuantityField("[]", "50 count")
CountRate = QuantityField("1/[time]", "250 count/ms")
HeatingRate = QuantityField("[temperature]/[time]", "3 K/min")
TemperatureSpan = QuantityField("[temperature]", "0.3 K")
