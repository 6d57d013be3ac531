"""``lab workcell serve``: this machine's instruments as a workcell behind a queue server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lab.cli._app import app
from lab.cli._common import DEFAULT_LAB, EXIT_CONFIG, STORE_FORMS, LabOption, fail

workcell_app = typer.Typer(
    help="Serve a workcell: its devices behind a bluesky-queueserver, for a coordinator.",
    no_args_is_help=True,
)
app.add_typer(workcell_app, name="workcell")
PERMISSIONS = Path(__file__).resolve().parents[1] / "workcells" / "permissions.yaml"


@workcell_app.command("serve")
def workcell_serve(
    store: Annotated[
        str,
        typer.Option(help=f"where its runs are recorded, {STORE_FORMS}: the campaign's store"),
    ],
    lab: LabOption = DEFAULT_LAB,
    name: Annotated[
        str, typer.Option(help="the workcell's name (its queue in Redis)")
    ] = "workcell",
    host: Annotated[str, typer.Option(help="address the queue server listens on")] = "127.0.0.1",
    control_port: Annotated[
        int, typer.Option(min=1, max=65535, help="ZeroMQ port for requests (the coordinator's)")
    ] = 60615,
    info_port: Annotated[
        int, typer.Option(min=1, max=65535, help="ZeroMQ port the worker's console is published on")
    ] = 60625,
    redis: Annotated[str, typer.Option(help="the Redis server that keeps the queue")] = (
        "localhost:6379"
    ),
    folder: Annotated[
        Path | None,
        typer.Option(
            help="where the queue server keeps its files; default runs/LAB-NAME/workcell/"
        ),
    ] = None,
) -> None:
    """Serve LAB's devices as a workcell: a bluesky-queueserver RE Manager whose worker
    builds the lab (starting its simulators, if simulated) and records every run in STORE.

    A coordinator (lab campaign run --workcell NAME=tcp://HOST:PORT) then queues one trial
    at a time on it. Runs until stopped (Ctrl-C).

    Exit codes: 0 stopped; 2 the lab file cannot be used.
    """
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config

    try:
        load_lab_config(lab)  # a bad lab file is told here, not in the worker's log
    except ConfigError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    where = folder or Path("runs") / name
    where.mkdir(parents=True, exist_ok=True)
    manager = Path(sys.executable).with_name("start-re-manager")
    args = [
        str(manager),
        "--startup-module=lab.workcells.startup",
        f"--user-group-permissions={PERMISSIONS}",
        f"--existing-plans-devices={where / 'plans_and_devices.yaml'}",
        "--update-existing-plans-devices=ENVIRONMENT_OPEN",
        f"--redis-addr={redis}",
        f"--redis-name-prefix=sdl-{name}",
        f"--zmq-control-addr=tcp://{host}:{control_port}",
        f"--zmq-info-addr=tcp://{host}:{info_port}",
        "--zmq-publish-console=ON",
    ]
    env = {**os.environ, "SDL_WORKCELL_LAB": str(lab.resolve()), "SDL_WORKCELL_STORE": store}
    os.execve(manager, args, env)  # the queue server is this process from here on
