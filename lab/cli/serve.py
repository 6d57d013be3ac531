"""``lab serve``: the long-running lab process with its dashboard and API."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lab.cli._app import app
from lab.cli._common import (
    DEFAULT_LAB,
    EXIT_STOPPED,
    EXIT_UNSAFE,
    STORE_FORMS,
    LabOption,
    TiledOption,
    WorkcellOption,
    console,
    err_console,
    fail,
    open_store,
    parse_workcells,
)
from lab.startup import config_lab_logging

if TYPE_CHECKING:
    from lab.files.lab_file import LabConfig
    from lab.store import Store

DEMO_USER = "demo"


@app.command("serve")
def serve(
    lab: LabOption = DEFAULT_LAB,
    store: Annotated[
        str | None,
        typer.Option(help=f"the store, {STORE_FORMS}; default runs/LAB-NAME/store.sqlite"),
    ] = None,
    host: Annotated[
        str, typer.Option(help="address to listen on; keep 127.0.0.1 unless behind TLS")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    campaigns: Annotated[
        Path | None,
        typer.Option(
            help="folder of campaign files operators may start; default: the lab file's folder"
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="simulated labs only: a fresh secret and a demo login (staff) printed at start",
        ),
    ] = False,
    start: Annotated[
        str | None, typer.Option(help="start this campaign as soon as the lab is up")
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=1, help="with --start: total trials; default: the campaign file's"),
    ] = None,
    workcell: WorkcellOption = None,
    tiled: TiledOption = None,
    sila: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            metavar="PORT",
            help="also serve the lab over SiLA 2 (TLS) on this port, under the same users, "
            "roles and audit log",
        ),
    ] = None,
) -> None:
    """Run the lab server: it owns the instruments, runs campaigns, and serves the
    dashboard and the JSON API (docs at /docs) until Ctrl-C or SIGTERM.

    Outside --demo, the secret comes from LAB_SECRET_KEY (32 or more random characters) and
    users from `lab users add`. On stop, campaigns end, the station goes to its safe state,
    the devices disconnect and the store closes.

    With --workcell, this process owns no devices: it coordinates the campaigns over the
    workcells (lab workcell serve), one trial at a time on each, and shows their trials.

    With --tiled, every run is written to a Tiled server as well (local: one of the lab's
    own, beside the store, whose address is printed). With --sila PORT, a SiLA 2
    orchestrator drives the lab (feature LabControl) after logging in as a lab user; the
    certificate it must trust is printed.

    Exit codes: 0 stopped cleanly; 2 a file, option or secret cannot be used; 3 the devices
    or a workcell cannot be reached; 4 the station was LEFT UNSAFE at shutdown.
    """
    from lab.api import default_lab_store, output_folder
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config
    from lab.server import SecretError, check_secret
    from lab.store.tiled import TiledError, tiled_server

    try:
        config = load_lab_config(lab)
    except ConfigError as err:
        raise fail(str(err)) from None
    if demo and not config.simulated:
        raise fail(f"{lab}: --demo runs only a simulated lab (simulated: true)")
    secret = secrets.token_urlsafe(32) if demo else os.environ.get("LAB_SECRET_KEY")
    try:
        check_secret(secret)
    except SecretError as err:
        raise fail(str(err)) from None
    assert secret is not None
    addresses = parse_workcells(workcell or [])
    if trials is not None and start is None:
        raise fail("--trials goes with --start: it is how many trials that campaign runs")
    if addresses and store is None:
        raise fail("--workcell needs --store: the store the workcells record into")
    _refuse_taken_port(host, port)
    config_lab_logging(logging.INFO)  # a server's log is the trail of its states
    store_path = store or default_lab_store(config)
    db = open_store(store_path, existing=False)
    password = _demo_login(db) if demo else None
    if not demo and not any(u.role == "staff" for u in db.accounts.users()):
        db.close()
        raise fail(
            f"{db.url}: no staff user yet; add one with "
            f"`lab users add NAME --role staff --lab {lab}` and start again"
        )
    if addresses and (tiled or sila):
        db.close()
        raise fail("--tiled and --sila serve this lab's own devices; a workcell serves its own")
    if sila is not None:
        _refuse_taken_port(host, sila)
    folder = output_folder(store_path, default_lab_store(config))
    with ExitStack() as stack:
        try:
            tiled_client = stack.enter_context(tiled_server(tiled, folder / "tiled"))
        except TiledError as err:
            db.close()
            raise fail(str(err), EXIT_STOPPED) from None
        _serve(
            config,
            db,
            secret,
            lab,
            campaigns,
            addresses,
            tiled_client,
            (sila, folder / "sila") if sila else None,
            host,
            port,
            demo,
            (start, trials) if start else None,
            password,
        )


def _serve(
    config: LabConfig,
    db: Store,
    secret: str,
    lab: Path,
    campaigns: Path | None,
    addresses: dict[str, str],
    tiled: tuple[Any, str] | None,
    sila: tuple[int, Path] | None,
    host: str,
    port: int,
    demo: bool,
    start: tuple[str, int | None] | None,
    password: str | None,
) -> None:
    """Serve the lab until Ctrl-C or SIGTERM (everything checked; the Tiled server, if
    any, up)."""
    from devices import DeviceError, explain
    from lab.errors import ConfigError
    from lab.server import LabServer, create_app
    from lab.store import StoreInUse
    from lab.workcells import WorkcellError

    try:
        server = LabServer(
            config,
            db,
            secret,
            campaigns or lab.parent,
            workcells=addresses,
            tiled=tiled,
            sila=sila,
        )
    except (StoreInUse, ConfigError) as err:  # a notification channel's secret not set, say
        db.close()
        raise fail(str(err)) from None
    except WorkcellError as err:
        db.close()
        raise fail(str(err), EXIT_STOPPED) from None
    except DeviceError as err:
        db.close()
        raise fail(f"cannot bring the lab up: {explain(err)}", EXIT_STOPPED) from None
    url = f"http://{host}:{port}/"
    console.print(
        f"[bold]lab {config.name}[/bold] serving at {url}  (API docs {url}docs)", soft_wrap=True
    )
    if password:
        console.print(
            f"demo login: user [bold]{DEMO_USER}[/bold]  password [bold]{password}[/bold]"
        )
    console.print(f"store: {db.label}", highlight=False)
    if tiled is not None:
        console.print(f"tiled: every run also at {tiled[1]}", highlight=False)
    if server.sila is not None:
        console.print(
            f"SiLA 2: {server.sila.host}:{server.sila.port} (TLS; trust "
            f"{server.sila.identity.certificate_path}; log in as a lab user)",
            highlight=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/yellow] listening on {host}: put the server behind TLS"
        )
    if start:
        name, trials = start
        by = DEMO_USER if demo else "lab serve --start"
        try:
            server.manager.start(name, by, trials)
            outcome = "ok"
            console.print(f"campaign {name} started")
        except Exception as err:  # the server stays up; the operator sees why in the log
            outcome = f"refused: {err}"
            err_console.print(f"[red]campaign {name} not started:[/red] {err}", highlight=False)
        db.audit.append("campaign start", outcome, user=by, client="command line", target=name)
    import uvicorn

    def closed() -> None:
        if server.left_unsafe:
            err_console.print(
                f"[bold red]lab stopped, STATION NOT SAFE:[/bold red] {server.left_unsafe}"
            )
        elif addresses:
            console.print("coordinator stopped (the workcells keep running), store closed")
        else:
            console.print("lab stopped: station safe, devices disconnected, store closed")
        if server.tiled is not None:
            console.print(str(server.tiled), highlight=False)

    # open event streams (dashboards) must not hold up a stop: 2 s, then they are cut
    uvicorn.run(
        create_app(server, closed),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        server_header=False,  # no banner naming the server software
        # X-Forwarded-* only from the proxies the lab file names: from anyone else a header
        # would set the client address the audit log keeps, and the cookie's Secure flag
        proxy_headers=bool(config.trusted_proxies),
        forwarded_allow_ips=[str(a) for a in config.trusted_proxies] or None,
    )
    if server.left_unsafe:
        raise typer.Exit(EXIT_UNSAFE)


def _refuse_taken_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise fail(f"cannot listen on {host}:{port}: {err.strerror}; choose --port") from None


def _demo_login(db: Store) -> str:
    from lab.accounts.users import add_user, set_password

    password = secrets.token_urlsafe(9)
    if db.accounts.user(DEMO_USER) is None:
        add_user(db, DEMO_USER, "staff", password)
    else:
        set_password(db, DEMO_USER, password)
    return password
