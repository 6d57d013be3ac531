"""``lab diagnose``: the device diagnostics of ``hw_tests``, their reports and history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lab.cli._app import app
from lab.cli._common import (
    DEFAULT_LAB,
    EXIT_CHECK,
    EXIT_STOPPED,
    STORE_FORMS,
    JsonOption,
    LabOption,
    console,
    fail,
    open_store,
)

if TYPE_CHECKING:
    from hw_tests import CheckResult, Diagnosis
    from lab.files.lab_file import LabConfig
    from lab.runtime.lab import Lab

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}
StoreOption = Annotated[
    str | None,
    typer.Option(
        help=f"store to keep results in, {STORE_FORMS}; default runs/LAB-NAME/store.sqlite"
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        help="folder for the HTML and JSON reports; default: diagnoses/ beside the store file "
        "(runs/LAB-NAME/diagnoses for a server)"
    ),
]

diagnose_app = typer.Typer()
app.add_typer(diagnose_app, name="diagnose")


@diagnose_app.callback(invoke_without_command=True)
def diagnose_lab(
    ctx: typer.Context,
    lab: LabOption = DEFAULT_LAB,
    device: Annotated[
        list[str] | None, typer.Option(help="a device to check (repeat); default: all")
    ] = None,
    store: StoreOption = None,
    report: ReportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the diagnostics of every device (or those named), with progress; print the
    results, write an HTML report (plots inside, opens offline) and a JSON report, and
    keep the results in the store for `lab diagnose history`.

    Checks that move things stay within the lab file's limits, are refused while a
    campaign or the lab server holds the devices, and leave each device in its safe state.

    Exit codes: 0 nothing failed (warnings may remain); 2 the lab file or an option cannot
    be used; 3 the lab could not be brought up; 5 a check failed (see the report).
    """
    if ctx.invoked_subcommand is not None:
        return
    from devices import DeviceError, explain
    from hw_tests import write_report
    from lab.api import default_lab_store, output_folder
    from lab.runtime.lab import build_lab

    config = _config(lab)
    unknown = sorted(set(device or ()) - set(config.devices))
    if unknown:
        raise fail(f"--device: unknown {unknown}; the lab has {sorted(config.devices)}")
    default = default_lab_store(config)
    location = store or str(default)
    # the lab's store: checks keep the wells they fill in its ledger, so no trial uses them
    db = open_store(location, existing=False)
    try:
        running = build_lab(config, db, connect=False)
    except DeviceError as err:
        db.close()
        raise fail(f"cannot bring the lab up: {explain(err)}", EXIT_STOPPED) from None
    try:
        diagnosis = _run(running, device or [], quiet=as_json)
        db.diagnoses.add(config.name, diagnosis.started, diagnosis.as_dict()["results"])
    finally:
        running.close()  # and its store
    page, data = write_report(diagnosis, report or output_folder(location, default) / "diagnoses")
    if as_json:
        print(json.dumps({**diagnosis.as_dict(), "report": str(page), "json": str(data)}))
    else:
        _print(diagnosis)
        console.print(f"report: {page}\ndata:   {data}", highlight=False)
    if diagnosis.failed:
        raise typer.Exit(EXIT_CHECK)


def _config(lab: Path) -> LabConfig:
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config

    try:
        return load_lab_config(lab)
    except ConfigError as err:
        raise fail(str(err)) from None


def _run(running: Lab, names: list[str], quiet: bool) -> Diagnosis:
    from hw_tests import diagnose, steps

    plan = steps(running, names)
    with Progress(
        TextColumn("[bold]{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("connecting", total=len(plan))

        def progress(device: str, step: str) -> None:
            done = plan.index((device, step)) if (device, step) in plan else 0
            bar.update(task, completed=done, description=f"{device}: {step}")

        diagnosis = diagnose(running, names, progress)
        bar.update(task, completed=len(plan))
    return diagnosis


def _print(diagnosis: Diagnosis) -> None:
    table = Table(title=f"diagnosis of {diagnosis.lab}", title_justify="left")
    for column in ("device", "check", "status", "measured", "warn", "fail", "what to do"):
        table.add_column(column)
    for r in diagnosis.results:
        table.add_row(*_row(r))
    console.print(table)
    summary = ", ".join(f"{d} [{STYLE[s]}]{s}[/{STYLE[s]}]" for d, s in diagnosis.devices().items())
    console.print(f"overall: {summary}")
    for r in diagnosis.results:  # in full, whatever the terminal's width
        if r.status in ("fail", "warn"):
            style = STYLE[r.status]
            levels = f" (warn {r.warn}, fail {r.fail})" if r.warn else ""
            console.print(
                f"[{style}]{r.status}[/{style}] {r.device} {r.check}: {r.value}{levels}. {r.hint}",
                highlight=False,
            )


def _row(r: CheckResult) -> list[str]:
    style = STYLE[r.status]
    return [r.device, r.check, f"[{style}]{r.status}[/{style}]", r.value, r.warn, r.fail, r.hint]


@diagnose_app.command("history")
def history(
    name: Annotated[str, typer.Argument(help="the device, by its name in the lab file")],
    lab: LabOption = DEFAULT_LAB,
    store: StoreOption = None,
    report: ReportOption = None,
    as_json: JsonOption = False,
) -> None:
    """A device's diagnostic results over time, and an HTML page of trend plots with its
    warn and fail levels."""
    from hw_tests import write_history
    from lab.api import default_lab_store, output_folder
    from lab.store import store_label

    config = _config(lab)
    default = default_lab_store(config)
    location = store or str(default)
    db = open_store(location, hint="run `lab diagnose` first, or give --store")
    try:
        rows = db.diagnoses.history(name)
    finally:
        db.close()
    if not rows:
        raise fail(f"no diagnoses of {name!r} in {store_label(location)}")
    page = write_history(name, rows, report or output_folder(location, default) / "diagnoses")
    if as_json:
        print(json.dumps({"device": name, "results": rows, "report": str(page)}))
        return
    table = Table(title=f"history of {name}", title_justify="left")
    for column in ("when", "check", "status", "measured"):
        table.add_column(column)
    for row in rows:
        style = STYLE[row["status"]]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["time"]))
        table.add_row(when, row["check"], f"[{style}]{row['status']}[/{style}]", row["value"] or "")
    console.print(table)
    console.print(f"trends: {page}", highlight=False)
