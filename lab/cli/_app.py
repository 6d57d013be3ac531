"""The ``lab`` Typer application; each command module adds itself to it."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from lab.cli._common import EXIT_CODES

app = typer.Typer(
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
) -> None:
    """Run and inspect a self-driving lab: campaigns, the lab server, devices, diagnostics,
    users. Colour is off when the output is not a terminal or NO_COLOR is set."""
    _console_logging()


class _OneLine(logging.Formatter):
    """A log record as one sentence: a library's traceback is for a debugger, not for
    the person at the terminal (the command says what failed, and the store keeps it)."""

    def formatException(self, ei) -> str:
        return f"  ({ei[0].__name__ if ei[0] else 'error'}: {ei[1]})"

    def formatStack(self, stack_info: str) -> str:
        return ""


def _console_logging() -> None:
    """Warnings and errors of the libraries, one line each, on stderr; bluesky's own report
    of a failed or aborted run is left out (the command and the store tell it)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("bluesky").setLevel(logging.CRITICAL)
