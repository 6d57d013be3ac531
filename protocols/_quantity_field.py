"""Pydantic field types for unit-bearing values that may be ``{placeholders}``.

Each kind of quantity also has a range no lab needs to leave (a duration of a year, a
temperature below absolute zero, a negative volume): a number beyond it is a typing slip or
an attack, and it is refused when the file is read, not found when a device or a timer
meets it in the middle of a run."""

from __future__ import annotations

import re
from typing import Annotated, Any

import pint
from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema

from devices import format_quantity, parse_quantity, quantity_text

PLACEHOLDER = re.compile(r"^\{\s*([A-Za-z_]\w*)\s*\}$")


class Placeholder(str):
    """A ``{name}`` left in a protocol template, filled from a trial's parameters."""

    @property
    def key(self) -> str:
        """The parameter name inside the braces."""
        match = PLACEHOLDER.match(self)
        assert match is not None
        return match.group(1)


def placeholder_of(value: Any, info: ValidationInfo) -> Placeholder | None:
    """``value`` as a placeholder if it is one (None if not); ValueError where none may
    be: in a filled protocol, or a file that takes no placeholders."""
    if not (isinstance(value, str) and PLACEHOLDER.match(value.strip())):
        return None
    context = info.context or {}
    if context.get("filled"):
        raise ValueError(f"placeholder {value} was not filled")
    if context.get("placeholders") is False:
        raise ValueError(f"placeholders such as {value} belong in protocol files only")
    return Placeholder(value.strip())


def _validator(dimension: str, example: str, within: tuple[str, str], kind: str):
    low, high = (parse_quantity(b) for b in within)

    def parse(value: Any, info: ValidationInfo) -> pint.Quantity | Placeholder:
        placeholder = placeholder_of(value, info)
        if placeholder is not None:
            return placeholder
        if isinstance(value, int | float):  # bool is an int too
            raise ValueError(f"{value!r} has no unit; write e.g. '{example}'")
        quantity = parse_quantity(value) if isinstance(value, str) else value
        if not isinstance(quantity, pint.Quantity):
            raise ValueError(f"expected a quantity such as '{example}', got {value!r}")
        if not quantity.check(dimension):
            raise ValueError(
                f"'{quantity_text(quantity)}' has the wrong dimension: expected {dimension} (e.g. '{example}')"
            )
        if not low.m <= quantity.m_as(low.units) <= high.m_as(low.units):
            raise ValueError(
                f"'{quantity_text(quantity)}' is outside {within[0]} .. {within[1]}, the range any lab "
                f"would use for {kind}"
            )
        return quantity

    return parse


def _serialize(value: pint.Quantity | Placeholder) -> str:
    return str(value) if isinstance(value, Placeholder) else format_quantity(value)


def QuantityField(dimension: str, example: str, within: tuple[str, str], kind: str) -> Any:
    """A pydantic field type for a quantity of ``dimension`` written with its unit (e.g.
    ``example``), or a ``{placeholder}`` in a protocol template; ``within`` (low, high, with
    units) bounds it, and ``kind`` names it in the refusal (``a duration``)."""
    schema = {
        "type": "string",
        "description": f"a quantity of {dimension} with its unit, e.g. '{example}'",
        "examples": [example],
    }
    return Annotated[
        Any,
        BeforeValidator(_validator(dimension, example, within, kind)),
        PlainSerializer(_serialize),
        WithJsonSchema(schema),
    ]


Volume = QuantityField("[volume]", "2.5 mL", ("0 mL", "1000 L"), "a volume")
VolumeRate = QuantityField("[volume]/[time]", "5 mL/min", ("0 mL/min", "100 L/min"), "a flow rate")
Temperature = QuantityField("[temperature]", "60 degC", ("0 K", "2500 K"), "a temperature")
Duration = QuantityField("[time]", "90 s", ("0 s", "366 day"), "a duration")
Mass = QuantityField("[mass]", "1.25 g", ("-1 kg", "1000 kg"), "a mass")
#: how long to wait for something, or how often to do it: never zero (a timeout of 0 s
#: fails everything, a period of 0 s spins), never more than a day
Timeout = QuantityField("[time]", "5 s", ("1 ms", "1 day"), "a timeout or a period")
Speed = QuantityField("1/[time]", "600 rpm", ("0 rpm", "100000 rpm"), "a speed")
Length = QuantityField("[length]", "0.1 mm", ("-1 km", "1 km"), "a length")
Fraction = QuantityField("[]", "2 %", ("-1000000 %", "1000000 %"), "a fraction")
Counts = QuantityField("[]", "50 count", ("0 count", "1e15 count"), "a count")
CountRate = QuantityField(
    "1/[time]", "250 count/ms", ("0 count/ms", "1e12 count/ms"), "a count rate"
)
HeatingRate = QuantityField(
    "[temperature]/[time]", "3 K/min", ("-10000 K/s", "10000 K/s"), "a heating rate"
)
TemperatureSpan = QuantityField(
    "[temperature]", "0.3 K", ("-5000 K", "5000 K"), "a temperature difference"
)
