"""Where benchmark results go: JSON in bench/results/ and a section of docs/benchmarks.md,
each with the machine, the versions and the date, so a figure is never read without them."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
PACKAGES = ("sdl-lab", "bluesky", "ophyd-async", "fastapi", "uvicorn", "asyncua", "ax-platform")


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    cpu = platform.processor() or platform.machine()
    model = Path("/proc/cpuinfo")
    if model.exists():
        found = re.search(r"model name\s*:\s*(.+)", model.read_text())
        cpu = found.group(1).strip() if found else cpu
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "commit": commit,
        "versions": {p: _version(p) for p in PACKAGES},
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50, p95, max and count, in milliseconds."""
    ms = np.asarray(samples_s) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "max_ms": round(float(ms.max()), 2),
        "n": int(ms.size),
    }


def publish(
    name: str, results: dict[str, Any], table: str, notes: str, env: dict[str, Any] | None = None
) -> None:
    """Write ``results`` to bench/results/NAME.json and its section of docs/benchmarks.md;
    ``env``: the machine they were measured on, if not this one now (a redrawn section)."""
    env = env or machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": env, **results}, indent=2))
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    section = (
        f"<!-- bench:{name} -->\n{table}\n\n{notes}\n\n"
        f"*Measured {env['date']} on {env['cpu']} ({env['cores']} cores), Python "
        f"{env['python']}, {env['os']}, commit {env['commit'] or '?'}; {versions}.*\n"
        f"<!-- /bench:{name} -->"
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text}\n{section}\n"
    DOC.write_text(text)
    print(table)
