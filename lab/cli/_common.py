"""What every ``lab`` command shares: consoles, exit codes, the error line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from planners import PLANNER_NAMES

if TYPE_CHECKING:
    from lab.store import Store

#: a table written to a file or a pipe keeps every column whole (rich would cut it at 80
#: columns); a terminal, or COLUMNS, sets the width as usual
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 1000
console = Console(width=_PIPED_WIDTH)
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


#: ``--workcell NAME=tcp://HOST:PORT``, repeated: trials run on those workcells
TiledOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL|local",
        help="write every run to this Tiled server too (its key in TILED_API_KEY); "
        "local: a Tiled server of the lab's own beside the store",
    ),
]

WorkcellOption = Annotated[
    list[str] | None,
    typer.Option(
        help="NAME=tcp://HOST:PORT of a workcell (lab workcell serve) to run trials on; "
        "repeat for several; --store must be the store they record into"
    ),
]


def parse_workcells(given: list[str]) -> dict[str, str]:
    """``NAME=ADDRESS`` pairs, each checked; a malformed one ends the command."""
    found: dict[str, str] = {}
    for text in given:
        name, sep, address = text.partition("=")
        if not sep or not name or not address.startswith("tcp://"):
            raise fail(f"--workcell {text!r}: write NAME=tcp://HOST:PORT", EXIT_CONFIG)
        found[name] = address
    return found


def fail(message: str, code: int = EXIT_CONFIG) -> typer.Exit:
    """Print ``message`` as the command's last word and return the exit to raise."""
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)


#: where a store is: a SQLite file, or a database server's URL (``postgresql://...``; the
#: password belongs in PGPASSWORD or ~/.pgpass, not in the URL)
STORE_FORMS = "a SQLite file or a postgresql://user@host/db URL"
#: ``--store`` of a command that works on the lab's store (its users, its night's work)
LabStoreOption = Annotated[
    str | None,
    typer.Option(help=f"the store, {STORE_FORMS}; default: the lab's (runs/LAB-NAME/store.sqlite)"),
]


def open_store(location: str | Path, existing: bool = True, hint: str = "") -> Store:
    """The store at ``location``; a file must exist if ``existing`` (``hint`` says what
    to do if it does not). A store that cannot be opened (no such file, a server that
    refuses or is down) ends the command with a clear error."""
    from lab.store import Store, StoreError, is_database_url, store_label

    if existing and not is_database_url(location) and not Path(location).is_file():
        raise fail(f"{location}: no such store file" + (f"; {hint}" if hint else ""))
    try:
        return Store(location)
    except StoreError as err:
        raise fail(f"cannot open the store {store_label(location)}: {err.reason}") from None


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def read_password(password_stdin: bool, confirm: bool = False) -> str:
    """The password from standard input's first line, or asked for (hidden; twice when
    ``confirm``, as for a new password)."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=confirm))
