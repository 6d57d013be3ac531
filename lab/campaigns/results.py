"""What a campaign run tells its caller: how each trial ended, the progress after each, the
run as a whole, and the events a display hears while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.data import trial_row
from lab.store import TrialRecord, TrialStatus
from lab.store.tiled import TiledSummary
from planners import ParameterValue, Planner

if TYPE_CHECKING:
    from lab.campaigns.runner import CampaignRunner


@dataclass
class TrialResult:
    """How one trial ended: its index, status, parameters, outcomes and error."""

    index: int
    status: TrialStatus
    parameters: dict[str, ParameterValue]
    outcomes: dict[str, float] | None
    error: str | None
    seconds: float
    run_uid: str | None = None
    device: str | None = None  # the device whose error failed the trial


@dataclass
class Progress:
    """What a progress display needs after each trial."""

    done: int
    total: int
    last: TrialResult
    best: dict[str, float] | None


@dataclass
class CampaignResult:
    """What a campaign run did: its trials, the best, why it stopped (if it did), the plots, and any device left unsafe."""

    name: str
    trials: list[TrialRecord]
    best: list[TrialRecord] = field(default_factory=list)
    stopped: str | None = None
    plots: list[Path] = field(default_factory=list)
    #: a device that could not be brought to its safe state: nobody may take it for safe
    left_unsafe: str | None = None
    #: the planner as the run left it: its own analyses (for Ax: ``summary()``,
    #: ``predict(points)``) are there to ask
    planner: Planner | None = None
    #: what reached a Tiled server, if the run wrote to one
    tiled: TiledSummary | None = None

    def dataframe(self) -> Any:
        """The trials as a pandas DataFrame, one row each: ``trial``, ``status``, each
        parameter as a number in a column named with its unit (``cyan [mL]``), each
        outcome, ``error`` and ``planner``."""
        import pandas as pd

        return pd.DataFrame([trial_row(t) for t in self.trials])


class RunnerEvents:
    """What a display learns from a running campaign; override what you need."""

    def started(self, done: int, total: int) -> None:
        """The store has been read: ``done`` trials of ``total`` are already spent."""

    def trial_changed(self, index: int) -> None:
        """Trial ``index`` changed in the store (proposed, decided, running, ...)."""

    def trial_finished(self, progress: Progress) -> None:
        """A trial completed or failed.

        Args:
            progress: the campaign's progress after it.
        """

    def attached(self, runner: CampaignRunner) -> None:
        """The runner about to run, e.g. for a display that offers pause and abort."""

    def consumable_low(self, warning: str, short: bool = False) -> None:
        """A consumable is low or will run out within the budget, or it runs short for
        the next trial (``short``: then :meth:`paused` follows).

        Args:
            warning: what, in words, with what to do.
            short: the next trial cannot finish; the lab pauses for a refill.
        """

    def paused(self, reason: str) -> None:
        """The campaign paused itself (``failures.on_failure: pause``); it waits for the
        executor to be resumed.

        Args:
            reason: why, as the operator sees it.
        """
