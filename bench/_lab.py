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


def with_facility_devices(lab_file: Path) -> Path:
    """Add to a lab file the facility's kinds of device: a heating block over EPICS
    Channel Access, one over PV Access (real soft IOCs) and one on a SiLA 2 server, each
    at a place of its own the arm reaches. Returns the file."""
    lab = yaml.safe_load(lab_file.read_text())
    block = {"temperature": {"min": "20 degC", "max": "90 degC"}}
    devices = {
        "block": {"kind": "epics_heating_block", "transport": {"type": "epics", "protocol": "ca"}},
        "block_pva": {
            "kind": "epics_heating_block",
            "transport": {"type": "epics", "protocol": "pva"},
        },
        "block_sila": {"kind": "sila2_heating_block", "transport": {"type": "sila2"}},
    }
    for i, (name, device) in enumerate(devices.items()):
        lab["locations"][name] = {"xyz_mm": [250 + 50 * i, 200, 40]}
        lab["devices"]["arm"]["reach"].append(name)
        if device["kind"] == "epics_heating_block":
            device["prefix"] = f"LAB:{name.upper()}:"
        lab["devices"][name] = {**device, **block, "place": name}
    lab_file.write_text(yaml.safe_dump(lab, sort_keys=False))
    return lab_file
