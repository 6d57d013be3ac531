"""What a scientist reads after a campaign: a summary table and plots next to the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table

from devices import unit_symbol
from lab.files.campaign_file import CampaignConfig, read_target
from lab.outputs.html import escape, page, png
from lab.records.best import best_trial, best_trials
from lab.records.measurement import Spectrometers, measurement_from_documents, well_of
from lab.records.time_use import HEADINGS, TimeAccount, TimeUse, account
from lab.records.timeline import Span, campaign_spans, end_to_end, experiments_per_hour
from lab.store import Store, TrialRecord, TrialStatus
from lab.values import short_value
from planners import ParameterValue

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def summary_table(name: str, records: list[TrialRecord], best: set[int]) -> Table:
    """One row a trial, one column a parameter or outcome; the best row in green.

    Args:
        name: the campaign's name.
        records: its trials.
        best: the numbers of the trials to highlight.
    """
    table = Table(title=f"campaign {name}: {len(records)} trials", title_justify="left")
    params = list(records[0].parameters) if records else []
    outcomes = sorted({k for r in records for k in (r.outcomes or {})}) or ["outcome"]
    units = {k: _unit(records[0].parameters[k]) for k in params}
    table.add_column("#", justify="right")
    wells = any(well_of(r.sample_id) for r in records)  # a plate campaign: where each is
    if wells:
        table.add_column("well")
    for k in params:
        table.add_column(f"{k} ({units[k]})" if units[k] else k, justify="right")
    for k in outcomes:
        table.add_column(k, justify="right")
    table.add_column("by")
    for r in records:
        values = [_value(r.parameters[k]) for k in params]
        if r.outcomes:
            results = [f"{r.outcomes[k]:.4g}" for k in outcomes]
        else:  # no outcome: say why (failed, rejected, still awaiting approval, running)
            shown = str(r.status).replace("_", " ")
            if r.status == TrialStatus.FAILED:
                shown = f"[red]{shown}[/red]"
            results = [shown] + [""] * (len(outcomes) - 1)
        style = "bold green" if r.idx in best else None
        where = [well_of(r.sample_id) or ""] if wells else []
        table.add_row(str(r.idx), *where, *values, *results, r.planner.split("/")[-1], style=style)
    return table


def _unit(value: ParameterValue) -> str:
    """A parameter's unit as a column shows it; none for a choice or a pure number."""
    return "" if isinstance(value, str) else unit_symbol(value.units)


def _value(value: ParameterValue) -> str:
    return value if isinstance(value, str) else _number(value.m)


def _number(x: float) -> str:
    """3 significant digits; planners' round-off (1e-17 mL) shows as 0."""
    return "0" if abs(x) < 1e-9 else f"{x:.3g}"


def best_so_far(records: list[TrialRecord], objective: str, minimize: bool) -> np.ndarray:
    """The best outcome after each trial (failed trials keep the best before them).

    Args:
        records: the trials, in order.
        objective: the objective's name.
        minimize: whether lower is better.
    """
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


def _finish(fig: Figure, ax: Axes) -> Figure:
    from matplotlib.ticker import MaxNLocator

    if ax.get_xlabel() == "trial":  # trials are counted, never halved
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def campaign_figures(
    store: Store,
    campaign: CampaignConfig,
    spectrometer: Spectrometers,
    best: TrialRecord | None,
    spans: list[Span] | None = None,
) -> dict[str, Figure]:
    """``best_so_far`` (each trial's objective and the best so far), ``parameters`` (each
    parameter per trial), ``timeline`` (which device each trial used when) and, for a
    spectral target, ``best_spectrum`` (against it).

    Args:
        store: the lab's store.
        campaign: the campaign file.
        spectrometer: the spectrometers' device names (for the spectra).
        best: the trial to show against the target, if any.
        spans: the campaign's steps, if the caller has read them (else read here).
    """
    records = store.trials(campaign.name)
    figures = {"best_so_far": _objective_figure(records, campaign)}
    if len(campaign.objectives) > 1:
        info = store.campaign(campaign.name) or {}
        front, rule = best_trials(records, campaign.definition(), info.get("best"))
        figures["pareto"] = _pareto_figure(records, campaign, front, rule)
    if records:
        figures["parameters"] = _parameters_figure(records, best)
    spans = campaign_spans(store, campaign.name) if spans is None else spans
    if spans:
        figures["timeline"] = timeline_figure(end_to_end(spans))
    spectral = next((o for o in campaign.objectives if o.kind == "spectral_distance"), None)
    if spectral is not None and best is not None and best.run_uid:
        docs = store.documents(best.run_uid)
        m = measurement_from_documents(docs, spectrometer, {}, well_of(best.sample_id))
        assert spectral.target is not None
        wl, target = read_target(spectral.target)
        fig, ax = _figure()
        ax.plot(wl, target, "k--", label="target")
        ax.plot(*m.spectrum(), color="C3", label=f"best (trial {best.idx})")
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel("absorbance (AU)")
        score = (best.outcomes or {}).get(spectral.name)
        ax.set_title(f"{spectral.name} = {score:.4g}" if score is not None else "best spectrum")
        figures["best_spectrum"] = _finish(fig, ax)
    return figures


def timeline_figure(spans: list[Span]) -> Figure:
    """A Gantt chart: one row per device, a bar per step that kept it busy, coloured and
    numbered by trial; the time axis is lab time from the first step.

    Args:
        spans: the steps, from :func:`lab.records.timeline.campaign_spans`.
    """
    from matplotlib.figure import Figure

    t0 = min(s.reached for s in spans)
    devices = sorted({s.device for s in spans}, key=lambda d: (d != "arm", d))
    fig = Figure(figsize=(9, 1.2 + 0.45 * len(devices)))
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for s in spans:
        row = devices.index(s.device)
        left, width = (s.began - t0) / 60, (s.ended - s.began) / 60
        ax.barh(row, width, left=left, height=0.6, color=colours[s.trial % 10], alpha=0.85)
    for trial in sorted({s.trial for s in spans}):  # each trial's number on its first bar
        first = min((s for s in spans if s.trial == trial), key=lambda s: s.began)
        ax.text(
            (first.began - t0) / 60,
            devices.index(first.device) + 0.45,
            str(trial),
            fontsize=7,
            va="bottom",
        )
    ax.set_yticks(range(len(devices)), devices)
    ax.invert_yaxis()
    ax.set_xlabel("lab time (min)")
    rate = experiments_per_hour(spans)
    rate_text = f": {rate:.1f} experiments per lab hour" if rate else ""
    ax.set_title(f"device use per trial{rate_text}", fontsize=10)
    fig.tight_layout()
    return fig


def _objective_figure(records: list[TrialRecord], campaign: CampaignConfig) -> Figure:
    objective = campaign.objectives[0]
    fig, ax = _figure()
    trial = [r.idx for r in records]
    raw = [r.outcomes[objective.name] if r.outcomes else np.nan for r in records]
    ax.plot(trial, raw, "o", color="0.6", label="each trial")
    ax.step(
        trial,
        best_so_far(records, objective.name, objective.minimize),
        where="post",
        color="C0",
        label="best so far",
    )
    ax.set_xlabel("trial")
    ax.set_ylabel(objective.name + (" (lower is better)" if objective.minimize else ""))
    ax.set_title(f"{campaign.name}: best {objective.name} so far")
    return _finish(fig, ax)


def _pareto_figure(
    records: list[TrialRecord], campaign: CampaignConfig, front: list[TrialRecord], rule: str
) -> Figure:
    """The first two objectives of every completed trial, the Pareto front joined; trials
    that broke an outcome constraint crossed out."""
    x, y = campaign.objectives[0], campaign.objectives[1]
    limits = campaign.outcome_constraint_specs()

    def xy(trials: list[TrialRecord]) -> tuple[list[float], list[float]]:
        return [(r.outcomes or {})[x.name] for r in trials], [
            (r.outcomes or {})[y.name] for r in trials
        ]

    fig, ax = _figure()
    done = [r for r in records if r.outcomes and {x.name, y.name} <= set(r.outcomes)]
    broken = [r for r in done if not all(c.satisfied(r.outcomes or {}) for c in limits)]
    ax.plot(*xy([r for r in done if r not in broken]), "o", color="0.6", label="trial")
    if broken:
        ax.plot(*xy(broken), "x", color="C3", label="broke an outcome constraint")
    on_front = sorted(front, key=lambda r: (r.outcomes or {})[x.name])
    how = "model's estimate" if rule == "model" else "measured"
    ax.plot(*xy(on_front), "o-", color="C2", label=f"Pareto front ({how})")
    for r, px, py in zip(on_front, *xy(on_front), strict=True):
        ax.annotate(str(r.idx), (px, py), textcoords="offset points", xytext=(4, 4), fontsize=7)
    better = {True: " (lower is better)", False: " (higher is better)"}
    ax.set_xlabel(x.name + better[x.minimize])
    ax.set_ylabel(y.name + better[y.minimize])
    ax.set_title(f"{campaign.name}: {x.name} against {y.name}")
    return _finish(fig, ax)


def _parameters_figure(records: list[TrialRecord], best: TrialRecord | None) -> Figure:
    """One panel per parameter, in its unit; failed trials hollow, the best ringed."""
    from matplotlib.figure import Figure

    names = list(records[0].parameters)
    fig = Figure(figsize=(6, 1.6 * len(names) + 0.6))
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    trial = [r.idx for r in records]
    for ax, name in zip(axes, names, strict=True):
        values = [r.parameters[name] for r in records]
        unit = _unit(values[0])
        ok = [r.status == TrialStatus.COMPLETED for r in records]
        choices = list(dict.fromkeys(v for v in values if isinstance(v, str)))
        if choices:  # a categorical axis: one row per choice
            ax.set_yticks(range(len(choices)), choices, fontsize=7)
            ax.set_ylim(-0.5, len(choices) - 0.5)
        ys = [_position(v, choices) for v in values]
        ax.plot(
            [t for t, k in zip(trial, ok, strict=True) if k],
            [y for y, k in zip(ys, ok, strict=True) if k],
            "o",
            color="C0",
            ms=4,
        )
        ax.plot(
            [t for t, k in zip(trial, ok, strict=True) if not k],
            [y for y, k in zip(ys, ok, strict=True) if not k],
            "o",
            mfc="none",
            color="C3",
            ms=4,
            label="failed",
        )
        if best is not None:
            ax.plot(
                [best.idx],
                [_position(best.parameters[name], choices)],
                "o",
                mfc="none",
                color="C2",
                ms=10,
                label="best",
            )
        ax.set_ylabel(f"{name}\n({unit})" if unit else name, fontsize=8)
    axes[-1].set_xlabel("trial")
    axes[0].set_title("each parameter per trial (ringed: the best; hollow red: failed)")
    for ax in axes:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def write_plots(
    store: Store,
    campaign: CampaignConfig,
    out_dir: Path,
    spectrometer: Spectrometers,
    best: TrialRecord | None,
) -> list[Path]:
    """``<campaign>-<figure>.png`` for each of :func:`campaign_figures`: named after the
    campaign, so two campaigns beside one another keep their own.

    Args:
        store: the lab's store.
        campaign: the campaign file.
        out_dir: where to write the images.
        spectrometer: the spectrometers' device names (for the spectra).
        best: the trial to show against the target, if any.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in campaign_figures(store, campaign, spectrometer, best).items():
        path = out_dir / f"{campaign.name}-{name}.png"
        fig.savefig(path, dpi=120)
        written.append(path)
    return written


def write_html_report(
    store: Store,
    campaign: CampaignConfig,
    out_dir: Path,
    spectrometer: Spectrometers,
    provenance: dict[str, str],
) -> Path:
    """``<campaign>-report.html``: one self-contained page (plots inside, nothing fetched)
    with the figures, every trial and where the campaign came from.

    Args:
        store: the campaign's store.
        campaign: the checked campaign file.
        out_dir: the folder to write into (made if missing).
        spectrometer: the name of the device whose spectra the best trial is shown with.
        provenance: label -> text, shown as the provenance table.

    Returns:
        The page's path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    records = store.trials(campaign.name)
    best = best_trial(store, campaign)
    spans = campaign_spans(store, campaign.name)
    figures = campaign_figures(store, campaign, spectrometer, best, spans)
    failed = sum(r.status == TrialStatus.FAILED for r in records)
    done = sum(r.status == TrialStatus.COMPLETED for r in records)
    body = [
        f"<h1>Campaign {escape(campaign.name)}</h1>",
        f"<p>{escape(campaign.description)}</p>" if campaign.description else "",
        f"<p>{len(records)} trials: {done} completed, {failed} failed.",
        f" Best: trial {best.idx}.</p>" if best is not None else "</p>",
        *(f"<figure><img src='{png(fig)}' alt='{name}'></figure>" for name, fig in figures.items()),
        _time_use_html(account(spans)),
        "<h2>Trials</h2>",
        _trials_html(records, best),
        "<h2>Provenance</h2>",
        "<table>"
        + "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in provenance.items()
        )
        + "</table>",
    ]
    path = out_dir / f"{campaign.name}-report.html"
    path.write_text(page(f"Campaign {campaign.name}", body))
    return path


def time_use_table(uses: list[TimeUse]) -> Table:
    """Where the lab time went, one row a device (the terminal's table).

    Args:
        uses: from :func:`lab.records.time_use.time_use`.
    """
    table = Table(title="where the lab time went", title_justify="left")
    table.add_column("device")
    for heading in HEADINGS.values():
        table.add_column(heading, justify="right")
    for u in uses:
        table.add_row(u.device, *(f"{getattr(u, key):.0%}" for key in HEADINGS))
    return table


def _time_use_html(time: TimeAccount) -> str:
    if not time.devices:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in ("device", *HEADINGS.values()))
    rows = "".join(
        f"<tr><td>{escape(u.device)}</td>"
        + "".join(f"<td>{getattr(u, key):.0%}</td>" for key in HEADINGS)
        + "</tr>"
        for u in time.devices
    )
    return (
        f"<h2>Where the lab time went</h2><p>{escape(time.summary)}</p>"
        f"<table><tr>{head}</tr>{rows}</table>"
    )


def _position(value: ParameterValue, choices: list[str]) -> float:
    """Where a value sits on its axis: a choice's row, a number's magnitude."""
    return float(choices.index(value)) if isinstance(value, str) else float(value.m)


def _trials_html(records: list[TrialRecord], best: TrialRecord | None) -> str:
    if not records:
        return "<p>No trials yet.</p>"
    params = list(records[0].parameters)
    outcomes = sorted({k for r in records for k in (r.outcomes or {})})
    head = "".join(f"<th>{escape(c)}</th>" for c in ("#", *params, *outcomes, "status", "by"))
    rows = []
    for r in records:
        cells = [str(r.idx)]
        cells += [escape(short_value(r.parameters[k])) for k in params]
        cells += [f"{(r.outcomes or {}).get(k, float('nan')):.4g}" for k in outcomes]
        cells += [escape(r.status if not r.error else f"{r.status}: {r.error}"), escape(r.planner)]
        style = " class='best'" if best is not None and r.idx == best.idx else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
