"""How few experiments each planner needs: our planner (``ax``), plain default Ax
(``ax-default``), the peers' defaults (``baybe``, ``bofire``: BayBE's and BoFire's
Bayesian optimisers, in an environment of their own, see ``bench.peers``), Sobol and
random on Branin, Hartmann6, the SnAr kinetics simulation and the colour-matching
simulation run through the real lab loop (the peers not there: they are not planners of
the lab); with ``--mixed``, on spaces
of choices and numbers (two published reaction data sets and the SnAr twin with a choice
of amine, see ``bench._mixed_problems``), ours also without the choices' descriptors
(``ax-no-descriptors``), against random (goal: at most a third of its trials).

Per problem and planner, over seeds: the simple regret per trial (the truth of the best
point tried so far, minus the optimum) as median and quartiles; the trials needed to come
95% of the way from a typical random point to the optimum; and that count over Sobol's.
Sobol and random do not learn, so they are also run on past the model planners' budget
(up to 500 trials) to find their count; and each planner's seconds per proposal once its
model is in use (after the first six trials). Goal: at most a third of Sobol's trials on
every problem; ours at least as efficient as the best peer, and faster per proposal.

    python -m bench.planner_efficiency [--quick] [--problems colour snar ...] [--mixed]
        [--planners ax baybe ...]
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

from bench._report import RESULTS, ROOT, publish
from bench.peers import PEERS, PeerPlanner, peer_versions

PLANNERS = ("ax", "ax-default", "sobol", "random")
#: trials before a planner's model is in use: proposals timed from here on
MODELLED_FROM = 6
BASELINE_TRIALS = 500
PROBLEM_NAMES = ("branin", "hartmann6", "snar", "colour")
MIXED_NAMES = ("suzuki", "cn_coupling", "amine_snar")
MIXED_PLANNERS = ("ax", "ax-no-descriptors", "ax-default", "sobol", "random")
IMAGES = ROOT / "docs" / "img"


def _problem(name: str) -> Any:
    if name == "colour":
        from bench._colour import colour_problem

        return colour_problem()
    from bench._problems import PROBLEMS

    return PROBLEMS[name]()


def _trial_values(problem_name: str, planner_name: str, seed: int, folder: str) -> dict[str, Any]:
    """The truth of each completed trial, in order, for one planner and seed, and the
    seconds each proposal took (none for the lab's own run)."""
    import torch

    torch.set_num_threads(1)  # two workers share the two cores
    from planners import Objective, planner_class

    problem = _problem(problem_name)
    if planner_name in PEERS:
        return _peer_values(problem, planner_name, seed)
    baseline = planner_name in ("sobol", "random")
    budget = BASELINE_TRIALS if baseline else problem.budget
    points: list[dict[str, float | str]] = []
    if problem_name == "colour":
        from bench._colour import run_in_lab

        points = run_in_lab(Path(folder), planner_name, seed, problem.budget)
        if not baseline:  # what the lab ran is the whole record
            return {"values": [problem.truth(p) for p in points], "seconds": []}
        budget -= len(points)
    cls = planner_class("ax" if planner_name == "ax-no-descriptors" else planner_name)
    # ours as a user gets it; default Ax after as many space-filling trials as the peers'
    kwargs: dict[str, Any] = {"initialization_trials": 6} if planner_name == "ax-default" else {}
    if planner_name == "ax-no-descriptors":
        kwargs["descriptors"] = False
    planner = cls(problem.space, [Objective("y", problem.minimize)], seed=seed, **kwargs)
    for _ in range(len(points)):  # a baseline's stream past what the lab ran
        suggestion = planner.ask(1)[0]
        planner.tell(suggestion.index, {"y": 0.0})
    seconds = []
    for _ in range(budget):
        started = time.perf_counter()
        suggestion = planner.ask(1)[0]
        seconds.append(time.perf_counter() - started)
        values = problem.space.magnitudes(suggestion.parameters)
        planner.tell(suggestion.index, {"y": problem.truth(values)})
        points.append(values)
    return {"values": [problem.truth(p) for p in points], "seconds": seconds}


def _peer_values(problem: Any, name: str, seed: int) -> dict[str, Any]:
    """A peer's run on ``problem``: each point's truth, and its seconds per proposal."""
    peer = PeerPlanner(name, problem.space, problem.minimize, seed, MODELLED_FROM)
    try:
        values = []
        for _ in range(problem.budget):
            point = peer.ask()
            values.append(problem.truth(point))
            peer.tell(point, values[-1])
    finally:
        peer.close()
    return {"values": values, "seconds": peer.seconds}


def _summary(problem: Any, results: list[dict[str, Any]]) -> dict[str, Any]:
    sign = 1.0 if problem.minimize else -1.0
    runs = [r["values"] for r in results]
    modelled = [t for r in results for t in r["seconds"][MODELLED_FROM:]]
    best = [sign * np.minimum.accumulate(sign * np.asarray(r)) for r in runs]
    length = min(len(b) for b in best)
    regret = np.array([[problem.regret(v) for v in b[:length]] for b in best])
    needed = []
    for b in best:
        hit = next((i + 1 for i, v in enumerate(b) if problem.reached(v)), None)
        needed.append(hit)
    return {
        "regret_q25": np.percentile(regret, 25, axis=0).tolist(),
        "regret_median": np.median(regret, axis=0).tolist(),
        "regret_q75": np.percentile(regret, 75, axis=0).tolist(),
        "trials_to_95": needed,
        "median_trials_to_95": _censored_median(needed),
        "seconds_per_proposal": float(np.median(modelled)) if modelled else None,
    }


def _censored_median(needed: list[int | None]) -> float | None:
    """The median count, None when more than half the seeds never got there."""
    values = sorted(np.inf if n is None else n for n in needed)
    middle = float(np.median(values))
    return None if np.isinf(middle) else middle


def _plot(name: str, result: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for planner, s in result["planners"].items():
        median = np.asarray(s["regret_median"])[: result["budget"]]
        trials = np.arange(1, median.size + 1)
        ax.plot(trials, median, label=planner)
        ax.fill_between(
            trials,
            np.asarray(s["regret_q25"])[: median.size],
            np.asarray(s["regret_q75"])[: median.size],
            alpha=0.15,
        )
    threshold = 0.05 * abs(result["typical"] - result["optimum"])
    ax.axhline(threshold, color="grey", linestyle=":", label="95% of the way")
    ax.set_yscale("symlog", linthresh=max(threshold / 10, 1e-4))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("trial")
    ax.set_ylabel("simple regret (median, quartiles)")
    ax.set_title(f"{name}: regret of the best trial so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"bench-regret-{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _count(value: float | None, budget: int) -> str:
    return f"> {budget}" if value is None else f"{value:g}"


def _planners(problem: str) -> tuple[str, ...]:
    if problem == "colour":
        return PLANNERS
    if problem not in MIXED_NAMES:
        return PLANNERS + PEERS
    described = any(getattr(p, "descriptors", None) for p in _problem(problem).space.parameters)
    return MIXED_PLANNERS if described else tuple(p for p in MIXED_PLANNERS if "-no-" not in p)


def main(
    quick: bool,
    problems: tuple[str, ...] = PROBLEM_NAMES,
    planners: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Run the bench; with ``planners``, only those (the others, and the problems not
    run, keep their results from the last run with as many seeds)."""
    seeds = range(3 if quick else 10)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mixed = set(problems) <= set(MIXED_NAMES)
    saved = RESULTS / ("planner_efficiency_mixed.json" if mixed else "planner_efficiency.json")
    last = json.loads(saved.read_text()) if saved.exists() else {}
    earlier: dict[str, Any] = last["results"] if last.get("seeds") == len(seeds) else {}
    if planners is not None and not all(p in earlier for p in problems):
        raise SystemExit(f"no earlier run of {len(seeds)} seeds to keep the other planners of")

    def wanted(p: str) -> tuple[str, ...]:
        return tuple(x for x in _planners(p) if planners is None or x in planners)

    results: dict[str, Any] = dict(earlier)
    with (
        tempfile.TemporaryDirectory(prefix="sdl-bench-") as folder,
        ProcessPoolExecutor(max_workers=2) as pool,
    ):
        futures = {
            (p, planner, seed): pool.submit(_trial_values, p, planner, seed, folder)
            for p in problems
            for planner in wanted(p)
            for seed in seeds
        }
        for p in problems:
            problem = _problem(p)
            summaries = dict(earlier.get(p, {}).get("planners", {}))
            summaries.update(
                {
                    planner: _summary(problem, [futures[(p, planner, s)].result() for s in seeds])
                    for planner in wanted(p)
                }
            )
            results[p] = {
                "optimum": problem.optimum,
                "typical": problem.typical,
                "budget": problem.budget,
                "planners": {x: summaries[x] for x in _planners(p) if x in summaries},
            }
            print(p, {k: v["median_trials_to_95"] for k, v in summaries.items()}, flush=True)
    if mixed:
        _publish_mixed(results, len(seeds))
    else:
        _publish(results, len(seeds))
    return results


def _publish_mixed(results: dict[str, Any], seeds: int, env: dict[str, Any] | None = None) -> None:
    for p, r in results.items():
        _plot(p, r)
    rows = []
    for p, r in results.items():
        random = r["planners"]["random"]["median_trials_to_95"]
        for planner, s in r["planners"].items():
            budget = BASELINE_TRIALS if planner in ("sobol", "random") else r["budget"]
            ours = s["median_trials_to_95"]
            reached = sum(n is not None for n in s["trials_to_95"])
            if ours is None:
                ratio = "-"
            elif random is None:
                ratio = f"< {ours / BASELINE_TRIALS:.2f}"
            else:
                ratio = f"{ours / random:.2f}"
            final = s["regret_median"][r["budget"] - 1]
            rows.append(
                f"| {p} | {planner} | {_count(ours, budget)} | {reached}/{seeds} | {ratio} | "
                f"{final:.3g} |"
            )
    table = (
        "## Planner efficiency on choices and numbers\n\n"
        "| problem | planner | trials to 95% (median) | seeds that got there | ratio to "
        "random | median regret at the budget |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"![{p}](img/bench-regret-{p}.png)" for p in results)
    )
    notes = (
        f"{seeds} seeds per planner; yields in %. *suzuki*: Reizman et al. 2016, case 1 "
        "(8 catalysts, residence time, temperature, loading); *cn_coupling*: Baumgartner "
        "et al. 2019 (3 catalysts, 4 bases with descriptors pKa in MeCN and molar mass, "
        "base equivalents at 3 levels, temperature, residence time), both scored by a GP "
        "emulator fitted to the 96 measured yields Summit ships; *amine_snar*: the lab's "
        "SnAr twin with a choice of amine (descriptors: Mayr N, pKa). `ax`: ours, the "
        "choices kept as choices and modelled by their descriptors where given; "
        "`ax-no-descriptors`: ours with a categorical kernel only; `ax-default`: Ax as it "
        "comes (one-hot choices relaxed to a continuum). Model planners get 30 trials, "
        f"Sobol and random {BASELINE_TRIALS}. Goal: at most a third of random's trials; "
        "descriptors no worse than without."
    )
    publish("planner_efficiency_mixed", {"seeds": seeds, "results": results}, table, notes, env)


def _publish(
    results: dict[str, Any],
    seeds: int,
    env: dict[str, Any] | None = None,
    peers: dict[str, str] | None = None,
) -> None:
    peers = peers if peers is not None else peer_versions()
    for p, r in results.items():
        _plot(p, r)
    rows = []
    for p, r in results.items():
        sobol = r["planners"]["sobol"]["median_trials_to_95"]
        for planner, s in r["planners"].items():
            budget = BASELINE_TRIALS if planner in ("sobol", "random") else r["budget"]
            ours = s["median_trials_to_95"]
            if ours is None:
                ratio = "-"
            elif sobol is None:  # Sobol did not get there at all
                ratio = f"< {ours / BASELINE_TRIALS:.2f}"
            else:
                ratio = f"{ours / sobol:.2f}"
            final = s["regret_median"][r["budget"] - 1]
            per = s.get("seconds_per_proposal")
            speed = "-" if per is None or planner in ("sobol", "random") else f"{per:.2f}"
            rows.append(
                f"| {p} | {planner} | {_count(ours, budget)} | {ratio} | {final:.3g} | {speed} |"
            )
    table = (
        "## Planner efficiency\n\n"
        "| problem | planner | trials to 95% (median) | ratio to Sobol | median regret at "
        "the budget | seconds per proposal (median, from trial 7) |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"![{p}](img/bench-regret-{p}.png)" for p in results)
    )
    notes = (
        f"{seeds} seeds per planner. *Trials to 95%*: the first trial whose best-so-far "
        "truth is 95% of the way from a typical point (the median over random feasible "
        "points) to the optimum; `> N` when most seeds did not get there within N trials. "
        "Budgets: Branin 25, Hartmann6 50, SnAr 30, colour 25 trials for the model planners, "
        f"{BASELINE_TRIALS} for Sobol and random. Regret is of the noise-free truth; on the "
        "colour problem the planners saw the measured (noisy) error from the simulated "
        "spectrometer, through the lab loop (arm, station over OPC UA, spectrometer on a "
        "pty), and Sobol and random were continued past the lab run on their own "
        "proposal stream. *baybe*, *bofire*: BayBE's default campaign (its two-phase "
        "recommender: a random point, then its Bayesian optimiser) and BoFire's "
        f"`SoboStrategy` after {MODELLED_FROM} points of its random strategy, as each comes, "
        f"in an environment of their own ({', '.join(f'{k} {v}' for k, v in peers.items())}); "
        "not on the colour problem, which runs through the lab. Seconds per proposal "
        "from trial 7 on, the median over every seed (on the colour problem, proposals in "
        "the lab loop are not timed). Goal: at most a third of Sobol's trials on every "
        "problem; ours at least as efficient as the best peer, and faster per proposal."
    )
    publish(
        "planner_efficiency",
        {"seeds": seeds, "results": results, "peers": peers},
        table,
        notes,
        env,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three seeds, not ten")
    parser.add_argument("--problems", nargs="+", choices=PROBLEM_NAMES + MIXED_NAMES)
    parser.add_argument(
        "--planners",
        nargs="+",
        choices=PLANNERS + PEERS + MIXED_PLANNERS,
        help="run only these; the others keep their results from the last run",
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="the problems with choices (suzuki, cn_coupling, amine_snar)",
    )
    parser.add_argument(
        "--from-json",
        action="store_true",
        help="redraw the plots and the docs section from bench/results (no new runs)",
    )
    args = parser.parse_args()
    chosen = tuple(args.problems or (MIXED_NAMES if args.mixed else PROBLEM_NAMES))
    if args.from_json:
        name = "planner_efficiency_mixed" if args.mixed else "planner_efficiency"
        saved = json.loads((RESULTS / f"{name}.json").read_text())
        if args.mixed:
            _publish_mixed(saved["results"], saved["seeds"], saved["machine"])
        else:
            _publish(saved["results"], saved["seeds"], saved["machine"], saved.get("peers", {}))
    else:
        main(args.quick, chosen, tuple(args.planners) if args.planners else None)
