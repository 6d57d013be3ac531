"""What every ``lab`` command shares: consoles, exit codes, the error line."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

#: exit codes, documented in docs/recovery.md: a file, argument or request that cannot be
#: used; the campaign stopped (a fault, a stop, devices unreachable); a device LEFT UNSAFE
EXIT_CONFIG, EXIT_STOPPED, EXIT_UNSAFE = 2, 3, 4
EXIT_CODES = (
    "Exit codes: 0 done; 2 a file, option or request cannot be used (nothing ran); "
    "3 stopped on a fault or devices unreachable (resume by running it again); "
    "4 a device was LEFT UNSAFE (see the message; check it by hand)."
)
DEFAULT_LAB = "examples/colour_match/lab.yaml"


def fail(message: str, code: int = EXIT_CONFIG) -> typer.Exit:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)


def brief(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "shape"):
        return f"<{len(value)} values>"  # type: ignore[arg-type]
    return str(value) or "-"
