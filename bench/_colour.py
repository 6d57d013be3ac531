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
from typing import TYPE_CHECKING, Any

import numpy as np
import pint
import yaml

from bench._lab import EXAMPLES
from bench._problems import Problem

if TYPE_CHECKING:
    from lab.store import Store

#: what the example protocol fixes (colour_mix.yaml): water and how the vial is stirred
_WATER_ML = 2.0
_STIR_S = 60.0
_STIR_RPM = 600.0


#: hidden recipes (mL of each dye, and the temperature in degC) whose true spectra are
#: targets: the example's (make_target.py), and one where the cyan-yellow complex's band
#: is strong (much of both dyes, hot)
RECIPES = {
    "example": {"cyan": 1.2, "magenta": 0.6, "yellow": 1.8, "temperature": 55.0},
    "complex": {"cyan": 2.2, "magenta": 0.3, "yellow": 2.4, "temperature": 78.0},
}


def true_spectrum(v: Mapping[str, Any]) -> np.ndarray:
    """The example chemistry's noise-free spectrum at the recipe ``v`` (mL, degC), under
    the protocol's fixed water and stirring."""
    from simulators import WAVELENGTHS_NM, DyeChemistry

    ureg = pint.get_application_registry()
    composition = {d: ureg.Quantity(v[d], "mL") for d in ("cyan", "magenta", "yellow")}
    composition["water"] = ureg.Quantity(_WATER_ML, "mL")
    conditions = {
        "temperature": ureg.Quantity(v["temperature"], "degC"),
        "stir_time": ureg.Quantity(_STIR_S, "s"),
        "stir_speed": ureg.Quantity(_STIR_RPM, "rpm"),
    }
    return np.asarray(DyeChemistry()(composition, conditions, WAVELENGTHS_NM * ureg.nm))


@cache
def colour_problem(target: str = "example") -> Problem:
    """The example campaign's space with the noise-free colour error against the target
    of recipe ``target`` (see :data:`RECIPES`) as its truth; the recipe scores 0."""
    from lab.files.campaign_file import CampaignConfig
    from lab.files.yaml_reading import load_yaml_model

    campaign = load_yaml_model(CampaignConfig, EXAMPLES / "campaign.yaml")
    reference = true_spectrum(RECIPES[target])

    def truth(v: Mapping[str, float]) -> float:
        return float(np.sqrt(np.mean((true_spectrum(v) - reference) ** 2)))

    name = "colour" if target == "example" else f"colour-{target}"
    return Problem(name, campaign.search_space(), truth, True, 0.0, 25)


def write_target(path: Path, target: str) -> None:
    """The true spectrum of recipe ``target`` as a target file (wavelength_nm,absorbance)."""
    from simulators import WAVELENGTHS_NM

    rows = np.column_stack([WAVELENGTHS_NM, true_spectrum(RECIPES[target])])
    np.savetxt(path, rows, delimiter=",", fmt="%.6f", header="wavelength_nm,absorbance")


def run_in_lab(
    folder: Path, planner: str, seed: int, trials: int, target: str = "example"
) -> list[dict[str, float | str]]:
    """Run the example campaign with ``planner`` in a fresh copy of the example lab,
    against the target of recipe ``target``; the parameters of each completed trial, in
    trial order (plain numbers in the campaign's units)."""
    from lab.api import run_campaign
    from lab.store import Store

    copy = folder / f"{target}-{planner}-{seed}"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    if target != "example":
        write_target(copy / "target_spectrum.csv", target)
    lab = yaml.safe_load((copy / "lab.yaml").read_text())
    lab["simulation"]["clock_speed"] = 2000.0
    (copy / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    store = copy / "store.sqlite"
    run_campaign(copy / "campaign.yaml", planner=planner, seed=seed, trials=trials, store=store)
    db = Store(store)
    try:
        return completed_points(db, "colour-match")
    finally:
        db.close()


def completed_points(db: Store, campaign: str) -> list[dict[str, float | str]]:
    """The parameters of each completed trial of ``campaign``, in trial order (plain numbers
    in the colour problem's units)."""
    space = colour_problem().space
    return [space.magnitudes(r.parameters) for r in db.trials(campaign) if r.status == "completed"]
