"""A demo lab for benchmarks: the example lab on a fast clock, with a long campaign."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "colour_match"


def bench_lab(folder: Path, clock_speed: float = 1000.0) -> Path:
    """Copy the example into ``folder``; the campaign runs Sobol for many trials, so the lab
    is busy (moving, dispensing, stirring, measuring) for as long as a benchmark needs."""
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = yaml.safe_load((folder / "lab.yaml").read_text())
    lab["simulation"]["clock_speed"] = clock_speed
    (folder / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    campaign = yaml.safe_load((folder / "campaign.yaml").read_text())
    campaign.update(trials=10_000, planner={"name": "sobol", "seed": 0})
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    return folder / "lab.yaml"
