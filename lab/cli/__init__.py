"""The ``lab`` command line."""

from lab.cli import campaign, devices, remote, serve, users  # noqa: F401  (each adds commands)
from lab.cli._app import app

__all__ = ["app"]
