"""One process owns an instrument port (or a lab's store): an exclusive lock per resource.

Two processes talking to one instrument interleave commands and fight over its state; two
campaign runners on one store overwrite each other's trials. Each resource is claimed with
``flock`` on a lock file named after what it *is*, not how it was spelled: a file by its
device and inode (a serial port by its device number), an endpoint by its resolved address
and port (``localhost`` and ``127.0.0.1`` are one station). The lock files live in one
fixed folder, whatever a process's environment says, so no ``TMPDIR`` can split a claim.
The kernel drops a claim when its process ends, however it ends, so a crashed lab never
leaves anything locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from devices._errors import DeviceBusy

#: the one folder every process of every user on this machine claims resources in
LOCK_DIRECTORY = Path("/tmp/sdl-port-locks")


#: Linux's device numbers of pseudo-terminal slaves (/dev/pts/N), the simulators' serial ports
_PTY_SLAVE_MAJORS = range(136, 144)


def lock_directory() -> Path:
    """The folder the claims live in (the same for every process, by design)."""
    return LOCK_DIRECTORY


def file_identity(path: str) -> str:
    """What a file is, however it is named: a device's number for a serial port (and for a
    pseudo-terminal, its creation time too: a lab holding a pty that was closed must not
    hold the next one given that number), device and inode for any other file that exists,
    its resolved path for one not made yet."""
    real = os.path.realpath(path)
    try:
        found = os.stat(real)
    except OSError:
        return f"path{real}"
    if stat.S_ISCHR(found.st_mode):
        major, minor = os.major(found.st_rdev), os.minor(found.st_rdev)
        if major in _PTY_SLAVE_MAJORS:  # a pty's number is reused as soon as it is freed:
            return f"pty-{minor}-{found.st_ctime_ns}"  # its creation time tells them apart
        return f"chardev-{major}-{minor}"
    return f"file-{found.st_dev}-{found.st_ino}"


def endpoint_identity(url: str) -> str:
    """An endpoint by its resolved address and port: any spelling of a host that reaches
    the same machine (a name, an address, any loopback) is one claim."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 0
    try:
        found = sorted(
            {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        )
    except (socket.gaierror, UnicodeError):
        found = [host.lower()]
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            addresses.append(text)
            continue
        addresses.append("loopback" if address.is_loopback else str(address))
    return f"{parts.scheme}-{min(addresses)}-{port}"


class ResourceLock:
    """An exclusive claim on ``resource`` (a serial port, an OPC UA endpoint, a store).

    Args:
        resource: what is claimed, as the user named it (errors say it so).
        device: who claims it, as errors name it.
        advice: what the refused should do.
        identity: what the resource *is*, worked out when it is claimed (a file's inode
            exists only once the file does); by default its name.
    """

    def __init__(
        self,
        resource: str,
        device: str,
        advice: str = "one lab process owns an instrument (stop it, or talk to it through its server)",
        identity: Callable[[], str] | None = None,
    ) -> None:
        self.resource = resource
        self.device = device
        self.advice = advice
        self._identity = identity or (lambda: resource)
        self._fd: int | None = None

    @classmethod
    def for_file(cls, path: str, device: str, **kw: str) -> ResourceLock:
        """The claim on a serial port or any file, for the device (or store) ``device``.

        Args:
            path: the port or file, by any of its names.
            device: who claims it, as errors name it.
            kw: ``advice`` for the refusal.
        """
        return cls(path, device, identity=lambda: file_identity(path), **kw)

    @classmethod
    def for_endpoint(cls, url: str, device: str, **kw: str) -> ResourceLock:
        """The claim on a network endpoint (``opc.tcp://host:port/...``), by its resolved
        address and port.

        Args:
            url: the endpoint, with any spelling of its host.
            device: who claims it, as errors name it.
            kw: ``advice`` for the refusal.
        """
        return cls(url, device, identity=lambda: endpoint_identity(url), **kw)

    @property
    def path(self) -> Path:
        """The lock file of this resource's identity."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self._identity()).strip("_")
        return lock_directory() / f"{safe}.lock"

    @property
    def held(self) -> bool:
        """This process holds the claim."""
        return self._fd is not None

    def acquire(self) -> None:
        """Claim the port, or raise :class:`DeviceBusy` naming the process that holds it."""
        if self._fd is not None:
            return
        path = self.path
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # every user's processes claim here
                path.parent.chmod(0o1777)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
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
