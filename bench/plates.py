"""Plates against vials, same chemistry and planner budget: the colour match run through
the real lab loop on the plate example (a liquid handler and a plate reader through
PyLabRobot, batches of 8 wells proposed at once by Ax, and one well at a time) and on the
vial example (one vial at a time), and how long Ax takes to propose a plate's batch.

Per configuration, over seeds: experiments per lab hour (from the runs' step times:
first step reached to last ended), the true colour error of the best well or vial after
the budget (the noise-free spectrum of its recipe against its target) and how many
experiments it took to come within 0.01 of the target. The vials match the example's
target; the plates a target made from a hidden well recipe (a plate cannot heat, and the
example's target was made hot), so both can reach zero. The clock runs 100x for all, so
a proposal's compute counts 100 times over in lab time (as on a slow machine).
Proposal time: a batch of 8 and of 24 after 50 and 200 observations on the plate's space
(goal: under 5 s for 8 at 200).

    python -m bench.plates [--quick] [--from-json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pint
import yaml

from bench._lab import EXAMPLES
from bench._report import RESULTS, publish
from bench.planner_latency import _in_fresh_process

PLATE_EXAMPLE = EXAMPLES.parent / "plate_colour"
CLOCK_SPEED = 100.0
#: the hidden well recipe (µL of each dye) whose spectrum the plate campaigns match
PLATE_RECIPE = {"cyan": 30.0, "magenta": 20.0, "yellow": 45.0}
#: "found it": within this true colour error of the target
CLOSE = 0.01
#: what the plate protocol fixes (colour_plate.yaml): water and the mix
_WATER_UL = 100.0
_MIX_CYCLES = 3
_SECONDS_PER_DISPENSE = 3.0  # the simulated handler's (simulators.plates)


def _vial_target() -> np.ndarray:
    from simulators import WAVELENGTHS_NM

    wl, absorbance = np.loadtxt(EXAMPLES / "target_spectrum.csv", delimiter=",", skiprows=1).T
    return np.asarray(np.interp(WAVELENGTHS_NM, wl, absorbance))


def _well_spectrum(v: Mapping[str, float]) -> np.ndarray:
    """The noise-free spectrum of a well recipe (µL), mixed as the protocol and the
    simulated handler mix it."""
    from simulators import WAVELENGTHS_NM, DyeChemistry

    ureg = pint.get_application_registry()
    composition = {d: ureg.Quantity(v[d], "uL") for d in ("cyan", "magenta", "yellow") if v[d] > 0}
    composition["water"] = ureg.Quantity(_WATER_UL, "uL")
    dispenses = len(composition) + _MIX_CYCLES
    conditions = {
        "temperature": ureg.Quantity(25.0, "degC"),
        "stir_time": ureg.Quantity(dispenses * _SECONDS_PER_DISPENSE, "s"),
    }
    return np.asarray(DyeChemistry()(composition, conditions, WAVELENGTHS_NM * ureg.nm))


def _true_error(v: Mapping[str, Any], plate: bool) -> float:
    """The noise-free colour error of a recipe against its target: a well's (µL) against
    the hidden well recipe's, a vial's (mL and degC, as bench._colour scores it) against
    the example's."""
    from bench._colour import true_spectrum

    if plate:
        spectrum, target = _well_spectrum(v), _well_spectrum(PLATE_RECIPE)
    else:
        spectrum, target = true_spectrum(v), _vial_target()
    return float(np.sqrt(np.mean((spectrum - target) ** 2)))


def _copy(folder: Path, kind: str) -> Path:
    """A copy of the example (``plate`` or ``vial``) with the clock at CLOCK_SPEED."""
    if kind == "vial":
        copy = folder / "colour_match"
        shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    else:
        from simulators import WAVELENGTHS_NM

        copy = folder / "plate_colour"
        shutil.copytree(PLATE_EXAMPLE, copy)
        (folder / "colour_match").mkdir(exist_ok=True)
        rows = np.column_stack([WAVELENGTHS_NM, _well_spectrum(PLATE_RECIPE)])
        np.savetxt(
            folder / "colour_match" / "target_spectrum.csv",
            rows,
            delimiter=",",
            fmt="%.6f",
            header="wavelength_nm,absorbance",
        )
    lab = yaml.safe_load((copy / "lab.yaml").read_text())
    lab["simulation"]["clock_speed"] = CLOCK_SPEED
    (copy / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    return copy


def _run(kind: str, batch: int, seed: int, trials: int, folder: str) -> dict[str, Any]:
    """One campaign: experiments per lab hour and the true error of each completed trial."""
    from lab.api import run_campaign
    from lab.records.timeline import campaign_spans
    from lab.store import Store

    root = Path(folder) / f"{kind}-b{batch}-s{seed}"
    root.mkdir()
    copy = _copy(root, "vial" if kind == "vial" else "plate")
    campaign = copy / "campaign.yaml"
    if kind != "vial":
        data = yaml.safe_load(campaign.read_text())
        data.update(batch=batch, planner={**data["planner"], "initialization_trials": 8})
        campaign.write_text(yaml.safe_dump(data, sort_keys=False))
    store = copy / "store.sqlite"
    result = run_campaign(campaign, planner="ax", seed=seed, trials=trials, store=store)
    db = Store(store)
    try:
        name = result.name
        records = [r for r in db.trials(name) if r.status == "completed"]
        spans = campaign_spans(db, name)
    finally:
        db.close()
    hours = (max(s.ended for s in spans) - min(s.reached for s in spans)) / 3600
    points = [
        {k: q if isinstance(q, str) else float(q.m) for k, q in r.parameters.items()}
        for r in records
    ]
    return {
        "stopped": result.stopped,
        "experiments": len(records),
        "per_hour": len(records) / hours,
        "errors": [_true_error(p, kind != "vial") for p in points],
    }


CONFIGS = {
    "plate, batch 8": ("plate", 8),
    "plate, one well at a time": ("plate", 1),
    "vial": ("vial", 1),
}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    finals = [float(np.min(r["errors"])) for r in runs]
    rates = [r["per_hour"] for r in runs]
    found = [
        next((i + 1 for i, e in enumerate(np.minimum.accumulate(r["errors"])) if e < CLOSE), None)
        for r in runs
    ]
    return {
        "experiments_to_close": found,
        "curves": [np.minimum.accumulate(r["errors"]).tolist() for r in runs],
        "stopped": [r["stopped"] for r in runs if r["stopped"]],
        "per_hour": rates,
        "median_per_hour": float(np.median(rates)),
        "final_errors": finals,
        "median_final": float(np.median(finals)),
        "q25": float(np.percentile(finals, 25)),
        "q75": float(np.percentile(finals, 75)),
    }


def _proposal_times(quick: bool) -> list[dict[str, Any]]:
    rows = []
    for observations in (50, 200):
        for batch in (8, 24):
            if quick and observations == 200:
                continue
            measured = _in_fresh_process("ax", "plate", observations, batch, 1 if quick else 3)
            rows.append({"observations": observations, "batch": batch, **measured})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(quick: bool, plates_only: bool = False) -> dict[str, Any]:
    """Run the benchmark; ``plates_only``: the plate campaigns again, the vials' results
    and the proposal times kept from bench/results/plates.json."""
    seeds = range(1 if quick else 3)
    trials = 16 if quick else 48
    saved = json.loads((RESULTS / "plates.json").read_text()) if plates_only else {}
    configs = {k: c for k, c in CONFIGS.items() if not plates_only or c[0] == "plate"}
    with tempfile.TemporaryDirectory(prefix="sdl-bench-") as folder:
        results = {
            label: _summary([_run(kind, batch, s, trials, folder) for s in seeds])
            for label, (kind, batch) in configs.items()
        }
    if plates_only:
        results["vial"] = saved["results"]["vial"]
        times = saved["proposal_times"]
    else:
        times = _proposal_times(quick)
    _publish(results, times, len(seeds), trials)
    return {"results": results, "proposal_times": times}


def _publish(
    results: dict[str, Any],
    times: list[dict[str, Any]],
    seeds: int,
    trials: int,
    env: dict[str, Any] | None = None,
) -> None:
    vial = results["vial"]["median_per_hour"]

    def reached(s: dict[str, Any]) -> str:
        found = [n for n in s.get("experiments_to_close", []) if n is not None]
        runs = len(s.get("experiments_to_close", []))
        if not runs:
            return "–"
        return (
            f"{np.median(found):.0f} ({len(found)} of {runs} seeds)"
            if found
            else "not within the budget"
        )

    rows = [
        f"| {label} | {s['median_per_hour']:.1f} | {s['median_per_hour'] / vial:.1f}x | "
        f"{s['median_final']:.4f} ({s['q25']:.4f}-{s['q75']:.4f}) | {reached(s)} |"
        for label, s in results.items()
    ]
    proposal_rows = [
        f"| {t['observations']} | {t['batch']} | {t['seconds']:.2f} | {t['peak_mb']:.0f} |"
        for t in times
    ]
    table = (
        "## Plates\n\n"
        f"| campaign | experiments per lab hour (median) | vs vials | true colour error of the "
        f"best after {trials} experiments (median, quartiles) | experiments until within "
        f"{CLOSE:g} (median) |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n| observations | batch | proposal time (s) | peak memory (MB) |\n|---|---|---|---|\n"
        + "\n".join(proposal_rows)
    )
    notes = (
        f"{seeds} seeds per campaign, {trials} experiments each, with Ax (8 Sobol wells "
        "first on the plate, 6 vials), through the lab loop: the plate example (a liquid "
        "handler and a plate reader through PyLabRobot, simulated behind PyLabRobot's backend "
        "interfaces) and the vial example (arm and spectrometer on ptys, station over OPC "
        f"UA). Clock {CLOCK_SPEED:g}x for both. True error: the noise-free spectrum of the "
        "best recipe against its target: the vials the example's (made by heating a vial), "
        "the plates one made from a hidden well recipe (cyan 30, magenta 20, yellow 45 µL), "
        "so errors compare within plates (a batch of 8 against one well at a time), not "
        "across. Proposal time: Ax proposing a "
        "batch on the plate's space (3 dyes, their constraint) after the given number of "
        "observations, median of 3, a fresh process each. Goal: under 5 s for 8 at 200."
    )
    stops = [f"{k}: {why}" for k, s in results.items() for why in s["stopped"]]
    if stops:
        notes += " Runs that stopped early: " + "; ".join(stops) + "."
    publish(
        "plates",
        {
            "seeds": seeds,
            "trials": trials,
            "clock_speed": CLOCK_SPEED,
            "results": results,
            "proposal_times": times,
        },
        table,
        notes,
        env,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 16 experiments")
    parser.add_argument(
        "--plates-only", action="store_true", help="the plates again; vials and timings kept"
    )
    parser.add_argument(
        "--from-json", action="store_true", help="redraw the section from bench/results"
    )
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads((RESULTS / "plates.json").read_text())
        _publish(
            saved["results"],
            saved["proposal_times"],
            saved["seeds"],
            saved["trials"],
            saved["machine"],
        )
    else:
        main(args.quick, args.plates_only)
