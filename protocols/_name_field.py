"""The one alphabet for names a user gives things (reagents, locations, devices,
parameters, campaigns, labs): names travel on instrument wires, one command per line, into
file paths and into pages, so no name may carry a space, a line break, a path separator or
a letter that looks like another."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo, WithJsonSchema

from devices import quantity_text
from protocols._quantity_field import placeholder_of

#: an ASCII letter, then ASCII letters, digits, ``_`` and ``-``; at most 64 characters
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(value: str) -> str:
    """``value`` if it is a name; ValueError saying what a name may hold otherwise.

    Args:
        value: the name as written.
    """
    if not _NAME.match(value):
        raise ValueError(
            f"{value[:70]!r} is not a name: start with a letter (a-z, A-Z) and use only "
            "letters, digits, '_' and '-', at most 64 characters"
        )
    return value


def _schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": NAME_PATTERN,
        "description": "a name: an ASCII letter, then letters, digits, '_' or '-'",
    }


#: a pydantic field type for a name (dictionary keys included)
Name = Annotated[str, AfterValidator(check_name), WithJsonSchema(_schema())]


def _name_or_placeholder(value: Any, info: ValidationInfo) -> str:
    placeholder = placeholder_of(value, info)
    if placeholder is not None:
        return placeholder
    if not isinstance(value, str):
        shown = quantity_text(value) if hasattr(value, "units") else repr(value)
        raise ValueError(
            f"expected a name, got '{shown}': a name is filled by a parameter with choices"
        )
    return check_name(value)


def _chosen_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": rf"{NAME_PATTERN}|^\{{\s*[A-Za-z_]\w*\s*\}}$",
        "description": "a name, or in a protocol template a {placeholder} that a "
        "campaign parameter with choices fills",
    }


#: a name, or a ``{placeholder}`` a campaign's choice fills (which reagent, which place)
NameOrChoice = Annotated[
    str, BeforeValidator(_name_or_placeholder), WithJsonSchema(_chosen_schema())
]
