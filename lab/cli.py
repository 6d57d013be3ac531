"""The ``lab`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from devices import parse_quantity
from lab.api import open_lab, prepare, run_campaign
from lab.config import load_lab_config
from lab.errors import ConfigError
from lab.report import summary_table
from lab.runner import Progress as TrialProgress
from lab.simulation import build_world
from lab.store import CampaignMismatch, Store, TrialRecord

app = typer.Typer(
    help="Run and inspect a self-driving lab: campaigns, devices, stored results.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
campaign_app = typer.Typer(
    help="Run a closed-loop campaign or look at a stored one.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")
console = Console()
err_console = Console(stderr=True)

EXIT_CONFIG, EXIT_STOPPED = 2, 3


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)


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
    """
    if planner is not None and planner not in ("ax", "sobol", "random"):
        raise _fail(f"--planner must be ax, sobol or random, not {planner!r}", EXIT_CONFIG)
    try:
        prepared = prepare(campaign, lab, store)  # every file checked before anything opens
    except ConfigError as err:
        raise _fail(str(err), EXIT_CONFIG) from None
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TextColumn("{task.fields[per_trial]}/trial"),
        TimeElapsedColumn(),
        console=console,
    )
    task = bar.add_task(prepared.campaign.name, total=None, best="-", per_trial="-")
    clock = {"start": 0.0, "first": 0}

    def started(done: int, total: int) -> None:
        clock["start"], clock["first"] = time.perf_counter(), done
        bar.start()
        bar.update(task, completed=done, total=total)
        if done:
            console.print(f"resuming {prepared.campaign.name}: {done} trials already in the store")

    def on_trial(p: TrialProgress) -> None:
        # wall time per trial, planning included
        per_trial = (time.perf_counter() - clock["start"]) / (p.done - clock["first"])
        best = ", ".join(f"{k}={v:.4g}" for k, v in (p.best or {}).items()) or "-"
        bar.update(
            task,
            completed=p.done,
            total=p.total,
            best=best,
            per_trial=f"{per_trial:.1f}s",
        )
        if p.last.status != "completed":
            console.print(
                f"[yellow]trial {p.last.index} failed:[/yellow] {p.last.error}", highlight=False
            )

    try:
        result = run_campaign(
            campaign,
            lab=lab,
            trials=trials,
            planner=planner,
            seed=seed,
            store=prepared.store_path,
            on_trial=on_trial,
            on_start=started,
        )
    except (ConfigError, CampaignMismatch) as err:
        raise _fail(str(err), EXIT_CONFIG) from None
    finally:
        bar.stop()
    console.print(summary_table(result.name, result.trials, {r.idx for r in result.best}))
    _print_failures(result.trials)
    for path in result.plots:
        console.print(f"plot: {path}")
    console.print(f"store: {prepared.store_path}")
    if result.stopped:
        raise _fail(f"campaign stopped: {result.stopped}", EXIT_STOPPED)


@campaign_app.command("show")
def campaign_show(
    store: Annotated[Path, typer.Argument(help="store file, e.g. runs/colour-match/store.sqlite")],
    name: Annotated[str | None, typer.Argument(help="campaign name; default: the only one")] = None,
) -> None:
    """Summarise a stored campaign: every trial, its outcome, the best."""
    if not store.is_file():
        raise _fail(f"{store}: no such store file", EXIT_CONFIG)
    db = Store(store)
    try:
        names = db.campaign_names()
        if name is None:
            if len(names) != 1:
                raise _fail(f"{store} holds campaigns {names}; name one", EXIT_CONFIG)
            name = names[0]
        info = db.campaign(name)
        if info is None:
            raise _fail(f"{store} holds no campaign {name!r}; it holds {names}", EXIT_CONFIG)
        records = db.trials(name)
    finally:
        db.close()
    objectives = info["definition"]["objectives"]
    first = objectives[0]
    done = [r for r in records if r.outcomes]
    best = sorted(done, key=lambda r: r.outcomes[first["name"]] * (1 if first["minimize"] else -1))
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
        console.print(
            f"best: trial {b.idx} {first['name']}={b.outcomes[first['name']]:.4g} with {values}"
        )


@app.command("devices")
def devices(
    lab: Annotated[Path, typer.Option(help="lab YAML")] = Path("examples/colour_match/lab.yaml"),
) -> None:
    """List the lab's devices, their transport and their current state."""
    try:
        running = open_lab(lab)
    except ConfigError as err:
        raise _fail(str(err), EXIT_CONFIG) from None
    try:
        status = running.status()
    finally:
        running.close()
    table = Table(title=f"lab {running.config.name}")
    for column in ("device", "kind", "transport", "identity", "state"):
        table.add_column(column)
    for name, cfg in running.config.devices.items():
        state = status.get(name, {})
        readings = ", ".join(
            f"{k.removeprefix(name + '-')}={_brief(v)}" for k, v in state.items() if k != "identity"
        )
        table.add_row(name, cfg.kind, cfg.transport.type, state.get("identity", "?"), readings)
    console.print(table)


@app.command("sim")
def simulate(
    lab: Annotated[Path, typer.Option(help="lab YAML")] = Path("examples/colour_match/lab.yaml"),
    directory: Annotated[
        Path | None, typer.Option(help="where to put the device paths; default: a temp dir")
    ] = None,
) -> None:
    """Run the lab's simulated instruments on real endpoints until Ctrl-C.

    Prints each device's path (a pseudo-terminal for serial devices), so a lab file with
    ``simulated: false`` and those ports, or any serial terminal, can talk to them.
    """
    try:
        config = load_lab_config(lab)
        world = build_world(config)
    except ConfigError as err:
        raise _fail(str(err), EXIT_CONFIG) from None

    async def serve() -> None:
        await world.start(config, directory)
        table = Table(title=f"simulated instruments of {config.name}")
        for column in ("device", "transport", "endpoint"):
            table.add_column(column)
        for name, device in config.devices.items():
            where = world.endpoints.get(name, "in-process only")
            if name in world.opcua_security:
                sec = world.opcua_security[name]
                where += (
                    f"\n{sec.mode}, user {sec.username}, password {sec.password}"
                    f"\nclient certificate {sec.certificate}\nclient key {sec.private_key}"
                )
            table.add_row(name, device.transport.type, where)
        console.print(table)
        console.print("serving; Ctrl-C to stop", highlight=False)
        try:
            await asyncio.Event().wait()
        finally:
            await world.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def _print_failures(records: list[TrialRecord]) -> None:
    for r in records:
        if r.status == "failed":
            console.print(f"[red]trial {r.idx} failed:[/red] {r.error}", highlight=False)


def _brief(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "shape"):
        return f"<{len(value)} values>"  # type: ignore[arg-type]
    return str(value) or "-"


if __name__ == "__main__":
    app()
