"""Loading user code named in a lab or campaign file as ``package.module:name``."""

from __future__ import annotations

import importlib
from typing import Any

from lab.errors import ConfigError


def load_callable(spec: str, field: str) -> Any:
    """``package.module:name`` -> the object; a class is instantiated with no arguments."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(field, [f"{spec!r}: write it as package.module:function"])
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(field, [f"cannot load {spec!r}: {err}"]) from None
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ConfigError(field, [f"{spec!r} is not callable"])
    return obj
