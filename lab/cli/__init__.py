"""The ``lab`` command line."""

from lab.cli import (  # noqa: F401  (each adds commands)
    bundle,
    campaign,
    devices,
    diagnose,
    mcp,
    remote,
    report,
    serve,
    users,
    workcell,
)
from lab.cli._app import app

__all__ = ["app"]
