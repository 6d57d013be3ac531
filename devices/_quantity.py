"""The one place where device-facing values turn from pint quantities into numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Real

import pint

from devices._errors import LimitViolation, UnitError

ureg = pint.get_application_registry()
Quantity = pint.Quantity


_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_quantity(text: str) -> Quantity:
    """``"60 degC"`` -> Quantity(60, degC); unlike ``ureg.Quantity(text)`` this also works for
    offset units. Raises ValueError with the reason on anything else."""
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a number followed by a unit, e.g. '2.5 mL'")
    number, unit = match.groups()
    if not unit:
        raise ValueError(f"{text!r} has no unit; write e.g. '{number} mL'")
    try:
        return ureg.Quantity(float(number), unit)
    except (pint.errors.PintError, AttributeError, ValueError) as err:
        raise ValueError(f"{text!r}: unknown unit {unit!r} ({err})") from None


def format_quantity(q: Quantity) -> str:
    """Text that :func:`parse_quantity` reads back exactly."""
    return f"{q.magnitude!r} {q.units}"


#: what a device accepts: a quantity, its text (``"60 degC"``), or a bare number, which means
#: the unit the device declares in ``describe()`` (the bluesky convention, so ``bp.scan``
#: and ``bps.mv(heater, 60)`` work)
DeviceValue = Quantity | str | Real


def as_quantity(value: DeviceValue, unit: str, *, device: str, what: str) -> Quantity:
    """Parse ``"2.5 mL"``, pass a quantity through, or read a bare number as ``unit``."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return ureg.Quantity(float(value), unit)
    if isinstance(value, str):
        try:
            return parse_quantity(value)
        except ValueError as err:
            raise UnitError(device, f"{what}: {err}") from None
    if not isinstance(value, pint.Quantity):
        raise UnitError(
            device,
            f"{what}: {value!r} is not a quantity; give e.g. '1 {unit}' or a number in {unit}",
        )
    return value


def magnitude(value: DeviceValue, unit: str, *, device: str, what: str) -> float:
    """``value`` expressed in ``unit``, or a :class:`UnitError` naming the device."""
    quantity = as_quantity(value, unit, device=device, what=what)
    try:
        return float(quantity.m_as(unit))
    except pint.DimensionalityError:
        raise UnitError(
            device,
            f"{what}: {quantity:~P} is not a {ureg.Unit(unit).dimensionality} quantity "
            f"(expected units like {unit})",
        ) from None


@dataclass(frozen=True)
class Range:
    """An inclusive range of one physical quantity, kept in ``unit``."""

    low: float
    high: float
    unit: str

    def check(self, value: DeviceValue, *, device: str, what: str) -> float:
        """The magnitude of ``value`` in ``unit``, refused if outside the range."""
        m = magnitude(value, self.unit, device=device, what=what)
        if not self.low <= m <= self.high:
            raise LimitViolation(device, f"{what} {m:g} {self.unit} is outside {self}")
        return m

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g} {self.unit}"
