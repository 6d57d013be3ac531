"""A real ``lab serve`` process for system tests: started, waited for, stopped by signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulators.opcua_station import free_port


@dataclass
class LabProcess:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a service manager would send; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def lab_command(*args: str | Path, env: dict[str, str] | None = None, cwd: Path, **kw):
    return subprocess.run(
        [sys.executable, "-m", "lab.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
        **kw,
    )


def start_lab(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> LabProcess:
    """``lab serve ARGS --port <free>``, returned once its health endpoint answers."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "lab.cli", "serve", *map(str, args), "--port", str(port)],
        cwd=cwd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "200", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"lab serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return LabProcess(process, url, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"lab serve did not come up:\n{log.read_text()}")


def demo_password(lab: LabProcess) -> str:
    found = re.search(r"demo login: user demo\s+password (\S+)", lab.output())
    assert found, lab.output()
    return found.group(1)
