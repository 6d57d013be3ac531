"""The ``lab`` command line."""

from lab.cli import campaign, devices, serve, users  # noqa: F401  (each adds its commands)
from lab.cli._app import app

__all__ = ["app"]
