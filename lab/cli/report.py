"""``lab report overnight``: the morning summary of what the lab did while nobody watched."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lab.cli._app import app
from lab.cli._common import (
    DEFAULT_LAB,
    JsonOption,
    LabOption,
    LabStoreOption,
    console,
    fail,
    open_store,
)

report_app = typer.Typer(
    help="Summaries of the lab's work, read from its store.", no_args_is_help=True
)
app.add_typer(report_app, name="report")


def _since(text: str) -> float:
    """``12 h``, ``2 days`` (that long ago) or a date and time (``2026-12-05T18:00``)."""
    import datetime as dt

    from devices import parse_quantity

    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        pass
    try:
        ago = float(parse_quantity(text).m_as("s"))
    except (ValueError, TypeError):  # not a quantity, or not a duration
        raise fail(
            f"--since {text!r}: give a time ago with its unit (12 h, 2 days) or a date and "
            "time (2026-12-05T18:00)"
        ) from None
    if ago < 0:
        raise fail(f"--since {text!r}: a time ago is not negative")
    return dt.datetime.now().timestamp() - ago


@report_app.command("overnight")
def overnight(
    since: Annotated[
        str, typer.Option(help="from when: a time ago (12 h, 3 days) or a date and time")
    ] = "12 h",
    store: LabStoreOption = None,
    lab: LabOption = DEFAULT_LAB,
    as_json: JsonOption = False,
) -> None:
    """What the lab did since a time: each campaign's trials completed and failed, its best
    result and how it moved, the failures and why, the emergency stops, the notifications
    sent and those that did not arrive, and what waits for a person now (approvals, a
    latched emergency stop).

    The notifier sends the same summary each morning when the lab file's notifications
    name a `summary_at` time."""
    from lab.api import default_lab_store
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config
    from lab.outputs.overnight import overnight as read_night
    from lab.outputs.overnight import render

    start = _since(since)
    try:
        config = load_lab_config(lab)
    except ConfigError as err:
        raise fail(str(err)) from None
    db = open_store(store or default_lab_store(config), existing=True)
    try:
        night = read_night(db, start)
    finally:
        db.close()
    if as_json:
        print(json.dumps(night.as_json()))
    else:
        console.print(render(night, config.name), highlight=False, markup=False)
