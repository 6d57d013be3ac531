"""The ``lab`` Typer application; each command module adds itself to it."""

from __future__ import annotations

import typer

from lab.cli._common import EXIT_CODES

app = typer.Typer(
    help="Run and inspect a self-driving lab: campaigns, the lab server, devices, users.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
