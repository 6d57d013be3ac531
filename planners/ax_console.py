"""How much of Ax's console output a person sees: Ax writes INFO lines to stderr through a
handler of its own (announcing itself while being imported, then on every trial), which a
lab's console wants only from warnings up. Nothing here runs unless an application asks."""

from __future__ import annotations

import logging
import sys

#: the level Ax's console handler is set to once Ax is imported (None: Ax's own, INFO)
_level: int | None = None
#: the one Ax logger that speaks while Ax is being imported, before its handler can be set
_IMPORT_ANNOUNCER = "ax.storage.sqa_store.with_db_settings_base"


def set_ax_console_level(level: int) -> None:
    """Show only Ax's console messages at ``level`` and above, from now on and whenever Ax
    is imported later. An application's start-up calls it (``lab``'s CLI does); a planner
    never does on its own, so a script keeps Ax's own logging unless it asks.

    Args:
        level: a :mod:`logging` level, such as ``logging.WARNING``.
    """
    global _level
    first = _level is None
    _level = level
    if first:
        logging.getLogger(_IMPORT_ANNOUNCER).addFilter(_at_least)
    apply()


def level() -> int | None:
    """The level asked for (None: none was), for a planner's process to ask for it too."""
    return _level


def apply() -> None:
    """Set Ax's console handler to the level asked for, if Ax is imported and one was."""
    if _level is not None and "ax.utils.common.logger" in sys.modules:
        from ax.utils.common.logger import set_stderr_log_level

        set_stderr_log_level(_level)


def _at_least(record: logging.LogRecord) -> bool:
    return _level is None or record.levelno >= _level
