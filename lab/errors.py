"""Errors a lab user sees: one root, :class:`LabError`, whose subclasses each say in words
what is wrong and where, and carry the HTTP status the lab server answers them with."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

#: a message must fit on a screen, whatever a file holds
MAX_PROBLEMS = 20
MAX_PROBLEM_CHARS = 300


def _clip(text: str) -> str:
    return text if len(text) <= MAX_PROBLEM_CHARS else text[: MAX_PROBLEM_CHARS - 3] + "..."


class LabError(Exception):
    """The root of every error the lab raises for a person to read (a device's errors have
    their own root, ``devices.DeviceError``). ``status`` is the HTTP status the lab server
    answers it with, so the server has one handler for them all."""

    status: ClassVar[int] = 500


class NotFound(LabError, LookupError):
    """No such campaign, trial, proposal or run."""

    status = 404


class Conflict(LabError, RuntimeError):
    """Not allowed in the current state; the message names the state."""

    status = 409


class ConfigError(LabError):
    """A lab, campaign or protocol file that cannot be used, with every problem listed.

    Args:
        source: the file at fault (the one the user has to edit).
        problems: ``field.path: what is wrong`` lines; long ones are clipped so that a
            message stays readable whatever the file holds.
    """

    status = 422

    def __init__(self, source: str | Path, problems: list[str]) -> None:
        self.source = str(source)
        shown = [_clip(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        self.problems = shown
        listing = "\n".join(f"  - {p}" for p in shown)
        super().__init__(f"{_clip(self.source)}: invalid\n{listing}")


class FieldProblems(ValueError):
    """Raised by a model validator that checks fields against each other, so that each
    problem keeps its own field path instead of one joined line at "(top level)".

    Args:
        problems: ``"field.path: message"`` lines, paths relative to the model.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


_MISSING = object()


def _child(node: Any, key: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(key, _MISSING)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return _MISSING


def _path(loc: tuple[int | str, ...], data: Any, of_model: bool = False) -> str:
    """The field path as the user wrote it: the tags pydantic adds to the location inside a
    discriminated union (``devices.arm.robotic_arm.home``) are dropped. ``of_model``: the
    location is a model's (a missing last key is a tag too, not a missing field)."""
    parts: list[str] = []
    node: Any = data
    for i, key in enumerate(loc):
        child = _child(node, key)
        if child is _MISSING and isinstance(node, dict) and (of_model or i < len(loc) - 1):
            continue  # a union's tag, not a key of the file
        node = None if child is _MISSING else child
        parts.append(str(key))
    return ".".join(parts)


def problems_of(err: ValidationError, data: Any = None) -> list[str]:
    """``field.path: message`` for each pydantic error; give the validated ``data`` so that
    paths follow the file.

    Args:
        err: the validation error.
        data: the data that was validated, if any.
    """
    out = []
    for e in err.errors():
        cause = (e.get("ctx") or {}).get("error")
        problems = getattr(cause, "problems", None)  # FieldProblems, or a layer's own kind
        prefix = _path(e["loc"], data, of_model=isinstance(problems, list))
        if isinstance(cause, ValueError) and isinstance(problems, list):
            out += [f"{prefix}.{p}" if prefix else p for p in problems]
            continue
        message = e["msg"].removeprefix("Value error, ")
        out.append(f"{prefix or '(top level)'}: {message}")
    return out
