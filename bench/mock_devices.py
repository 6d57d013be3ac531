"""Mock mode of the device layer: how long the device tests in ophyd-async's mock mode
take (no ptys, no servers), and each kind's connect-and-run in mock mode on its own.

Goal: the whole device layer's mock tests in well under 10 s, each kind under 50 ms.

    python -m bench.mock_devices [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop as run
from ophyd_async.core import set_mock_value

from bench._report import percentiles, publish
from devices import (
    Analyser,
    AsciiAnalyserDriver,
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    InProcessTransport,
    Range,
    RoboticArm,
    Spectrometer,
    SynthesisStation,
)
from simulators import SimClock

ROOT = Path(__file__).resolve().parent.parent
#: the tests that run devices in mock mode, whole files
MOCK_TESTS = ["tests/unit/test_device_mock.py", "examples/balance/tests/test_balance.py"]


async def _never(line: str) -> str:
    raise AssertionError(f"a mocked device sent {line!r}")


def _wire(name: str) -> InProcessTransport:
    return InProcessTransport(_never, name)


def _arm(re: RunEngine) -> None:
    arm = RoboticArm(AsciiArmDriver(_wire("arm"), "arm"), ["rack", "slot"], name="arm")
    run(arm.connect(mock=True))
    re(bps.mv(arm, "slot", arm.gripper, "closed"))


def _station(re: RunEngine) -> None:
    station = SynthesisStation(
        AsciiStationDriver(_wire("station"), "station"),
        SimClock(1e4),
        {1: "cyan"},
        Range(0, 10, "mL"),
        Range(20, 90, "degC"),
        Range(100, 1000, "rpm"),
        Range(0.1, 10, "mL/min"),
        name="station",
    )
    run(station.connect(mock=True))
    set_mock_value(station.pumps[1].level, 5.0)
    re(bps.mv(station.heater, 60, station.stirrer, 300, station.pumps[1], 1.0))


def _spectrometer(re: RunEngine) -> None:
    spec = Spectrometer(
        AsciiSpectrometerDriver(_wire("spec"), "spec"), Range(1, 1000, "ms"), name="spec"
    )
    run(spec.connect(mock=True))
    re(bps.mv(spec.integration, 50))
    re(bps.trigger(spec, wait=True))


def _analyser(re: RunEngine) -> None:
    hplc = Analyser(AsciiAnalyserDriver(_wire("hplc"), "hplc"), {"yield": "%"}, name="hplc")
    run(hplc.connect(mock=True))
    re(bps.trigger(hplc, wait=True))


KINDS: dict[str, Callable[[RunEngine], None]] = {
    "robotic arm": _arm,
    "synthesis station": _station,
    "spectrometer": _spectrometer,
    "analyser": _analyser,
}


def main(quick: bool) -> dict[str, Any]:
    repeats = 5 if quick else 30
    re = RunEngine({}, call_returns_result=True)
    results: dict[str, Any] = {}
    for kind, exercise in KINDS.items():
        exercise(re)  # the first use of a kind loads what it needs (about 0.2 s), once
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            exercise(re)
            times.append(time.perf_counter() - start)
        results[kind] = percentiles(times)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *MOCK_TESTS, "-k", "mock"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    results["mock tests"] = {
        "seconds": round(time.perf_counter() - start, 2),
        "summary": done.stdout.strip().splitlines()[-1],
    }
    rows = [
        f"| {kind} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['n']} |"
        for kind, r in results.items()
        if kind in KINDS
    ]
    table = "\n".join(
        [
            "## Device layer in mock mode",
            "",
            "| kind, in mock mode | p50 (ms) | p95 (ms) | max (ms) | runs |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"The mock-mode tests of the device layer ({', '.join(MOCK_TESTS)}, `-k mock`): "
            f"{results['mock tests']['seconds']} s from the shell, interpreter start and "
            f"imports included ({results['mock tests']['summary']}).",
        ]
    )
    notes = (
        "Goal: each kind under 50 ms, the whole layer's mock tests well under 10 s. Each run "
        "builds the device, connects it with `connect(mock=True)` (nothing opened: its wire "
        "fails the run if touched) and runs a plan on it: the arm moves and grips, the "
        "station heats, stirs and dispenses, the spectrometer sets its integration time and "
        "acquires, the analyser analyses. Each kind runs once before it is timed (its "
        "first use loads what it needs, about 0.2 s once per process)."
    )
    publish("mock_devices", results, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="five runs of each, not thirty")
    main(parser.parse_args().quick)
