"""``lab remote``: drive a running lab server from a terminal or a shell script."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter
from rich.table import Table

from lab.cli._app import app
from lab.cli._common import (
    JsonOption,
    PasswordStdin,
    PlannerName,
    console,
    fail,
    read_password,
)
from lab.client import LabClient, RemoteError

remote_app = typer.Typer(
    help="Talk to a running lab server (`lab serve`): state, campaigns, approvals, run control.",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")

TOKEN_FILE = (
    Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "sdl-lab" / "token.json"
)
CampaignName = Annotated[
    str, typer.Argument(help="the campaign's name, as `lab remote campaigns` lists it")
]
TrialNumber = Annotated[int, typer.Argument(help="the proposal's trial number")]


def _client() -> LabClient:
    """From LAB_URL and LAB_TOKEN, or the token `lab remote login` saved."""
    url, token = os.environ.get("LAB_URL"), os.environ.get("LAB_TOKEN")
    if not (url and token) and TOKEN_FILE.is_file():
        saved = json.loads(TOKEN_FILE.read_text())
        if saved.get("expires", 0) < time.time():
            raise fail("the saved token has expired; run `lab remote login` again")
        url, token = url or saved["url"], token or saved["token"]
    if not (url and token):
        raise fail(
            "not logged in: run `lab remote login URL --user NAME` (or set LAB_URL and LAB_TOKEN)"
        )
    return LabClient(url, token)


def _call(method: str, *args: Any, **kwargs: Any) -> Any:
    client = _client()
    try:
        return getattr(client, method)(*args, **kwargs)
    except RemoteError as err:
        raise fail(f"the lab refused: {err.detail}") from None
    except OSError as err:
        raise fail(f"cannot reach {client.url}: {err}") from None
    finally:
        client.close()


def _print(data: Any, as_json: bool) -> bool:
    """The answer as the server gave it (``--json``), for a script."""
    if as_json:
        print(json.dumps(TypeAdapter(Any).dump_python(data, mode="json"), indent=2))
    return as_json


@remote_app.command("login")
def login(
    url: Annotated[str, typer.Argument(help="the server, e.g. http://127.0.0.1:8000")],
    user: Annotated[str, typer.Option(help="user name")],
    hours: Annotated[float, typer.Option(min=0.1, max=720, help="token lifetime")] = 24.0,
    password_stdin: PasswordStdin = False,
) -> None:
    """Log in and keep a token (readable only by you) for the other remote commands; the
    password is asked for (hidden) unless --password-stdin."""
    password = read_password(password_stdin)
    try:
        client = LabClient.login(url, user, password, hours)
    except RemoteError as err:
        raise fail(err.detail) from None
    except OSError as err:
        raise fail(f"cannot reach {url}: {err}") from None
    token = client.token
    client.close()
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    TOKEN_FILE.touch(mode=0o600)
    TOKEN_FILE.write_text(
        json.dumps({"url": url, "token": token, "expires": time.time() + hours * 3600})
    )
    console.print(f"logged in to {url} as {user}; token saved in {TOKEN_FILE}")


@remote_app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Each device's state and readings, the vials, and run control."""
    state = _call("state")
    if _print(state, as_json):
        return
    control = state.control
    console.print(
        f"lab {state.name}: {control.executor}"
        + (f", campaign {control.active_campaign}" if control.active_campaign else "")
    )
    if control.estop:
        console.print(f"[bold red]EMERGENCY STOP latched[/bold red] by {control.estop.by}")
    table = Table()
    for column in ("device", "state", "readings", "last error"):
        table.add_column(column)
    for d in state.snapshot.get("devices", []):
        readings = ", ".join(
            f"{r['label']}={r['value']}{' ' + r['units'] if r['units'] else ''}"
            + (" (stale)" if r["stale"] else "")
            for r in d["readings"]
        )
        table.add_row(d["name"], d["state"], readings, d["last_error"] or "")
    console.print(table)


@remote_app.command("campaigns")
def campaigns(as_json: JsonOption = False) -> None:
    """The lab's campaigns and their progress."""
    found = _call("campaigns")
    if _print(found, as_json):
        return
    table = Table()
    for column in ("campaign", "state", "progress", "best", "stored"):
        table.add_column(column)
    for c in found:
        s = c.session
        best = ", ".join(f"{k}={v:.4g}" for k, v in (s.best or {}).items()) if s else ""
        table.add_row(
            c.name,
            s.state if s else "-",
            f"{s.done}/{s.total}" if s else "",
            best,
            f"{c.completed} done, {c.failed} failed",
        )
    console.print(table)


@remote_app.command("consumables")
def consumables(as_json: JsonOption = False) -> None:
    """What each reagent's reservoir and the racks of vials hold, what a trial of the
    running campaign takes, and how many trials that lasts."""
    found = _call("consumables")
    if _print(found, as_json):
        return
    table = Table()
    for column in ("consumable", "holds", "warn below", "a trial takes", "lasts"):
        table.add_column(column)
    for s in found:
        shown = ["-" if x is None else f"{x:.4g} {s.unit}" for x in (s.level, s.low, s.per_trial)]
        lasts = "-" if s.trials_left is None else f"about {s.trials_left} trials"
        table.add_row(s.name, *shown, lasts + (" (LOW)" if s.is_low else ""))
    console.print(table)


@remote_app.command("refill")
def refill(
    name: Annotated[str, typer.Argument(help="a reagent, or vials (the racks)", metavar="NAME")],
    level: Annotated[
        str, typer.Argument(help="what it holds now: '250 mL'; for vials a count, 48")
    ],
) -> None:
    """Record that you refilled a reagent's reservoir or the racks of vials (staff); a
    campaign paused for it goes on after `lab remote resume`."""
    done = _call("refill", name, level)
    console.print(f"{done.consumable} refilled to {done.level} (recorded, by {done.by})")


def start(
    name: CampaignName,
    trials: Annotated[int | None, typer.Option(min=1, help="total trials to reach")] = None,
    planner: Annotated[
        PlannerName | None, typer.Option(help="the planner; default: the campaign's")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="planner seed; default: the campaign's")
    ] = None,
) -> None:
    """Start (or continue) a campaign in the lab."""
    session = _call("start", name, trials, planner, seed)
    console.print(f"{name}: {session.state}, {session.total} trials, planner {session.planner}")


@remote_app.command("pause")
def pause() -> None:
    """Start nothing new; the running plan pauses at its next checkpoint."""
    console.print(f"lab {_call('pause').executor}")


@remote_app.command("resume")
def resume() -> None:
    """Resume the lab after a pause."""
    console.print(f"lab {_call('resume').executor}")


@remote_app.command("stop")
def stop(name: CampaignName) -> None:
    """Stop the campaign after the trial in flight."""
    console.print(f"{name}: {_call('stop', name).state}")


@remote_app.command("abort")
def abort(name: CampaignName) -> None:
    """End the campaign's trial in flight now (it fails; the station goes safe)."""
    console.print(f"{name}: {_call('abort', name).state}")


@remote_app.command("estop")
def estop() -> None:
    """Emergency stop: every device at once; latched until staff reset it."""
    report = _call("emergency_stop")
    for device, answer in report.devices.items():
        console.print(f"{device}: {answer}")
    if not report.confirmed:
        raise fail("not every device confirmed its stop; check them by hand")


@remote_app.command("reset")
def reset() -> None:
    """Clear a latched emergency stop (staff)."""
    for device, answer in _call("reset").devices.items():
        console.print(f"{device}: {answer}")


@remote_app.command("proposals")
def proposals(as_json: JsonOption = False) -> None:
    """Proposed experiments waiting for approval."""
    found = _call("proposals")
    if _print(found, as_json):
        return
    for p in found:
        values = ", ".join(f"{k}={v}" for k, v in p.parameters.items())
        console.print(f"{p.campaign} trial {p.trial} ({p.generator}): {values}")
    if not found:
        console.print("nothing waits for approval")


@remote_app.command("approve")
def approve(
    name: CampaignName,
    trial: TrialNumber,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="edit a value: --set 'cyan=1.2 mL' (repeatable)"),
    ] = None,
) -> None:
    """Approve a proposal, as proposed or with --set edits (checked against the bounds)."""
    edits = {}
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--set {item!r}: write NAME=VALUE with a unit, e.g. 'cyan=1.2 mL'")
        edits[key.strip()] = value.strip()
    _call("approve", name, trial, edits or None)
    console.print(f"{name} trial {trial} approved" + (" with edits" if edits else ""))


@remote_app.command("reject")
def reject(
    name: CampaignName,
    trial: TrialNumber,
    reason: Annotated[str, typer.Option(help="why; the planner records it")],
) -> None:
    """Reject a proposal, with the reason."""
    _call("reject", name, trial, reason)
    console.print(f"{name} trial {trial} rejected")
