"""One process owns an instrument port (or a lab's store): an exclusive lock per resource.

Two processes talking to one instrument interleave commands and fight over its state; two
campaign runners on one store overwrite each other's trials. Each resource is claimed with
``flock`` on a lock file named after it; the kernel drops the claim when the process ends,
however it ends, so a crashed lab never leaves anything locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
import tempfile
from pathlib import Path

from devices._errors import DeviceBusy


def lock_directory() -> Path:
    """``$SDL_LOCK_DIR``, or a folder in the system's temporary directory."""
    return Path(os.environ.get("SDL_LOCK_DIR") or Path(tempfile.gettempdir()) / "sdl-port-locks")


class ResourceLock:
    """An exclusive claim on ``resource`` (a serial port, an OPC UA endpoint, a store).

    Args:
        resource: what is claimed; a file (a serial port, a store) is resolved through its
            symlinks, so two names of one file are one claim.
        device: who claims it, as errors name it.
    """

    def __init__(
        self,
        resource: str,
        device: str,
        advice: str = "one lab process owns an instrument (stop it, or talk to it through its server)",
    ) -> None:
        self.resource = resource
        self.device = device
        self.advice = advice
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", resource).strip("_")
        self.path = lock_directory() / f"{safe}.lock"
        self._fd: int | None = None

    @classmethod
    def for_file(cls, path: str, device: str, **kw: str) -> ResourceLock:
        """The claim on a serial port or any file path, for the device (or store) named ``name``."""
        return cls(os.path.realpath(path), device, **kw)

    @property
    def held(self) -> bool:
        """This process holds the claim."""
        return self._fd is not None

    def acquire(self) -> None:
        """Claim the port, or raise :class:`DeviceBusy` naming the process that holds it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DeviceBusy(
                self.device, f"{self.resource} is in use by {holder}; {self.advice}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} ({' '.join(sys.argv)[:200]})".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the claim up (harmless if not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock
