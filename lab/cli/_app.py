"""The ``lab`` Typer application; each command module adds itself to it."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from lab.cli._common import EXIT_CODES
from lab.startup import set_up_application

app = typer.Typer(
    rich_markup_mode="markdown",  # a docstring's lines join into paragraphs
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"lab (sdl-lab) {version('sdl-lab')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="log the lab's state changes (campaign started, paused, stopped; emergency "
            "stop; reset; refused login) and the libraries' warnings (Ax's model fits, say) "
            "on stderr; `lab serve` always logs the lab's",
        ),
    ] = False,
) -> None:
    """Run and inspect a self-driving lab: campaigns, the lab server, devices, diagnostics,
    users. Colour is off when the output is not a terminal or NO_COLOR is set."""
    if verbose:
        set_up_application(logging.INFO, libraries=logging.WARNING)
    else:
        set_up_application(logging.WARNING)
