"""Several synthesis stations: k = 1, 2 and 4 stations around one arm on the
colour-matching simulation, through the real lab loop, with the Ax planner proposing
whenever a station frees up (the trials still running count as pending).

Per k, over seeds: experiments per lab hour (from the first step reached to the last step
ended, read from the runs' step times) and the true colour error of the best trial so far
per experiment. The clock runs 20x: the planner's proposals (about a second of compute)
then count as 20 s of lab time, more than on real hardware, so the throughput of k > 1 is
if anything understated. Goal: k = 4 at least 3.6x the throughput of k = 1, with regret per
experiment no worse than sequential beyond seed noise.

    python -m bench.parallel_stations [--quick] [--from-json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench._colour import colour_problem, completed_points
from bench._lab import EXAMPLES
from bench._report import RESULTS, ROOT, publish

STATIONS = (1, 2, 4)
CLOCK_SPEED = 20.0
IMAGES = ROOT / "docs" / "img"


def lab_with_stations(folder: Path, stations: int, clock_speed: float) -> Path:
    """A copy of the example with the first ``stations`` of the four-station lab; the
    parallel campaign's file in it."""
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = yaml.safe_load((folder / "lab_parallel.yaml").read_text())
    kept = [n for n, d in lab["devices"].items() if d["kind"] == "synthesis_station"][:stations]
    lab["devices"] = {
        n: d for n, d in lab["devices"].items() if d["kind"] != "synthesis_station" or n in kept
    }
    lab["interlocks"] = {
        n: i for n, i in lab["interlocks"].items() if i["signal"].split(".")[0] in lab["devices"]
    }
    lab["simulation"]["clock_speed"] = clock_speed
    (folder / "lab_parallel.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    return folder / "campaign_parallel.yaml"


def _run(stations: int, seed: int, trials: int, folder: str) -> dict[str, Any]:
    """One campaign: its throughput and the true error of each completed trial."""
    from lab.api import run_campaign
    from lab.records.timeline import busy_share, campaign_spans, experiments_per_hour
    from lab.store import Store

    campaign = lab_with_stations(Path(folder) / f"k{stations}-s{seed}", stations, CLOCK_SPEED)
    store = campaign.parent / "store.sqlite"
    result = run_campaign(campaign, planner="ax", seed=seed, trials=trials, store=store)
    db = Store(store)
    try:
        spans = campaign_spans(db, "colour-match-parallel")
        points = completed_points(db, "colour-match-parallel")
    finally:
        db.close()
    truth = colour_problem().truth
    return {
        "stopped": result.stopped,
        "per_hour": experiments_per_hour(spans),
        "busy": busy_share(spans),
        "errors": [truth(p) for p in points],
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = [np.minimum.accumulate(np.asarray(r["errors"])) for r in runs]
    length = min(len(b) for b in best)
    curves = np.array([b[:length] for b in best])
    rates = [r["per_hour"] for r in runs]
    return {
        "stopped": [r["stopped"] for r in runs if r["stopped"]],
        "per_hour": rates,
        "median_per_hour": float(np.median(rates)),
        "busy": {
            d: float(np.median([r["busy"].get(d, 0.0) for r in runs])) for d in runs[0]["busy"]
        },
        "q25": np.percentile(curves, 25, axis=0).tolist(),
        "median": np.median(curves, axis=0).tolist(),
        "q75": np.percentile(curves, 75, axis=0).tolist(),
    }


def main(quick: bool) -> dict[str, Any]:
    seeds = range(1 if quick else 3)
    trials = 8 if quick else 20
    with (
        tempfile.TemporaryDirectory(prefix="sdl-bench-") as folder,
        # one campaign at a time: a second one's load slows the first's device I/O, which
        # the accelerated clock turns into lab time (and interlocks into stale readings)
        ProcessPoolExecutor(max_workers=1) as pool,
    ):
        futures = {(k, s): pool.submit(_run, k, s, trials, folder) for k in STATIONS for s in seeds}
        results = {str(k): _summary([futures[(k, s)].result() for s in seeds]) for k in STATIONS}
    _publish(results, len(seeds), trials)
    return results


def _plot(results: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, s in results.items():
        median = np.asarray(s["median"])
        trials = np.arange(1, median.size + 1)
        ax.plot(trials, median, label=f"{k} station{'s' if k != '1' else ''}")
        ax.fill_between(trials, s["q25"], s["q75"], alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("experiment")
    ax.set_ylabel("true colour error of the best trial (median, quartiles)")
    ax.set_title("regret per experiment, k stations in parallel")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "bench-parallel-regret.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _publish(
    results: dict[str, Any], seeds: int, trials: int, env: dict[str, Any] | None = None
) -> None:
    base = results["1"]["median_per_hour"]
    rows = [
        f"| {k} | {s['median_per_hour']:.1f} | {s['median_per_hour'] / base:.2f}x | "
        f"{s['median'][-1]:.4f} ({s['q25'][-1]:.4f}-{s['q75'][-1]:.4f}) | "
        + ", ".join(f"{d} {v:.0%}" for d, v in s["busy"].items())
        + " |"
        for k, s in results.items()
    ]
    table = (
        "## Parallel stations\n\n"
        f"| stations | experiments per lab hour (median) | vs 1 station | true error after "
        f"{trials} experiments (median, quartiles) | busy share per device |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n![regret](img/bench-parallel-regret.png)"
    )
    notes = (
        f"{seeds} seeds per k, {trials} experiments each, the colour-matching campaign run "
        "through the lab loop (arm and spectrometer on ptys, every station its own OPC UA "
        f"server), the Ax planner proposing one trial whenever a station frees up; clock "
        f"{CLOCK_SPEED:g}x, so a proposal's compute counts {CLOCK_SPEED:g} times over in lab "
        "time. Throughput from the runs' own step times (first step reached to last ended). "
        "Goal: k = 4 at least 3.6x k = 1; regret per experiment no worse than sequential "
        "beyond seed noise."
    )
    stops = [f"{k} stations: {why}" for k, s in results.items() for why in s["stopped"]]
    if stops:
        notes += " Runs that stopped early (their curves end there): " + "; ".join(stops) + "."
    _plot(results)
    publish(
        "parallel_stations",
        {"seeds": seeds, "trials": trials, "clock_speed": CLOCK_SPEED, "results": results},
        table,
        notes,
        env,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 8 experiments")
    parser.add_argument(
        "--from-json", action="store_true", help="redraw the section from bench/results"
    )
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads((RESULTS / "parallel_stations.json").read_text())
        _publish(saved["results"], saved["seeds"], saved["trials"], saved["machine"])
    else:
        main(args.quick)
