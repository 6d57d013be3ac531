"""Several synthesis stations: k = 1, 2 and 4 stations around one arm on the
colour-matching simulation, through the real lab loop, the Ax planner in a process of its
own proposing ahead (the next trial is proposed while the stations work, the running trials
pending); with
*overlap*, each station also taking its next trial once the last one's vial has left it;
and one station proposing only after each result, the loop as it was, for the cost of
proposing ahead in regret.

Per configuration, over seeds: experiments per lab hour (from the first step reached to
the last step ended, read from the runs' step times), where each device's lab time went
(busy, waiting for a resource, waiting for software, idle; see ``lab.records.time_use``),
the bottleneck's busy share, and the true colour error of the best trial so far per
experiment. The clock runs 50x: a proposal's second of compute counts as 50 s of lab
time, so a lab that waits for its software shows it. Proposing ahead, which results a
proposal has seen depends on the wall clock (which trial ends first, whether a result
came in before the proposal began), so seed 0 is run twice on one and on four stations
to bound that against the spread between seeds. Goal: k = 4 at least 3.6x the throughput of k = 1, the bottleneck busy at
least 85% of the time, regret per experiment no worse than sequential beyond seed noise.

    python -m bench.parallel_stations [--quick] [--from-json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench._colour import colour_problem, completed_points
from bench._lab import EXAMPLES
from bench._report import RESULTS, ROOT, publish

#: label -> (stations, propose ahead, overlap, planner); Sobol's proposals take next to no
#: time, so its row is what four stations give when the lab never waits for its software;
#: overlap: a station takes its next trial once the last one's vial has left it
CONFIGURATIONS = {
    "1, after each result": (1, False, False, "ax"),
    "1": (1, True, False, "ax"),
    "1, overlap": (1, True, True, "ax"),
    "2": (2, True, False, "ax"),
    "4": (4, True, False, "ax"),
    "4, overlap": (4, True, True, "ax"),
    "4, Sobol": (4, True, False, "sobol"),
}
CLOCK_SPEED = 50.0
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


def _run(
    stations: int, ahead: bool, overlap: bool, planner: str, seed: int, trials: int, folder: str
) -> dict[str, Any]:
    """One campaign: its throughput, where its time went and the true error of each
    completed trial."""
    from lab.api import run_campaign
    from lab.records.time_use import account
    from lab.records.timeline import campaign_spans
    from lab.store import Store

    tag = f"k{stations}{'' if ahead else '-after'}{'-overlap' if overlap else ''}-{planner}-s{seed}"
    for n in range(100):  # the same seed may run twice
        if not (Path(folder) / f"{tag}-{n}").exists():
            break
    campaign = lab_with_stations(Path(folder) / f"{tag}-{n}", stations, CLOCK_SPEED)
    settings = yaml.safe_load(campaign.read_text())
    settings["planner"]["propose_ahead"] = ahead
    settings["overlap"] = overlap
    campaign.write_text(yaml.safe_dump(settings, sort_keys=False))
    store = campaign.parent / "store.sqlite"
    result = run_campaign(campaign, planner=planner, seed=seed, trials=trials, store=store)
    db = Store(store)
    try:
        spans = campaign_spans(db, "colour-match-parallel")
        points = completed_points(db, "colour-match-parallel")
    finally:
        db.close()
    truth = colour_problem().truth
    used = account(spans)
    return {
        "stopped": result.stopped,
        "per_hour": used.experiments_per_hour,
        "time_use": {u.device: asdict(u) for u in used.devices},
        "bottleneck": max(u.busy for u in used.devices),
        "errors": [truth(p) for p in points],
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = [np.minimum.accumulate(np.asarray(r["errors"])) for r in runs]
    length = min(len(b) for b in best)
    curves = np.array([b[:length] for b in best])
    rates = [r["per_hour"] for r in runs]
    shares = ("busy", "waiting_resource", "waiting_software", "idle")
    devices = runs[0]["time_use"]
    return {
        "stopped": [r["stopped"] for r in runs if r["stopped"]],
        "per_hour": rates,
        "median_per_hour": float(np.median(rates)),
        "per_hour_q25": float(np.percentile(rates, 25)),
        "per_hour_q75": float(np.percentile(rates, 75)),
        "bottleneck": [r["bottleneck"] for r in runs],
        "median_bottleneck": float(np.median([r["bottleneck"] for r in runs])),
        "time_use": {
            d: {k: float(np.median([r["time_use"][d][k] for r in runs])) for k in shares}
            for d in devices
        },
        "final_errors": [float(c[-1]) for c in curves],
        "q25": np.percentile(curves, 25, axis=0).tolist(),
        "median": np.median(curves, axis=0).tolist(),
        "q75": np.percentile(curves, 75, axis=0).tolist(),
    }


def main(quick: bool) -> dict[str, Any]:
    seeds = range(1 if quick else 10)
    trials = 6 if quick else 12
    with (
        tempfile.TemporaryDirectory(prefix="sdl-bench-") as folder,
        # one campaign at a time: a second one's load slows the first's device I/O, which
        # the accelerated clock turns into lab time (and interlocks into stale readings);
        # each in a fresh process, so that none inherits what an earlier one left running
        ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1) as pool,
    ):
        futures = {
            (label, s): pool.submit(_run, *CONFIGURATIONS[label], s, trials, folder)
            for label in CONFIGURATIONS
            for s in seeds
        }
        again = {
            label: pool.submit(_run, *CONFIGURATIONS[label], 0, trials, folder)
            for label in ("1, overlap", "4")
        }
        results = {
            label: _summary([futures[(label, s)].result() for s in seeds])
            for label in CONFIGURATIONS
        }
        twice = {k: [futures[(k, 0)].result(), again[k].result()] for k in again}
    repeat = {
        k: {
            "per_hour": [r["per_hour"] for r in runs],
            "final_error": [min(r["errors"]) for r in runs],
        }
        for k, runs in twice.items()
    }
    _publish(results, len(seeds), trials, repeat)
    return results


def _plot(results: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, s in results.items():
        k, _, how = label.partition(",")
        median = np.asarray(s["median"])
        trials = np.arange(1, median.size + 1)
        ax.plot(trials, median, label=f"{k} station{'s' if k != '1' else ''}{how and ',' + how}")
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
    results: dict[str, Any],
    seeds: int,
    trials: int,
    repeat: dict[str, Any],
    env: dict[str, Any] | None = None,
) -> None:
    base = results["1"]["median_per_hour"]

    def row(label: str, s: dict[str, Any]) -> str:
        stations = {d: u for d, u in s["time_use"].items() if d.startswith("station")}
        neck = max(s["time_use"], key=lambda d: s["time_use"][d]["busy"])
        waiting = np.median([u["waiting_software"] for u in stations.values()])
        return (
            f"| {label} | {s['median_per_hour']:.1f} ({s['per_hour_q25']:.1f}-"
            f"{s['per_hour_q75']:.1f}) | {s['median_per_hour'] / base:.2f}x | "
            f"{neck} {s['median_bottleneck']:.0%} | arm {s['time_use']['arm']['busy']:.0%} | "
            f"{waiting:.0%} | {s['median'][-1]:.4f} ({s['q25'][-1]:.4f}-{s['q75'][-1]:.4f}) |"
        )

    table = (
        "## Parallel stations\n\n"
        "| stations | experiments per lab hour (median, quartiles) | vs 1 station | bottleneck "
        "busy (median) | arm busy | a station waiting for software | true error after "
        f"{trials} experiments (median, quartiles) |\n"
        "|---|---|---|---|---|---|---|\n"
        + "\n".join(row(label, s) for label, s in results.items())
        + "\n\n![regret](img/bench-parallel-regret.png)"
    )
    notes = (
        f"{seeds} seeds per configuration, {trials} experiments each, the colour-matching "
        "campaign run through the lab loop (arm and spectrometer on ptys, every station its "
        "own OPC UA server), the Ax planner in a process of its own (the example's "
        "`planner: {own_process: true}`) proposing ahead (the next trial proposed while the "
        "stations work, the running trials pending; *overlap*: each station also taking its "
        "next trial as soon as the last one's vial has left it, the campaign's `overlap: "
        "true`; *1, after each result*: proposing only once the trial before has ended, as "
        "the loop did before; *4, Sobol*: Sobol's "
        "proposals, which take next to no time, in place of the Ax planner's: what four "
        "stations give when the lab never waits for its software, its error a baseline's); "
        f"clock {CLOCK_SPEED:g}x, so a proposal's compute counts {CLOCK_SPEED:g} times over "
        "in lab time; each campaign in a fresh process, one at a time. Throughput from the "
        "runs' own step times (first step reached to last ended, so with four stations and "
        f"{trials} experiments the first round's start and the last round's stations "
        "finishing one by one weigh in); busy shares from the same times (`lab campaign "
        "show` gives them per campaign): a station is busy while its steps run and while "
        "its block reaches the next trial's start temperature before the vial comes. With "
        "one station proposing after each result a seed repeats itself exactly; proposing "
        "ahead, which results a proposal has seen depends on the wall clock. Seed 0, run "
        "twice: "
        + "; ".join(
            f"*{k}* {r['per_hour'][0]:.1f} and "
            f"{r['per_hour'][1]:.1f} experiments per lab hour, a final error of "
            f"{r['final_error'][0]:.4f} and {r['final_error'][1]:.4f}"
            for k, r in repeat.items()
        )
        + ". Goal: k = 4 at least 3.6x k = 1, the bottleneck "
        "busy at least 85%, regret per experiment no worse than sequential beyond seed noise."
    )
    stops = [f"{k}: {why}" for k, s in results.items() for why in s["stopped"]]
    if stops:
        notes += " Runs that stopped early (their curves end there): " + "; ".join(stops) + "."
    _plot(results)
    publish(
        "parallel_stations",
        {
            "seeds": seeds,
            "trials": trials,
            "clock_speed": CLOCK_SPEED,
            "results": results,
            "repeat": repeat,
        },
        table,
        notes,
        env,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 6 experiments")
    parser.add_argument(
        "--from-json", action="store_true", help="redraw the section from bench/results"
    )
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads((RESULTS / "parallel_stations.json").read_text())
        _publish(
            saved["results"], saved["seeds"], saved["trials"], saved["repeat"], saved["machine"]
        )
    else:
        main(args.quick)
