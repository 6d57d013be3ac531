"""The optimisers other labs pick for this job, BayBE's and BoFire's defaults, on our
benchmark problems: each in a process of an environment of its own (``build/peers``, made
by the bench on first use), so that their pins of BoTorch and pandas never meet ours and
neither becomes a dependency of the product. Our process keeps the problems and their
truth; the peer's process only proposes and is told (``bench/_peer_planner.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._report import ROOT

ENVIRONMENT = ROOT / "build" / "peers"
#: the versions compared: each a release of its own, with what it asks for itself
PINS = ("baybe==0.15.0", "bofire[optimization]==0.5.0")
PEERS = ("baybe", "bofire")


def peer_python() -> Path:
    """The peers' environment's Python, made the first time (a few minutes)."""
    python = ENVIRONMENT / "bin" / "python"
    stamp = ENVIRONMENT / ".installed"
    if stamp.exists() and stamp.read_text() == " ".join(PINS):
        return python
    print(f"making the peers' environment in {ENVIRONMENT} ({', '.join(PINS)})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENVIRONMENT)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    # torch's CPU build first (it lies on disk here): a bare torch would pull CUDA's GBs
    subprocess.run([*pip, f"torch=={metadata.version('torch').split('+')[0]}"], check=True)
    subprocess.run([*pip, *PINS], check=True)
    stamp.write_text(" ".join(PINS))
    return python


def peer_versions() -> dict[str, str]:
    """The peers' versions, as installed in their environment."""
    found = subprocess.run(
        [str(peer_python()), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    wanted = {"baybe", "bofire", "botorch", "torch"}
    return {p["name"]: p["version"] for p in json.loads(found.stdout) if p["name"] in wanted}


class PeerPlanner:
    """A peer's optimiser proposing one point at a time in its own process.

    Args:
        name: ``baybe`` or ``bofire``.
        space: the problem's search space (numbers only, linear constraints).
        minimize: lower is better.
        seed: the peer's seed.
        initial: space-filling points before its model, where the peer takes a number
            (BoFire); BayBE's default decides for itself.
    """

    def __init__(self, name: str, space: Any, minimize: bool, seed: int, initial: int) -> None:
        problem = {
            "planner": name,
            "seed": seed,
            "initial": initial,
            "minimize": minimize,
            "parameters": [
                {"name": p.name, "lower": p.lower, "upper": p.upper} for p in space.parameters
            ],
            "constraints": [
                {"coefficients": dict(c.coefficients), "bound": c.bound} for c in space.constraints
            ],
        }
        script = Path(__file__).with_name("_peer_planner.py")
        self._process = subprocess.Popen(
            [str(peer_python()), str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._send(problem)
        #: seconds each proposal took, in order
        self.seconds: list[float] = []

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()

    def _answer(self) -> Any:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith("@@ "):
                return json.loads(line[3:])
        raise RuntimeError(f"the peer's process ended (exit status {self._process.wait()})")

    def ask(self) -> dict[str, float]:
        """The next point to try."""
        started = time.perf_counter()
        self._send({"ask": 1})
        (point,) = self._answer()
        self.seconds.append(time.perf_counter() - started)
        return {k: float(v) for k, v in point.items()}

    def tell(self, point: dict[str, float], value: float) -> None:
        """What ``point`` measured."""
        self._send({"tell": [[point, value]]})
        self._answer()

    def close(self) -> None:
        """End the peer's process."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)
