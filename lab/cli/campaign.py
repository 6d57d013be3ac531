"""``lab campaign``: run a campaign in this process, or look at a stored one."""

from __future__ import annotations

import json
import signal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lab.cli._app import app
from lab.cli._common import (
    EXIT_CONFIG,
    EXIT_STOPPED,
    EXIT_UNSAFE,
    STORE_FORMS,
    JsonOption,
    PlannerName,
    TiledOption,
    WorkcellOption,
    console,
    fail,
    open_store,
    parse_workcells,
)
from lab.values import short_value

if TYPE_CHECKING:
    from lab.store import TrialRecord

campaign_app = typer.Typer(
    help="Run a closed-loop campaign or look at a stored one.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")


@campaign_app.command("run")
def campaign_run(
    campaign: Annotated[Path, typer.Argument(help="campaign YAML (parameters, objectives, ...)")],
    lab: Annotated[Path | None, typer.Option(help="lab YAML; default: the campaign's lab:")] = None,
    trials: Annotated[
        int | None, typer.Option(min=1, help="total trials; default: the campaign's")
    ] = None,
    planner: Annotated[
        PlannerName | None, typer.Option(help="the planner; default: the campaign's")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="planner seed; default: the campaign's")] = None,
    store: Annotated[
        str | None,
        typer.Option(help=f"the store, {STORE_FORMS}; default runs/CAMPAIGN/store.sqlite"),
    ] = None,
    workcell: WorkcellOption = None,
    tiled: TiledOption = None,
) -> None:
    """Run CAMPAIGN in its lab; on an existing store, continue where it stopped.

    Shows progress per trial, then a summary table, and writes plots next to the store.
    One Ctrl-C pauses at the next step (Enter resumes); a second aborts the trial.
    With --workcell, this process coordinates: the trials run on the workcells, one at a
    time on each, and the planner proposes whenever one frees up.

    Exit codes: 0 done; 2 a file or option cannot be used (nothing ran); 3 stopped on a
    fault or a stop (run it again to resume); 4 a device was LEFT UNSAFE.
    """
    from devices import DeviceError, explain
    from lab.api import prepare, run_campaign, run_campaign_on_workcells
    from lab.cli._progress import ProgressBar
    from lab.errors import ConfigError
    from lab.outputs.report import summary_table
    from lab.store import CampaignMismatch, StoreInUse, store_label
    from lab.store.tiled import TiledError
    from lab.workcells import WorkcellError

    try:
        prepared = prepare(campaign, lab, store)  # every file checked before anything opens
    except ConfigError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    addresses = parse_workcells(workcell or [])
    if addresses and store is None:
        raise fail("--workcell needs --store: the store the workcells record into", EXIT_CONFIG)
    if addresses and tiled:
        raise fail("--tiled writes the runs of this lab; a workcell writes its own", EXIT_CONFIG)
    display = ProgressBar(prepared.campaign.name)
    # a service manager's stop (SIGTERM) ends the campaign as a second Ctrl-C does: the trial
    # in flight is aborted and recorded, the station goes to its safe state, then it exits
    signal.signal(signal.SIGTERM, _terminated)
    try:
        run = (
            partial(run_campaign_on_workcells, campaign, addresses)
            if addresses
            else partial(run_campaign, campaign, tiled=tiled)
        )
        result = run(
            lab=lab,
            trials=trials,
            planner=planner,
            seed=seed,
            store=prepared.store,
            events=display,
        )
    except (ConfigError, CampaignMismatch, StoreInUse) as err:
        raise fail(str(err), EXIT_CONFIG) from None
    except (WorkcellError, TiledError) as err:  # a server that cannot be reached, or refused
        raise fail(str(err), EXIT_STOPPED) from None
    except DeviceError as err:
        raise fail(f"cannot bring the lab up: {explain(err)}", EXIT_STOPPED) from None
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        display.bar.stop()
    console.print(summary_table(result.name, result.trials, {r.idx for r in result.best}))
    _print_failures(result.trials)
    for path in result.plots:
        console.print(f"plot: {path}")
    console.print(f"store: {store_label(prepared.store)}", highlight=False)
    if result.tiled is not None:
        console.print(str(result.tiled), highlight=False)
    if result.left_unsafe:
        raise fail(f"campaign stopped, STATION NOT SAFE: {result.left_unsafe}", EXIT_UNSAFE)
    if result.stopped:
        raise fail(f"campaign stopped: {result.stopped}", EXIT_STOPPED)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt("terminated (SIGTERM)")


@campaign_app.command("show")
def campaign_show(
    store: Annotated[
        str, typer.Argument(help=f"the store, {STORE_FORMS}, e.g. runs/colour-match/store.sqlite")
    ],
    name: Annotated[str | None, typer.Argument(help="campaign name; default: the only one")] = None,
    as_json: JsonOption = False,
) -> None:
    """Summarise a stored campaign: every trial, its outcome, the best, and where the lab
    time went (each device busy, waiting for a resource, waiting for its next trial, idle)."""
    from lab.data import trial_json
    from lab.outputs.report import summary_table, time_use_table
    from lab.records.best import best_trials
    from lab.records.time_use import account
    from lab.records.timeline import campaign_spans
    from lab.store import TrialStatus, store_label

    db = open_store(store)
    try:
        names = db.campaign_names()
        if name is None:
            if len(names) != 1:
                raise fail(f"{store_label(store)} holds campaigns {names}; name one", EXIT_CONFIG)
            name = names[0]
        info = db.campaign(name)
        if info is None:
            raise fail(
                f"{store_label(store)} holds no campaign {name!r}; it holds {names}", EXIT_CONFIG
            )
        records = db.trials(name)
        spans = campaign_spans(db, name)
    finally:
        db.close()
    time = account(spans)
    definition = info["definition"]
    objectives = [o["name"] for o in definition["objectives"]]
    best, rule = best_trials(records, definition, info.get("best"))
    if as_json:
        print(
            json.dumps(
                {
                    "campaign": name,
                    "definition": definition,
                    "best": best[0].idx if best else None,
                    "best_trials": [r.idx for r in best],
                    "best_rule": rule,
                    "trials": [trial_json(r) for r in records],
                    "experiments_per_hour": time.experiments_per_hour,
                    "time_use": time.as_json()["devices"],
                }
            )
        )
        return
    console.print(summary_table(name, records, {r.idx for r in best}))
    _print_failures(records)
    done = sum(r.status == TrialStatus.COMPLETED for r in records)
    failed = sum(r.status == TrialStatus.FAILED for r in records)
    console.print(
        f"{len(records)} trials: {done} completed, {failed} failed; "
        f"planner {definition['planner']['name']}"
    )
    how = "the model's estimate" if rule == "model" else "the measured values"
    if len(objectives) > 1 and best:
        console.print(f"Pareto front ({how}): {len(best)} trials")
    for b in best if len(objectives) > 1 else best[:1]:
        values = ", ".join(f"{k}={short_value(v)}" for k, v in b.parameters.items())
        scores = ", ".join(f"{n}={(b.outcomes or {})[n]:.4g}" for n in objectives)
        label = "  " if len(objectives) > 1 else f"best ({how}): "
        console.print(f"{label}trial {b.idx} {scores} with {values}", highlight=False)
    if time.devices:
        console.print(time_use_table(time.devices))
        console.print(time.summary, highlight=False)


def _print_failures(records: list[TrialRecord]) -> None:
    from lab.store import TrialStatus

    for r in records:
        if r.status == TrialStatus.FAILED:
            console.print(f"[red]trial {r.idx} failed:[/red] {r.error}", highlight=False)


@campaign_app.command("report")
def campaign_report(
    campaign: Annotated[Path, typer.Argument(help="campaign YAML")],
    lab: Annotated[Path | None, typer.Option(help="lab YAML; default: the campaign's lab:")] = None,
    store: Annotated[
        str | None,
        typer.Option(help=f"the store, {STORE_FORMS}; default runs/CAMPAIGN/store.sqlite"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="folder; default: beside the store file (runs/CAMPAIGN/ for a server)"),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a campaign (plots inside, opens offline):
    the objective with the best so far, each parameter per trial, the best spectrum against
    its target, every trial, and where the campaign came from."""
    import subprocess
    import time
    from importlib.metadata import version

    from lab.api import prepare
    from lab.errors import ConfigError
    from lab.outputs.report import write_html_report
    from lab.store import store_label

    try:
        prepared = prepare(campaign, lab, store)
    except ConfigError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    db = open_store(prepared.store, hint="run the campaign first")
    try:
        info = db.campaign(prepared.campaign.name)
        if info is None:
            raise fail(
                f"{store_label(prepared.store)} holds no campaign {prepared.campaign.name!r}; "
                "run the campaign first"
            )
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
        ).stdout.strip()
        planner = info["definition"]["planner"]
        provenance = {
            "campaign file": str(campaign),
            "lab": prepared.lab.name,
            "store": store_label(prepared.store),
            "planner": f"{planner['name']}, seed {planner.get('seed')}",
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(info["created"])),
            "software": f"sdl-lab {version('sdl-lab')}" + (f", commit {commit}" if commit else ""),
            "report written": time.strftime("%Y-%m-%d %H:%M"),
        }
        path = write_html_report(
            db,
            prepared.campaign,
            out or prepared.folder,
            prepared.lab.spectra_from,
            provenance,
        )
    finally:
        db.close()
    console.print(f"report: {path}", highlight=False)
