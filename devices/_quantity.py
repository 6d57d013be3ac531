"""The one place where device-facing values turn from pint quantities into numbers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from numbers import Real

import pint
from pint.facets.plain import PlainUnit

from devices._errors import LimitViolation, UnitError

ureg = pint.get_application_registry()
Quantity = pint.Quantity


#: a number (ASCII digits only: ``float`` would read Arabic-Indic digits too) and the rest
_NUMBER_UNIT = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?)\s*(.*?)\s*$", re.ASCII
)
#: one token of a unit: a name, the ``1`` of ``1 / minute``, a power, ``*`` or ``/``
_UNIT_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_%\u00b0\u00b5\u03bc\u03a9]+)|(?P<one>1)"
    r"|(?:\*\*|\^)\s*(?P<power>[-+]?\d+)|(?P<op>[*/])|(?P<other>\S))",
    re.ASCII,
)
#: a quantity a person types is short; the bounds keep pint's expression parser (which
#: would compute ``mL**9**9**9``) to products of unit names with small integer powers
MAX_QUANTITY_TEXT, MAX_POWER, MAX_UNIT_TERMS = 100, 12, 8


def parse_quantity(text: str) -> Quantity:
    """``"60 degC"`` -> Quantity(60, degC); unlike ``ureg.Quantity(text)`` this also works for
    offset units. The unit is a product or quotient of unit names with integer powers of at
    most 12 (``mL/min``, ``m/s**2``, ``1 / minute``); anything else, and any number that is
    not finite, is refused with ValueError saying why, before pint parses anything."""
    if len(text) > MAX_QUANTITY_TEXT:
        raise ValueError(f"{text[:40]!r}... is too long for a quantity (at most 100 characters)")
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a number followed by a unit, e.g. '2.5 mL'")
    number, unit = match.groups()
    if not unit:
        raise ValueError(f"{text!r} has no unit; write e.g. '{number} mL'")
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{text!r}: {number} is not a finite number")
    problem = _unit_problem(unit)
    if problem:
        raise ValueError(f"{text!r}: the unit {unit!r} {problem}")
    try:
        return ureg.Quantity(value, unit)
    except (pint.errors.PintError, AttributeError, ValueError) as err:
        raise ValueError(f"{text!r}: unknown unit {unit!r} ({err})") from None


def _unit_problem(unit: str) -> str | None:
    """Why ``unit`` is not a product or quotient of names with small integer powers, or
    None if it is."""
    terms, after = 0, "op"  # what the last token was: op, name, power or one
    for token in _UNIT_TOKEN.finditer(unit):
        kind = token.lastgroup
        if kind == "other":
            return f"holds {token.group('other')!r}: write names, '*', '/' and '**' only"
        if kind == "name" or kind == "one":
            if kind == "one" and terms:
                return "may start with 1 (as in '1 / minute'), nowhere else"
            terms += 1
            after = kind
        elif kind == "power":
            power = int(token.group("power"))
            if after != "name":
                return "has a power that follows no unit name"
            if power == 0 or abs(power) > MAX_POWER:
                return f"has the power {power}: powers are whole numbers from -12 to 12, not 0"
            after = "power"
        else:
            if after == "op":
                return f"has {token.group('op')!r} where a unit name belongs"
            after = "op"
    if after == "op":
        return "ends where a unit name belongs"
    if terms > MAX_UNIT_TERMS:
        return f"has {terms} parts: at most {MAX_UNIT_TERMS}"
    return None


def format_quantity(q: Quantity) -> str:
    """Text that :func:`parse_quantity` reads back exactly."""
    return f"{q.magnitude!r} {q.units}"


#: pint's symbol for the litre, "l", where it stands alone or after a prefix (not "mol")
_LITRE = re.compile(r"(?<![A-Za-z])([a-zµ]?)l(?![A-Za-z])")


def unit_symbol(unit: str | PlainUnit) -> str:
    """A unit as a person reads it, the same on every surface: pint's symbols (``°C``,
    ``rpm``, ``nm``) with the litre as ``L`` (``mL/min``), as chemists and the dashboard
    write it; ``""`` for no unit."""
    if not unit:
        return ""
    return _LITRE.sub(r"\1L", f"{ureg.Unit(unit):~P}")


def quantity_text(q: Quantity) -> str:
    """A quantity in a message: ``'300 °C'``, ``'2.5 mL'`` (the number as given, the unit
    by :func:`unit_symbol`)."""
    return f"{q.magnitude:g} {unit_symbol(q.units)}".rstrip()


#: what a device accepts: a quantity, its text (``"60 degC"``), or a bare number, which means
#: the unit the device declares in ``describe()`` (the bluesky convention, so ``bp.scan``
#: and ``bps.mv(heater, 60)`` work)
DeviceValue = Quantity | str | float | Real


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
            f"{what}: {quantity_text(quantity)} is not a {ureg.Unit(unit).dimensionality} quantity "
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
            raise LimitViolation(device, f"{what} {m:g} {unit_symbol(self.unit)} is outside {self}")
        return m

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g} {unit_symbol(self.unit)}".rstrip()
