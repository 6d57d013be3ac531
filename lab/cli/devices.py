"""``lab devices`` and ``lab sim``: the lab's instruments, real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from devices import DeviceError
from lab.cli._app import app
from lab.cli._common import DEFAULT_LAB, brief, console, fail
from lab.compose import build_lab
from lab.config import load_lab_config
from lab.errors import ConfigError
from lab.simulation import build_world


@app.command("devices")
def devices(
    lab: Annotated[Path, typer.Option(help="lab YAML")] = Path(DEFAULT_LAB),
) -> None:
    """List the lab's devices, their transport and their current state."""
    try:
        running = build_lab(load_lab_config(lab))
    except ConfigError as err:
        raise fail(str(err)) from None
    except DeviceError as err:
        raise fail(f"{lab}: cannot connect: {err}") from None
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
            f"{k.removeprefix(name + '-')}={brief(v)}" for k, v in state.items() if k != "identity"
        )
        table.add_row(name, cfg.kind, cfg.transport.type, state.get("identity", "?"), readings)
    console.print(table)


@app.command("sim")
def simulate(
    lab: Annotated[Path, typer.Option(help="lab YAML")] = Path(DEFAULT_LAB),
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
        raise fail(str(err)) from None

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
