"""A real EPICS IOC on this machine: EPICS base's soft IOC as shipped on PyPI
(``epicscorelibs``), serving the records of a database file over Channel Access and PV
Access. The records are the simulated instrument; the lab's ophyd-async EPICS signals
talk to it exactly as to a facility's IOC."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

#: what the soft IOC prints once its records are served
READY = "iocRun: All initialization complete"

#: the environment in which this process's EPICS clients find IOCs on this machine only:
#: Channel Access searches by loopback broadcast (a unicast search reaches only one of
#: several IOCs on a host), PV Access by unicast (its servers share a search port)
LOOPBACK_CLIENT = {
    "EPICS_CA_ADDR_LIST": "127.255.255.255",
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_PVA_ADDR_LIST": "127.0.0.1",
    "EPICS_PVA_AUTO_ADDR_LIST": "NO",
}


def use_loopback_iocs() -> None:
    """Point this process's EPICS clients at IOCs on this machine (before the first
    channel is made: the client contexts read it once)."""
    os.environ.update(LOOPBACK_CLIENT)


class SoftIoc:
    """One soft IOC process serving ``databases`` (a file and its macros each).

    Args:
        databases: ``(path, {macro: value})`` pairs, loaded in order.
    """

    def __init__(self, databases: list[tuple[Path, dict[str, str]]]) -> None:
        self.databases = databases
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        """The IOC process is alive."""
        return self._process is not None and self._process.returncode is None

    async def start(self, timeout: float = 30.0) -> None:
        """Start the IOC and return once its records are served."""
        args = [sys.executable, "-m", "epicscorelibs.ioc"]
        for path, macros in self.databases:
            args += ["-m", ",".join(f"{k}={v}" for k, v in macros.items()), "-d", str(path)]
        # PV Access answers on loopback only; Channel Access must bind every interface to
        # hear loopback broadcasts, and its PV names carry the simulation's own prefix,
        # so it never answers for a facility's PV
        env = {**os.environ, "EPICS_PVAS_INTF_ADDR_LIST": "127.0.0.1"}
        self._process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        try:
            await asyncio.wait_for(self._until_ready(), timeout)
        except BaseException:
            await self.stop()
            raise

    async def _until_ready(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        seen: list[str] = []
        while True:
            line = await self._process.stdout.readline()
            if not line:
                raise RuntimeError("the soft IOC ended before serving: " + " | ".join(seen[-5:]))
            text = line.decode(errors="replace").strip()
            seen.append(text)
            if READY in text:
                # keep its pipe drained, or a chatty IOC blocks on a full pipe
                self._drain = asyncio.ensure_future(_discard(self._process.stdout))
                return

    async def stop(self) -> None:
        """Ask the IOC to exit; kill it if it does not within 5 s."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(Exception):
            assert process.stdin is not None
            process.stdin.write(b"exit()\n")
            await process.stdin.drain()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()
        drain, self._drain = self._drain, None
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


async def _discard(output: asyncio.StreamReader) -> None:
    """Read ``output`` to its end."""
    while await output.readline():
        pass
