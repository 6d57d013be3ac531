"""What an application does once as it starts, never at import: the lab's logging on the
console, the libraries' console output turned down to warnings, and the threads torch may
use. The ``lab`` command calls :func:`set_up_application`; a script may, or may set up
logging its own way (the ``lab`` logger is then as quiet as any library's)."""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

from planners import set_ax_console_level

#: the lab's own logger; every module logs to a child of it (``lab.campaigns.manager``)
logger = logging.getLogger("lab")

#: a library's own bar, above the one asked for: bluesky reports a failed run and asyncua a
#: reconnect or a certificate without this host's name, which the lab tells in its own
#: words (or which are the simulators' own certificates), even with ``-v``
_LIBRARIES_AT = {"bluesky": logging.CRITICAL, "asyncua": logging.ERROR}


class _OneLine(logging.Formatter):
    """A log record as one sentence: a library's traceback is for a debugger, not for
    the person at the terminal (the command says what failed, and the store keeps it)."""

    def formatException(self, ei) -> str:
        return f"  ({ei[0].__name__ if ei[0] else 'error'}: {ei[1]})"

    def formatStack(self, stack_info: str) -> str:
        return ""


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


class _LabOrWarnings(logging.Filter):
    """The lab's records from ``level`` up; a library's from ``libraries`` up (or its own bar)."""

    def __init__(self, level: int, libraries: int) -> None:
        super().__init__()
        self.level = level
        self.libraries = libraries

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == "lab" or name.startswith("lab."):
            return record.levelno >= self.level
        top = name.split(".", 1)[0]
        return record.levelno >= max(self.libraries, _LIBRARIES_AT.get(top, logging.NOTSET))


def config_lab_logging(
    level: int = logging.INFO, stream: TextIO | None = None, libraries: int | None = None
) -> None:
    """Log the lab's state changes (a campaign started, paused or stopped, an emergency
    stop, a reset, an action audited by the server) at ``level`` and the libraries' records
    from ``libraries`` up, one line each, on ``stream`` (stderr by default). Called again,
    it replaces its own handler.

    Args:
        level: the lowest level of the lab's own records shown.
        stream: where to write.
        libraries: the lowest level of a library's records shown: ERROR by default (Ax's
            "model fit is poor", asyncua's certificate notes are for a developer, ``-v``
            shows them as WARNING); left out on a second call, the first call's bar stays.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if any(isinstance(f, _LabOrWarnings) for f in h.filters)]
    if libraries is None:
        kept = [f for h in ours for f in h.filters if isinstance(f, _LabOrWarnings)]
        libraries = kept[0].libraries if kept else logging.ERROR
    for old in ours:
        root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_LabOrWarnings(level, libraries))
    root.addHandler(handler)
    root.setLevel(min(level, libraries))
    set_ax_console_level(libraries)  # Ax writes to the console through its own handler


def cap_threads(threads: int = 2) -> None:
    """Let torch (the planners' models) use at most ``threads`` threads: the lab machines
    have two cores, and more threads only thrash. An ``OMP_NUM_THREADS`` already set wins.

    Args:
        threads: the most threads torch's operators may use.
    """
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(min(threads, torch.get_num_threads()))
    else:  # read by torch as it loads: no need to load it for a command that never plans
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def set_up_application(
    level: int = logging.INFO, threads: int = 2, libraries: int = logging.ERROR
) -> None:
    """Everything an application of the lab sets once as it starts: the console logging
    (:func:`config_lab_logging`) and torch's threads (:func:`cap_threads`)."""
    config_lab_logging(level, libraries=libraries)
    cap_threads(threads)
