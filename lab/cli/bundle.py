"""``lab campaign export | verify | replay``: one campaign as one bundle that can be checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lab.cli._common import (
    EXIT_CHECK,
    EXIT_CONFIG,
    STORE_FORMS,
    JsonOption,
    console,
    fail,
    open_store,
)
from lab.cli.campaign import campaign_app

BundleArgument = Annotated[
    Path, typer.Argument(help="the bundle: a folder or a .zip written by `lab campaign export`")
]


@campaign_app.command("export")
def campaign_export(
    store: Annotated[
        str, typer.Argument(help=f"the store, {STORE_FORMS}, e.g. runs/colour-match/store.sqlite")
    ],
    targets: Annotated[
        list[str],
        typer.Argument(
            help="[NAME] OUT: the campaign (default: the store's only one), then a new "
            "folder or a .zip to write",
            show_default=False,
        ),
    ],
) -> None:
    """Write a campaign as one bundle: its runs' documents (JSON Lines), trials and samples
    (CSV, Parquet, units kept), the planner's experiment (Ax JSON), the files it ran with,
    the plots, and a manifest with every file's SHA-256. See docs/data.md."""
    from lab.outputs.bundle import export_campaign
    from lab.store import store_label

    if len(targets) not in (1, 2):
        raise fail("give [NAME] OUT: the campaign's name (optional), then where to write")
    out = Path(targets[-1])
    db = open_store(store)
    try:
        names = db.campaign_names()
        name = targets[0] if len(targets) == 2 else (names[0] if len(names) == 1 else None)
        if name is None:
            raise fail(f"{store_label(store)} holds campaigns {names}; name one")
        with console.status("exporting") as status:
            export_campaign(db, name, out, progress=lambda step: status.update(f"writing {step}"))
    except (KeyError, FileExistsError, ValueError) as err:
        raise fail(str(err).strip("'\"")) from None
    finally:
        db.close()
    console.print(f"{name} written to {out}; check it with `lab campaign verify {out}`")


@campaign_app.command("verify")
def campaign_verify(bundle: BundleArgument, as_json: JsonOption = False) -> None:
    """Check a bundle: every file against the manifest, and that every measurement's
    provenance chain is complete (trial, suggestion, protocol, lab, devices, vial,
    software). Exit code 5 if anything is missing or changed."""
    from lab.outputs.bundle import verify

    try:
        report = verify(bundle)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    if as_json:
        print(
            json.dumps(
                {
                    "campaign": report.campaign,
                    "ok": report.ok,
                    "manifest_problems": report.manifest_problems,
                    "measurements": report.measurements,
                    "complete": report.complete,
                    "share": report.share,
                    "gaps": report.gaps,
                }
            )
        )
    else:
        for problem in report.manifest_problems:
            console.print(f"[red]{problem}[/red]", highlight=False)
        for trial, missing in report.gaps.items():
            console.print(f"[red]trial {trial} lacks:[/red] {', '.join(missing)}", highlight=False)
        colour = "green" if report.ok else "red"
        console.print(
            f"[{colour}]{report.complete} of {report.measurements} measurements "
            f"({report.share:.0%}) traceable; files "
            f"{'as the manifest says' if not report.manifest_problems else 'NOT as the manifest says'}"
            f"[/{colour}]"
        )
    if not report.ok:
        raise typer.Exit(EXIT_CHECK)


@campaign_app.command("replay")
def campaign_replay(bundle: BundleArgument, as_json: JsonOption = False) -> None:
    """Feed a bundle's recorded outcomes to a fresh planner with the campaign's seed and
    settings, and show that it proposes what was recorded (within 1e-6 of each range).
    Exit code 5 if any proposal differs."""
    import tempfile

    from lab.campaigns.replay import as_json as report_json
    from lab.campaigns.replay import replay
    from lab.data import open_data
    from lab.outputs.bundle import stored_campaign

    try:
        data = open_data(bundle)
    except FileNotFoundError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    with data, tempfile.TemporaryDirectory(prefix="sdl-replay-") as scratch:
        names = data.campaigns()
        try:
            campaign = stored_campaign(data.store, names[0], Path(scratch))
        except (IndexError, ValueError) as err:
            raise fail(f"{bundle}: {err or 'no campaign in it'}") from None
        with console.status(f"replaying {campaign.name}"):
            report = replay(data.store, campaign)
    if as_json:
        print(json.dumps(report_json(report), default=str))
    else:
        table = Table(title=f"{report.campaign}: {report.planner}, seed {report.seed}")
        for column in ("trial", "generator", "recorded", "replayed", "same"):
            table.add_column(column)
        for t in report.trials:
            shown = ", ".join(f"{k}={_plain(v)}" for k, v in t.recorded.items())
            again = ", ".join(f"{k}={_plain(v)}" for k, v in (t.replayed or {}).items())
            same = {None: "(operator's)", True: "[green]yes[/green]", False: "[red]NO[/red]"}
            table.add_row(str(t.index), t.generator, shown, again, same[t.same])
        console.print(table)
        console.print(
            f"{len(report.compared) - len(report.differing)} of {len(report.compared)} "
            "proposals reproduced"
            + (f"; differing: {[t.index for t in report.differing]}" if report.differing else "")
        )
    if report.differing:
        raise typer.Exit(EXIT_CHECK)


def _plain(value: float | str) -> str:
    """A planner's plain value: four digits of a number, a choice's name."""
    return value if isinstance(value, str) else f"{value:.4g}"
