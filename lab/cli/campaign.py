"""``lab campaign``: run a campaign in this process, or look at a stored one."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from devices import DeviceError, explain, parse_quantity
from lab.api import prepare, run_campaign
from lab.cli._app import app
from lab.cli._common import EXIT_CONFIG, EXIT_STOPPED, EXIT_UNSAFE, console, fail
from lab.errors import ConfigError
from lab.report import summary_table
from lab.runner import CampaignRunner, RunnerEvents
from lab.runner import Progress as TrialProgress
from lab.store import CampaignMismatch, Store, StoreInUse, TrialRecord

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
        str | None, typer.Option(help="ax | sobol | random; default: the campaign's")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="planner seed; default: the campaign's")] = None,
    store: Annotated[
        Path | None, typer.Option(help="SQLite store; default runs/<name>/store.sqlite")
    ] = None,
) -> None:
    """Run CAMPAIGN in its lab; on an existing store, continue where it stopped.

    Shows progress per trial, then a summary table, and writes plots next to the store.
    One Ctrl-C pauses at the next step (Enter resumes); a second aborts the trial.

    Exit codes: 0 done; 2 a file or option cannot be used (nothing ran); 3 stopped on a
    fault or a stop (run it again to resume); 4 a device was LEFT UNSAFE.
    """
    if planner is not None and planner not in ("ax", "sobol", "random"):
        raise fail(f"--planner must be ax, sobol or random, not {planner!r}", EXIT_CONFIG)
    try:
        prepared = prepare(campaign, lab, store)  # every file checked before anything opens
    except ConfigError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    display = _ProgressBar(prepared.campaign.name)
    try:
        result = run_campaign(
            campaign,
            lab=lab,
            trials=trials,
            planner=planner,
            seed=seed,
            store=prepared.store_path,
            events=display,
        )
    except (ConfigError, CampaignMismatch, StoreInUse) as err:
        raise fail(str(err), EXIT_CONFIG) from None
    except DeviceError as err:
        raise fail(f"cannot bring the lab up: {explain(err)}", EXIT_STOPPED) from None
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        display.bar.stop()
    console.print(summary_table(result.name, result.trials, {r.idx for r in result.best}))
    _print_failures(result.trials)
    for path in result.plots:
        console.print(f"plot: {path}")
    console.print(f"store: {prepared.store_path}")
    if result.left_unsafe:
        raise fail(f"campaign stopped, STATION NOT SAFE: {result.left_unsafe}", EXIT_UNSAFE)
    if result.stopped:
        raise fail(f"campaign stopped: {result.stopped}", EXIT_STOPPED)


class _CtrlC:
    """The first Ctrl-C pauses at the next step boundary and says how to go on; Enter
    resumes, a second Ctrl-C aborts the trial in flight (recorded as failed)."""

    def __init__(self, runner: CampaignRunner) -> None:
        self.runner = runner
        self.paused = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.paused:
            raise KeyboardInterrupt
        self.runner.executor.pause()
        console.print(
            "[yellow]pausing at the next step boundary.[/yellow] Press Enter to resume; "
            "Ctrl-C again aborts the trial in flight (it is recorded as failed and the "
            "station goes to its safe state).",
            highlight=False,
        )
        self.hold()

    def hold(self) -> None:
        """The executor is paused: Enter resumes it, Ctrl-C aborts."""
        if not self.paused:
            self.paused = True
            threading.Thread(target=self._resume_on_enter, daemon=True).start()

    def _resume_on_enter(self) -> None:
        if sys.stdin.readline() and self.paused:  # '' is the end of input: not a yes
            self.paused = False
            self.runner.executor.resume()
            console.print("resumed", highlight=False)


class _ProgressBar(RunnerEvents):
    """Trial k of N, the best so far and wall time per trial (planning included)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[per_trial]}/trial"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task(name, total=None, best="-", per_trial="-")
        self.start, self.first = 0.0, 0

    def attached(self, runner: CampaignRunner) -> None:
        self.ctrl_c = _CtrlC(runner)
        signal.signal(signal.SIGINT, self.ctrl_c)

    def paused(self, reason: str) -> None:
        console.print(
            f"[yellow]paused:[/yellow] {reason}. Press Enter to go on; Ctrl-C stops.",
            highlight=False,
        )
        self.ctrl_c.hold()

    def started(self, done: int, total: int) -> None:
        self.start, self.first = time.perf_counter(), done
        self.bar.start()
        self.bar.update(self.task, completed=done, total=total)
        if done:
            console.print(f"resuming {self.name}: {done} trials already in the store")

    def trial_finished(self, progress: TrialProgress) -> None:
        per_trial = (time.perf_counter() - self.start) / (progress.done - self.first)
        best = ", ".join(f"{k}={v:.4g}" for k, v in (progress.best or {}).items()) or "-"
        self.bar.update(
            self.task,
            completed=progress.done,
            total=progress.total,
            best=best,
            per_trial=f"{per_trial:.1f}s",
        )
        last = progress.last
        if last.status != "completed":
            console.print(
                f"[yellow]trial {last.index} failed:[/yellow] {last.error}", highlight=False
            )


@campaign_app.command("show")
def campaign_show(
    store: Annotated[Path, typer.Argument(help="store file, e.g. runs/colour-match/store.sqlite")],
    name: Annotated[str | None, typer.Argument(help="campaign name; default: the only one")] = None,
) -> None:
    """Summarise a stored campaign: every trial, its outcome, the best."""
    if not store.is_file():
        raise fail(f"{store}: no such store file", EXIT_CONFIG)
    db = Store(store)
    try:
        names = db.campaign_names()
        if name is None:
            if len(names) != 1:
                raise fail(f"{store} holds campaigns {names}; name one", EXIT_CONFIG)
            name = names[0]
        info = db.campaign(name)
        if info is None:
            raise fail(f"{store} holds no campaign {name!r}; it holds {names}", EXIT_CONFIG)
        records = db.trials(name)
    finally:
        db.close()
    objectives = info["definition"]["objectives"]
    first = objectives[0]
    done = [(r, r.outcomes) for r in records if r.outcomes]
    sign = 1 if first["minimize"] else -1
    best = [r for r, _ in sorted(done, key=lambda pair: pair[1][first["name"]] * sign)]
    console.print(summary_table(name, records, {best[0].idx} if best else set()))
    _print_failures(records)
    failed = sum(r.status == "failed" for r in records)
    console.print(
        f"{len(records)} trials: {len(done)} completed, {failed} failed; "
        f"planner {info['definition']['planner']['name']}"
    )
    if best:
        b = best[0]
        values = ", ".join(f"{k}={parse_quantity(v):.4g~P}" for k, v in b.parameters.items())
        score = (b.outcomes or {})[first["name"]]
        console.print(f"best: trial {b.idx} {first['name']}={score:.4g} with {values}")


def _print_failures(records: list[TrialRecord]) -> None:
    for r in records:
        if r.status == "failed":
            console.print(f"[red]trial {r.idx} failed:[/red] {r.error}", highlight=False)
