"""Loading user code named in a lab file as ``package.module:name``."""

from __future__ import annotations

import importlib
import inspect
from typing import Any


def load_callable(spec: str, arguments: tuple[str, ...]) -> Any:
    """``package.module:name`` -> the object (a class is instantiated with no arguments),
    checked to accept ``arguments`` positionally before anything starts. Raises ValueError
    with the reason, for the caller to name the file and field.

    Args:
        spec: ``package.module:name``.
        arguments: the names of the positional arguments it will be called with.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{spec!r}: write it as package.module:function")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
        if isinstance(obj, type):
            obj = obj()
    except Exception as err:  # user code: any failure to load is the file's problem
        raise ValueError(f"cannot load {spec!r}: {type(err).__name__}: {err}") from None
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable")
    try:
        inspect.signature(obj).bind(*arguments)
    except TypeError:
        raise ValueError(f"{spec!r} must accept ({', '.join(arguments)})") from None
    except ValueError:  # a builtin without a signature: cannot be a ground truth
        raise ValueError(
            f"{spec!r} must be a Python function of ({', '.join(arguments)})"
        ) from None
    return obj
