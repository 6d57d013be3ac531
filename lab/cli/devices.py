"""``lab devices`` and ``lab sim``: the lab's instruments, real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lab.cli._app import app
from lab.cli._common import (
    DEFAULT_LAB,
    EXIT_STOPPED,
    JsonOption,
    LabOption,
    console,
    err_console,
    fail,
)

if TYPE_CHECKING:
    from lab.files.lab_file import LabConfig


@app.command("reset")
def reset(lab: LabOption = DEFAULT_LAB) -> None:
    """Clear the emergency stop latched at the instruments (staff, after looking).

    An emergency stop (the button, an interlock) latches at each instrument, which then
    refuses every command but queries and Stop until reset, so a campaign does not start
    again by itself. Find out why it stopped and make the lab safe first: this command
    refuses while an interlock is still on. Exit codes: 0 every latch cleared (or none was
    latched); 2 the lab file cannot be used; 3 a device could not be reached or did not
    reset, or an interlock is still on.
    """
    from devices import DeviceError, explain
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config
    from lab.runtime.lab import build_lab

    try:
        running = build_lab(load_lab_config(lab))
    except ConfigError as err:
        raise fail(str(err)) from None
    except DeviceError as err:
        raise fail(f"cannot reach the lab: {explain(err)}", EXIT_STOPPED) from None
    try:
        answers = running.call(_reset_latched(running))
    except DeviceError as err:
        raise fail(explain(err), EXIT_STOPPED) from None
    finally:
        running.close()
    if not answers:
        console.print("no emergency stop is latched")
        return
    for name, answer in answers.items():
        console.print(f"{name}: {answer}")
    if any(a != "reset" for a in answers.values()):
        raise fail("some instruments are still latched (see above)", EXIT_STOPPED)


async def _reset_latched(running: Any) -> dict[str, str]:
    """Reset each instrument whose emergency stop is latched, once no interlock input is on."""
    from devices import DeviceError, DeviceRefused

    instruments = running.devices.instruments
    on = [
        f"{device.name}.{name}"
        for device in instruments
        for name, state in (await device.latched_inputs()).items()
        if state.on
    ]
    if on:
        raise DeviceRefused(", ".join(on), "still on: make the lab safe before resetting")
    answers = {}
    for device in instruments:
        if await device.driver.state() != "estop":
            continue
        try:
            await device.reset()
        except DeviceError as err:
            answers[device.name] = f"did not reset: {err}"
        else:
            answers[device.name] = "reset"
    return answers


@app.command("devices")
def devices(
    lab: LabOption = DEFAULT_LAB,
    as_json: JsonOption = False,
) -> None:
    """Each device: its link, identity and every reading with its unit.

    A device that cannot be reached is named with what was tried and what to check, and
    the others are still shown. Exit codes: 0 every device answered; 2 the lab file
    cannot be used; 3 a device could not be reached.
    """
    from devices import DeviceError, explain
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config
    from lab.runtime.lab import build_lab

    try:
        running = build_lab(load_lab_config(lab), connect=False)
    except ConfigError as err:
        raise fail(str(err)) from None
    except DeviceError as err:
        raise fail(f"{lab}: {explain(err)}", EXIT_STOPPED) from None
    problems: dict[str, str] = {}
    try:
        for device in running.devices.instruments:
            try:
                running.connect([device.name])
            except DeviceError as err:
                problems[device.name] = explain(err)
        status = running.status(skip=set(problems))
    finally:
        running.close()
    if as_json:
        print(
            json.dumps(
                {**status, **{n: {"error": p} for n, p in problems.items()}}, default=_jsonable
            )
        )
    else:
        console.print(_table(running.config, status, problems))
        for problem in problems.values():  # in full, whatever the terminal's width
            err_console.print(f"[bold red]unreachable:[/bold red] {problem}", highlight=False)
    if problems:
        raise typer.Exit(EXIT_STOPPED)


def _table(config: LabConfig, status: dict[str, Any], problems: dict[str, str]) -> Table:
    table = Table(title=f"lab {config.name}", show_lines=True)
    for column in ("device", "kind", "link, identity", "readings"):
        table.add_column(column)
    for name, cfg in config.devices.items():
        if name in problems:
            tried = getattr(cfg.transport, "port", None) or getattr(cfg.transport, "endpoint", None)
            table.add_row(
                name, config.kind_name(name), tried or cfg.transport.type, "[red]unreachable[/red]"
            )
            continue
        state = status[name]
        readings = state["readings"]
        lines = [f"{k} = {_reading(k, r, readings)}" for k, r in readings.items()]
        table.add_row(
            name, config.kind_name(name), f"{state['link']}\n{state['identity']}", "\n".join(lines)
        )
    return table


def _reading(key: str, reading: dict[str, Any], readings: dict[str, Any]) -> str:
    """A reading with its unit; an array as its size, range and peak (a spectrum over
    its wavelength axis)."""
    import numpy as np

    from devices import unit_symbol

    value, units = reading["value"], unit_symbol(reading["units"])
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return "no points"
        axis = readings.get("wavelengths")
        if axis is not None and key != "wavelengths" and np.size(axis["value"]) == value.size:
            wl = axis["value"]
            span = f"over {wl[0]:g}-{wl[-1]:g} {unit_symbol(axis['units'])}"
        else:
            span = f"{value.min():.4g}..{value.max():.4g} {units}".rstrip()
            return f"{value.size} points, {span}"
        return f"{value.size} points {span}, max {value.max():.4g} {units}".rstrip()
    if isinstance(value, float):
        return f"{value:.4g} {units}".rstrip()
    return f"{value if value != '' else '-'} {units}".rstrip()


def _jsonable(value: object) -> object:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


@app.command("sim")
def simulate(
    lab: LabOption = DEFAULT_LAB,
    directory: Annotated[
        Path | None, typer.Option(help="where to put the device paths; default: a temp dir")
    ] = None,
) -> None:
    """Run the lab's simulated instruments on real endpoints until Ctrl-C.

    Prints each device's path (a pseudo-terminal for serial devices), so a lab file with
    ``simulated: false`` and those ports, or any serial terminal, can talk to them.
    """
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config
    from lab.runtime.simulated_world import build_world

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
