"""The lab server: one long-running process that owns the instruments, with a JSON API, a
live event stream and the operators' dashboard."""

from lab.server._app import create_app
from lab.server._auth import SecretError, check_secret
from lab.server._lab_process import LabServer

__all__ = ["LabServer", "SecretError", "check_secret", "create_app"]
