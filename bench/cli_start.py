"""Command-line start time: how long `lab --help`, `lab campaign show` and `lab devices
--help` take from the shell, a fresh interpreter each time (the import cost is the point).

Goal: `lab --help` and `lab campaign show` under 1 s.

    python -m bench.cli_start [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._report import percentiles, publish
from devices import parse_quantity
from lab.store import Store


def _store(path: Path) -> Path:
    """A store holding one campaign of three trials, as `campaign show` reads it."""
    store = Store(path)
    definition = {"objectives": [{"name": "error", "minimize": True}], "planner": {"name": "sobol"}}
    store.open_campaign("bench", definition, {})
    for i in range(3):
        store.add_trial("bench", i, {"cyan": parse_quantity(f"{i} milliliter")}, "sobol")
        store.update_trial("bench", i, status="completed", outcomes={"error": 1.0 / (i + 1)})
    store.close()
    return path


def _time(args: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True)
        out.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr.decode()
    return out


def main(quick: bool) -> dict[str, dict[str, float]]:
    runs = 3 if quick else 10
    with tempfile.TemporaryDirectory(prefix="sdl-bench-") as tmp:
        store = str(_store(Path(tmp) / "store.sqlite"))
        commands = {
            "lab --help": ["--help"],
            "lab campaign show": ["campaign", "show", store],
            "lab devices --help": ["devices", "--help"],
        }
        results = {name: percentiles(_time(args, runs)) for name, args in commands.items()}
    rows = "\n".join(
        f"| `{name}` | {r['p50_ms']:.0f} | {r['max_ms']:.0f} | {r['n']} |"
        for name, r in results.items()
    )
    table = (
        "## Command-line start time\n\n"
        "| command | p50 (ms) | max (ms) | runs |\n|---|---|---|---|\n" + rows
    )
    notes = (
        "Goal: `lab --help` and `lab campaign show` under 1 s. A fresh `python -m lab.cli` "
        "each run: the time is mostly imports. The CLI imports the devices, the RunEngine "
        "and the planners (torch, Ax) only inside the commands that use them."
    )
    publish("cli_start", {"runs": runs, "results": results}, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three runs of each, not ten")
    main(parser.parse_args().quick)
