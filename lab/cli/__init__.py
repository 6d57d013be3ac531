"""The ``lab`` command line."""

from lab.cli import campaign, devices  # noqa: F401  (each adds its commands to ``app``)
from lab.cli._app import app

__all__ = ["app"]
