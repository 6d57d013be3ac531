"""A throwaway Redis server for the tests: Debian's redis-server on a free loopback port,
nothing saved to disk, stopped with the test session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from simulators.opcua_station import free_port


def available() -> bool:
    """Whether this machine has Redis's server program."""
    return shutil.which("redis-server") is not None


class ThrowawayRedis:
    """One server, for every workcell's queue (each under its own name prefix)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def address(self) -> str:
        """``host:port``, as the queue server's ``--redis-addr`` takes it."""
        return f"localhost:{self.port}"

    def stop(self) -> None:
        """Stop the server."""
        self._process.terminate()
        self._process.wait(timeout=10)
