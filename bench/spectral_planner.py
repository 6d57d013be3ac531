"""Whether modelling the whole spectrum pays: the spectral planner (composite BO) against
our Ax planner, plain default Ax and Sobol on the colour-matching simulation, run through
the real lab loop, for two targets (the example's, and one where the cyan-yellow
complex's band is strong).

Per target and planner, over seeds: the true colour error (the noise-free chemistry at
the parameters run, against the target) of the best trial so far, per trial number, as
median and quartiles; the trials needed to reach a true error of 0.02 and of 0.01; and
the spectral planner's proposal time at 50 observations. Goals: median true error <= 0.01
within 20 trials; at most a third of the Ax planner's trials to reach 0.02; under 2 s per
proposal at 50 observations on 2 cores.

    python -m bench.spectral_planner [--quick] [--from-json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench._colour import RECIPES, colour_problem, run_in_lab, true_spectrum
from bench._report import RESULTS, ROOT, publish

PLANNERS = ("spectral", "ax", "ax-default", "sobol")
TARGETS = tuple(RECIPES)
LEVELS = (0.02, 0.01)
TRIALS = 25
IMAGES = ROOT / "docs" / "img"


def _true_errors(target: str, planner: str, seed: int, folder: str) -> list[float]:
    """The true error of each completed trial, in order."""
    import torch

    torch.set_num_threads(1)  # two workers share the two cores
    problem = colour_problem(target)
    points = run_in_lab(Path(folder), planner, seed, TRIALS, target)
    return [problem.truth(p) for p in points]


def _summary(runs: list[list[float]]) -> dict[str, Any]:
    best = [np.minimum.accumulate(np.asarray(r)) for r in runs]
    length = min(len(b) for b in best)
    curves = np.array([b[:length] for b in best])
    needed = {
        str(level): [next((i + 1 for i, v in enumerate(b) if v <= level), None) for b in best]
        for level in LEVELS
    }
    return {
        "q25": np.percentile(curves, 25, axis=0).tolist(),
        "median": np.median(curves, axis=0).tolist(),
        "q75": np.percentile(curves, 75, axis=0).tolist(),
        "needed": needed,
        "median_needed": {k: _censored_median(v) for k, v in needed.items()},
    }


def _censored_median(needed: list[int | None]) -> float | None:
    values = sorted(np.inf if n is None else n for n in needed)
    middle = float(np.median(values))
    return None if np.isinf(middle) else middle


def proposal_seconds(observations: int = 50, repeats: int = 5) -> list[float]:
    """The spectral planner's proposal times after ``observations`` spectra of Sobol
    points (the example chemistry with the detector's noise level)."""
    from bench._colour import colour_problem as problem_of
    from lab.files.campaign_file import read_target
    from planners import Measurement, Objective, SobolPlanner, SpectralDistance
    from planners.spectral import SpectralPlanner
    from simulators import WAVELENGTHS_NM

    space = problem_of().space
    wl, target = read_target(
        Path(__file__).parent.parent / "examples/colour_match/target_spectrum.csv"
    )
    objective = SpectralDistance(wl, target)
    planner = SpectralPlanner(space, [Objective("colour_error", True, objective)], seed=0)
    rng = np.random.default_rng(0)

    def measured(parameters: Any) -> tuple[dict[str, float], Measurement]:
        spectrum = true_spectrum(space.magnitudes(parameters))
        m = Measurement(WAVELENGTHS_NM, spectrum + rng.normal(0, 0.002, spectrum.size), parameters)
        return {"colour_error": objective(m)}, m

    for s in SobolPlanner(space, [Objective("colour_error")], seed=1).ask(observations):
        outcomes, m = measured(s.parameters)
        planner.replay(s.parameters, outcomes, measurement=m)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [s] = planner.ask(1)
        times.append(time.perf_counter() - start)
        outcomes, m = measured(s.parameters)
        planner.tell(s.index, outcomes, m)
    return times


def main(quick: bool) -> dict[str, Any]:
    seeds = range(3 if quick else 10)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="sdl-bench-") as folder,
        ProcessPoolExecutor(max_workers=2) as pool,
    ):
        futures = {
            (t, p, s): pool.submit(_true_errors, t, p, s, folder)
            for t in TARGETS
            for p in PLANNERS
            for s in seeds
        }
        for t in TARGETS:
            results[t] = {
                p: _summary([futures[(t, p, s)].result() for s in seeds]) for p in PLANNERS
            }
            print(t, {p: r["median_needed"] for p, r in results[t].items()}, flush=True)
    os.environ.pop("OMP_NUM_THREADS", None)
    seconds = proposal_seconds()
    _publish(results, len(seeds), seconds)
    return results


def _plot(target: str, result: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for planner, s in result.items():
        median = np.asarray(s["median"])
        trials = np.arange(1, median.size + 1)
        ax.plot(trials, median, label=planner)
        ax.fill_between(trials, s["q25"], s["q75"], alpha=0.15)
    for level in LEVELS:
        ax.axhline(level, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("true colour error of the best trial (median, quartiles)")
    ax.set_title(f"colour matching, {target} target")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"bench-spectral-{target}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _count(value: float | None) -> str:
    return f"> {TRIALS}" if value is None else f"{value:g}"


def _publish(
    results: dict[str, Any], seeds: int, seconds: list[float], env: dict[str, Any] | None = None
) -> None:
    rows = []
    for t, r in results.items():
        for planner, s in r.items():
            at20 = s["median"][min(19, len(s["median"]) - 1)]
            rows.append(
                f"| {t} | {planner} | {_count(s['median_needed']['0.02'])} | "
                f"{_count(s['median_needed']['0.01'])} | {at20:.4f} | {s['median'][-1]:.4f} |"
            )
    table = (
        "## Spectral planner (composite BO)\n\n"
        "| target | planner | trials to 0.02 (median) | trials to 0.01 (median) | true error "
        "at trial 20 (median) | at trial 25 |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nSpectral planner's proposal at 50 observations: "
        + ", ".join(f"{x:.2f} s" for x in seconds)
        + f" ({len(seconds)} proposals in a row, alone on the machine: the first fits the "
        "model from scratch, as after a resume; the later ones start from its last "
        "hyperparameters).\n\n" + "\n".join(f"![{t}](img/bench-spectral-{t}.png)" for t in results)
    )
    notes = (
        f"{seeds} seeds per planner and target, {TRIALS} trials each, run through the lab "
        "loop (arm and spectrometer on ptys, station over OPC UA); the planners saw the "
        "measured (noisy) spectra and errors; the score is the true error of the best trial "
        "so far (noise-free chemistry at the parameters run). `> 25`: most seeds did not "
        "get there. Targets: the example's hidden recipe, and cyan 2.2, magenta 0.3, yellow "
        "2.4 mL at 78 degC (the complex's band strong). Goals: median true error <= 0.01 "
        "within 20 trials; at most a third of the Ax planner's trials to 0.02; a proposal "
        "under 2 s at 50 observations."
    )
    for t, r in results.items():
        _plot(t, r)
    publish(
        "spectral_planner",
        {"seeds": seeds, "results": results, "proposal_seconds": seconds},
        table,
        notes,
        env,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three seeds, not ten")
    parser.add_argument(
        "--from-json", action="store_true", help="redraw from bench/results (no new runs)"
    )
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads((RESULTS / "spectral_planner.json").read_text())
        _publish(saved["results"], saved["seeds"], saved["proposal_seconds"], saved["machine"])
    else:
        main(args.quick)
