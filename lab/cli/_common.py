"""What every ``lab`` command shares: consoles, exit codes, the error line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from planners import PLANNER_NAMES

console = Console()
err_console = Console(stderr=True)

#: exit codes, documented in docs/recovery.md: a file, argument or request that cannot be
#: used; the campaign stopped (a fault, a stop, devices unreachable); a device LEFT UNSAFE;
#: a check failed (a diagnosis, a bundle's verification or replay)
EXIT_CONFIG, EXIT_STOPPED, EXIT_UNSAFE, EXIT_CHECK = 2, 3, 4, 5
EXIT_CODES = (
    "Exit codes: 0 done; 2 a file, option or request cannot be used (nothing ran); "
    "3 stopped on a fault or devices unreachable (resume by running it again); "
    "4 a device was LEFT UNSAFE (see the message; check it by hand); "
    "5 a check failed: a diagnosis, or a bundle's verify or replay (see the report)."
)
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
#: the planners' names, so ``--help`` shows and shells complete them
PlannerName = Literal[PLANNER_NAMES]  # type: ignore[valid-type]
EXAMPLE_LAB = Path("examples/colour_match/lab.yaml")


def _default_lab() -> Path:
    """The example lab, from the working directory or else from this checkout, so a
    command works from any folder; ``SDL_LAB`` or ``--lab`` name another."""
    if EXAMPLE_LAB.exists():
        return EXAMPLE_LAB
    in_checkout = Path(__file__).resolve().parents[2] / EXAMPLE_LAB
    return in_checkout if in_checkout.exists() else EXAMPLE_LAB


DEFAULT_LAB = _default_lab()
#: every command's ``--lab``: the environment variable SDL_LAB, else the example lab
LabOption = Annotated[
    Path, typer.Option("--lab", help="lab YAML", envvar="SDL_LAB", show_envvar=True)
]


def fail(message: str, code: int = EXIT_CONFIG) -> typer.Exit:
    """Print ``message`` as the command's last word and return the exit to raise."""
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)
