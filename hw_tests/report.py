"""The reports staff read: one self-contained HTML file (plots embedded as images, no
network needed to open it) and a JSON file for scripts; and a device's history as trends
against its warn and fail levels."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hw_tests._result import CheckResult
from hw_tests._suite import Diagnosis
from lab.outputs.html import page, png

COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "skipped": "#57606a"}


def write_report(diagnosis: Diagnosis, directory: Path) -> tuple[Path, Path]:
    """``diagnosis-<time>.html`` and ``.json`` in ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(diagnosis.started))
    report, data = directory / f"diagnosis-{stamp}.html", directory / f"diagnosis-{stamp}.json"
    data.write_text(json.dumps(diagnosis.as_dict(), indent=2))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(diagnosis.started))
    body = [f"<h1>Diagnosis of {html.escape(diagnosis.lab)}</h1><p>{when}</p>"]
    body.append(_summary(diagnosis.devices()))
    for device in diagnosis.devices():
        results = [r for r in diagnosis.results if r.device == device]
        body.append(f"<h2>{html.escape(device)}</h2>{_table(results)}")
        body += [_figure(r) for r in results if r.plot]
    report.write_text(page(f"Diagnosis of {diagnosis.lab}", body))
    return report, data


def write_history(device: str, rows: list[dict[str, Any]], directory: Path) -> Path:
    """``history-<device>.html``: each check's figure over time, with its levels.

    Args:
        device: the device's name.
        rows: its stored check results, oldest first.
        directory: where to write the page.
    """
    directory.mkdir(parents=True, exist_ok=True)
    trends = directory / f"history-{device}.html"
    body = [f"<h1>History of {html.escape(device)}</h1>"]
    checks = sorted({r["check"] for r in rows if r["magnitude"] is not None})
    for check in checks:
        points = [r for r in rows if r["check"] == check and r["magnitude"] is not None]
        body.append(f"<figure><img src='{png(_trend(check, points))}'></figure>")
    body.append(_history_table(rows))
    trends.write_text(page(f"History of {device}", body))
    return trends


def _badge(status: str) -> str:
    return f"<span class='status' style='background:{COLOURS[status]}'>{status}</span>"


def _summary(devices: dict[str, str]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(d)}</td><td>{_badge(s)}</td></tr>" for d, s in devices.items()
    )
    return f"<table><tr><th>device</th><th>overall</th></tr>{rows}</table>"


def _table(results: list[CheckResult]) -> str:
    head = "<tr><th>check</th><th>status</th><th>measured</th><th>warn</th><th>fail</th><th>what to do</th></tr>"
    rows = "".join(
        f"<tr><td>{html.escape(r.check)}<div class='detail'>{html.escape(r.detail)}</div></td>"
        f"<td>{_badge(r.status)}</td><td>{html.escape(r.value)}</td>"
        f"<td>{html.escape(r.warn)}</td><td>{html.escape(r.fail)}</td>"
        f"<td>{html.escape(r.hint)}</td></tr>"
        for r in results
    )
    return f"<table>{head}{rows}</table>"


def _history_table(rows: list[dict[str, Any]]) -> str:
    head = "<tr><th>when</th><th>check</th><th>status</th><th>measured</th><th>what to do</th></tr>"
    lines = "".join(
        f"<tr><td>{time.strftime('%Y-%m-%d %H:%M', time.localtime(r['time']))}</td>"
        f"<td>{html.escape(r['check'])}</td><td>{_badge(r['status'])}</td>"
        f"<td>{html.escape(r['value'] or '')}</td><td>{html.escape(r['hint'] or '')}</td></tr>"
        for r in reversed(rows)
    )
    return f"<table>{head}{lines}</table>"


def _figure(result: CheckResult) -> str:
    plot = result.plot or {}
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    ax.set_title(plot.get("title", result.check), fontsize=10)
    if plot["kind"] == "spectra":
        _spectra(ax, plot)
    elif plot["kind"] == "xy":
        ax.plot(plot["x"], plot["y"], "o-", ms=3, label="measured")
        if "fit" in plot:
            ax.plot(plot["x"], plot["fit"], "--", label="proportional fit")
            ax.legend(fontsize=8)
        ax.set_xlabel(plot["xlabel"])
        ax.set_ylabel(plot["ylabel"])
    elif plot["kind"] == "scatter":
        for location, points in plot["points"].items():
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=12, label=location)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("x error (mm)")
        ax.set_ylabel("y error (mm)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize=8)
    caption = f"{html.escape(result.device)}: {html.escape(result.check)}"
    return (
        f"<figure><img src='{png(fig)}' alt='{caption}'><figcaption>{caption}</figcaption></figure>"
    )


def _spectra(ax: Axes, plot: dict[str, Any]) -> None:
    for label, values in plot["series"].items():
        ax.plot(plot["x"], values, label=label)
    for line in plot.get("lines", []):
        ax.axvline(line, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("counts")
    ax.legend(fontsize=8)


def _trend(check: str, points: list[dict[str, Any]]) -> Figure:
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    times = [time.strftime("%m-%d %H:%M", time.localtime(p["time"])) for p in points]
    ax.plot(range(len(points)), [p["magnitude"] for p in points], "o-", ms=4)
    for level, colour in (("warn", COLOURS["warn"]), ("fail", COLOURS["fail"])):
        value = _number(points[-1][level])
        if value is not None:
            ax.axhline(value, color=colour, ls="--", lw=1, label=f"{level} {points[-1][level]}")
    ax.set_xticks(range(len(points)), times, rotation=30, fontsize=7)
    ax.set_title(f"{check} ({points[-1]['unit']})", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _number(level: str | None) -> float | None:
    """The magnitude of a level stored as text (``"0.05 mm"``): same unit as the figure."""
    try:
        return float((level or "").split()[0])
    except (IndexError, ValueError):
        return None
