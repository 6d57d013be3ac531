"""What every ``lab`` command shares: consoles, exit codes, the error line."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

#: a file, argument or request that cannot be used; the campaign stopped on a fault
EXIT_CONFIG, EXIT_STOPPED = 2, 3
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
