"""Errors a lab user sees, each naming the file and the field at fault."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A lab, campaign or protocol file that cannot be used, with every problem listed."""

    def __init__(self, source: str | Path, problems: list[str]) -> None:
        self.source = str(source)
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid\n{listing}")


def problems_of(err: ValidationError) -> list[str]:
    """``field.path: message`` for each pydantic error."""
    out = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        message = e["msg"].removeprefix("Value error, ")
        out.append(f"{path}: {message}")
    return out


def load_yaml_model(model: type[M], path: str | Path, **context: object) -> M:
    """Read ``path`` and validate it as ``model``; any failure is a :class:`ConfigError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except yaml.YAMLError as err:
        raise ConfigError(path, [f"not valid YAML: {err}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(path, ["expected a mapping of fields at the top level"])
    try:
        return model.model_validate(data, context={"base_dir": path.parent, **context})
    except ValidationError as err:
        raise ConfigError(path, problems_of(err)) from None
