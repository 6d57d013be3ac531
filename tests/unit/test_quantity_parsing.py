"""Every quantity a person types (files, API bodies, CLI options) goes through
``parse_quantity``: it reads a number and a product of unit names with small integer
powers, and refuses anything else quickly, with a sentence saying why."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import parse_quantity


@pytest.mark.parametrize(
    ("text", "magnitude", "unit"),
    [
        ("2.5 mL", 2.5, "milliliter"),
        ("60 degC", 60.0, "degree_Celsius"),
        ("5 mL/min", 5.0, "milliliter / minute"),
        ("2 mL min**-1", 2.0, "milliliter / minute"),
        ("9.8 m/s**2", 9.8, "meter / second ** 2"),
        ("3 m ^ 2", 3.0, "meter ** 2"),
        ("5 µL", 5.0, "microliter"),
        ("-1.5e-3 L", -1.5e-3, "liter"),
        ("1.0 milliliter / minute", 1.0, "milliliter / minute"),  # as format_quantity writes
    ],
)
def test_numbers_with_units_are_read(text: str, magnitude: float, unit: str):
    q = parse_quantity(text)
    assert q.magnitude == pytest.approx(magnitude) and str(q.units) == unit


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1 (mL**9**8**8)", "holds '('"),  # pint would compute the power for minutes
        ("1 mL**9**9**9", "a power that follows no unit name"),
        ("1 mL**99", "the power 99"),
        ("1 mL/0", "holds '0'"),
        ("1 mL//0", "'/' where a unit name belongs"),
        ("1 mL*", "ends where a unit name belongs"),
        ("1 (", "holds '('"),
        ("1 mL**-0", "the power 0"),
        ("1 mL**nan", "'*' where a unit name belongs"),
        ("1e999 mL", "not a finite number"),
        ("\u0663 mL", "is not a number followed by a unit"),  # an Arabic-Indic three
        ("1 mL\u202e", "holds '\\u202e'"),  # right-to-left override
        ("1 mL\x00", "holds '\\x00'"),
        ("1 m*m*m*m*m*m*m*m*m", "9 parts"),
        ("1 " + "m" * 200, "too long for a quantity"),
        ("2.5", "has no unit"),
        ("2.5 parsecs_of_joy", "unknown unit"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: str, words: str):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert words in str(info.value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
def test_any_text_is_read_or_refused_at_once(text: str):
    started = time.perf_counter()
    try:
        parse_quantity(text)
    except ValueError as err:
        assert str(err)  # a sentence, not an empty error
    assert time.perf_counter() - started < 0.5


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["mL", "min", "s", "m", "**", "^", "*", "/", " ", "9", "-", "(", "1"]),
        max_size=30,
    )
)
def test_unit_like_text_is_read_or_refused_at_once(parts: list[str]):
    started = time.perf_counter()
    try:
        parse_quantity("1 " + "".join(parts))
    except ValueError as err:
        assert str(err)
    assert time.perf_counter() - started < 0.5
