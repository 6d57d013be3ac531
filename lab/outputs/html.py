"""Self-contained HTML reports: a page with its style inline and figures embedded as PNG
data, so a report opens anywhere, offline, and can be mailed as one file."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#1f2328}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border-bottom:1px solid #d0d7de;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.best td{background:#dafbe1}
.status{font-weight:bold;text-transform:uppercase;color:#fff;padding:.1em .5em;border-radius:.3em}
.detail{color:#57606a;font-size:.9em}figure{display:inline-block;margin:.5em;vertical-align:top}img{max-width:560px}
"""


def escape(text: object) -> str:
    """Text made safe to put in HTML.

    Args:
        text: anything; its ``str()`` is escaped.
    """
    return html.escape(str(text))


def png(fig: Figure) -> str:
    """The figure as a ``data:`` URI, for an ``<img src>``.

    Args:
        fig: a Matplotlib figure.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def page(title: str, body: Iterable[str]) -> str:
    """A whole HTML page: ``title``, the shared style, and ``body``'s parts in order."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
