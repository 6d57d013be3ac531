"""The colour-matching problem, run through the real lab loop and scored by its truth.

Each campaign is ``lab.api.run_campaign`` on the example lab (simulated arm and
spectrometer on ptys, the station over OPC UA) with a fast clock; the planner sees the
measured (noisy) colour error, the score is the noise-free one: the example's chemistry at
the parameters run, under the protocol's fixed conditions, against the target.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np
import pint
import yaml

from bench._lab import EXAMPLES
from bench._problems import Problem

#: what the example protocol fixes (colour_mix.yaml): water and how the vial is stirred
_WATER_ML = 2.0
_STIR_S = 60.0
_STIR_RPM = 600.0


@cache
def colour_problem() -> Problem:
    """The example campaign's space with the noise-free colour error as its truth."""
    from lab.campaign_config import CampaignConfig, read_target
    from lab.yaml_files import load_yaml_model
    from simulators import WAVELENGTHS_NM, DyeChemistry

    campaign = load_yaml_model(CampaignConfig, EXAMPLES / "campaign.yaml")
    ureg = pint.get_application_registry()
    chemistry = DyeChemistry()
    target_nm, target = read_target(EXAMPLES / "target_spectrum.csv")
    wavelengths = WAVELENGTHS_NM * ureg.nm
    reference = np.interp(WAVELENGTHS_NM, target_nm, target)

    def truth(v: Mapping[str, float]) -> float:
        composition = {d: ureg.Quantity(v[d], "mL") for d in ("cyan", "magenta", "yellow")}
        composition["water"] = ureg.Quantity(_WATER_ML, "mL")
        conditions = {
            "temperature": ureg.Quantity(v["temperature"], "degC"),
            "stir_time": ureg.Quantity(_STIR_S, "s"),
            "stir_speed": ureg.Quantity(_STIR_RPM, "rpm"),
        }
        spectrum = chemistry(composition, conditions, wavelengths)
        return float(np.sqrt(np.mean((spectrum - reference) ** 2)))

    # the hidden recipe (make_target.py) reproduces the target exactly
    return Problem("colour", campaign.search_space(), truth, True, 0.0, 25)


def run_in_lab(folder: Path, planner: str, seed: int, trials: int) -> list[dict[str, float]]:
    """Run the example campaign with ``planner`` in a fresh copy of the example lab; the
    parameters of each completed trial, in trial order (plain numbers in the campaign's units)."""
    from devices import parse_quantity
    from lab.api import run_campaign
    from lab.store import Store

    copy = folder / f"{planner}-{seed}"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = yaml.safe_load((copy / "lab.yaml").read_text())
    lab["clock_speed"] = 2000.0
    (copy / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    store = copy / "store.sqlite"
    run_campaign(copy / "campaign.yaml", planner=planner, seed=seed, trials=trials, store=store)
    problem = colour_problem()
    db = Store(store)
    try:
        records = db.trials("colour-match")
    finally:
        db.close()
    units = {p.name: p.unit for p in problem.space.parameters}
    return [
        {n: float(parse_quantity(r.parameters[n]).m_as(units[n])) for n in units}
        for r in records
        if r.status == "completed"
    ]
