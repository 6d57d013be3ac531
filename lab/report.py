"""What a scientist reads after a campaign: a summary table and plots next to the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table

from devices import parse_quantity
from lab.campaign_config import CampaignConfig, read_target
from lab.measurement import measurement_from_documents
from lab.store import Store, TrialRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def summary_table(name: str, records: list[TrialRecord], best: set[int]) -> Table:
    """One row a trial, one column a parameter or outcome; the best row in green."""
    table = Table(title=f"campaign {name}: {len(records)} trials", title_justify="left")
    params = list(records[0].parameters) if records else []
    outcomes = sorted({k for r in records for k in (r.outcomes or {})}) or ["outcome"]
    units = {k: f"{parse_quantity(records[0].parameters[k]).units:~P}" for k in params}
    table.add_column("#", justify="right")
    for k in params:
        table.add_column(f"{k} ({units[k]})", justify="right")
    for k in outcomes:
        table.add_column(k, justify="right")
    table.add_column("by")
    for r in records:
        values = [_number(parse_quantity(r.parameters[k]).m) for k in params]
        if r.outcomes:
            results = [f"{r.outcomes[k]:.4g}" for k in outcomes]
        else:
            results = ["[red]failed[/red]"] + [""] * (len(outcomes) - 1)
        style = "bold green" if r.idx in best else None
        table.add_row(str(r.idx), *values, *results, r.planner.split("/")[-1], style=style)
    return table


def _number(x: float) -> str:
    """3 significant digits; planners' round-off (1e-17 mL) shows as 0."""
    return "0" if abs(x) < 1e-9 else f"{x:.3g}"


def best_so_far(records: list[TrialRecord], objective: str, minimize: bool) -> np.ndarray:
    """The best outcome after each trial (failed trials keep the best before them)."""
    values = [r.outcomes[objective] if r.outcomes else np.nan for r in records]
    running, out = np.nan, []
    for v in values:
        if not np.isnan(v) and (np.isnan(running) or (v < running if minimize else v > running)):
            running = v
        out.append(running)
    return np.array(out)


def _figure() -> tuple[Figure, Axes]:
    """A figure drawn straight to a file (Agg), whatever backend the user's session has:
    no pyplot, so importing the lab changes nothing in a notebook."""
    from matplotlib.figure import Figure  # only when a plot is drawn: the CLI starts fast

    fig = Figure(figsize=(6, 4))
    return fig, fig.add_subplot()


def _save(fig: Figure, ax: Axes, path: Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    if ax.get_xlabel() == "trial":  # trials are counted, never halved
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def write_plots(
    store: Store,
    campaign: CampaignConfig,
    out_dir: Path,
    spectrometer: str,
    best: TrialRecord | None,
) -> list[Path]:
    """``<campaign>-best_so_far.png`` and, for a spectral target,
    ``<campaign>-best_spectrum.png``: named after the campaign, so two campaigns beside one
    another keep their own."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = store.trials(campaign.name)
    written = []
    objective = campaign.objectives[0]
    curve = best_so_far(records, objective.name, objective.minimize)
    fig, ax = _figure()
    trial = [r.idx for r in records]
    raw = [r.outcomes[objective.name] if r.outcomes else np.nan for r in records]
    ax.plot(trial, raw, "o", color="0.6", label="each trial")
    ax.step(trial, curve, where="post", color="C0", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective.name + (" (lower is better)" if objective.minimize else ""))
    ax.set_title(f"{campaign.name}: best {objective.name} so far")
    written.append(_save(fig, ax, out_dir / f"{campaign.name}-best_so_far.png"))

    spectral = next((o for o in campaign.objectives if o.kind == "spectral_distance"), None)
    if spectral is not None and best is not None and best.run_uid:
        m = measurement_from_documents(store.documents(best.run_uid), spectrometer, {})
        assert spectral.target is not None
        wl, target = read_target(spectral.target)
        fig, ax = _figure()
        ax.plot(wl, target, "k--", label="target")
        ax.plot(m.wavelengths_nm, m.absorbance, color="C3", label=f"best (trial {best.idx})")
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel("absorbance (AU)")
        ax.set_title(
            f"{spectral.name} = {best.outcomes[spectral.name]:.4g}"
            if best.outcomes
            else "best spectrum"
        )
        written.append(_save(fig, ax, out_dir / f"{campaign.name}-best_spectrum.png"))
    return written
