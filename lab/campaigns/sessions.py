"""A start of a campaign in the lab process, and how far it got: what the dashboard shows
of a running campaign."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lab.states import SessionState

if TYPE_CHECKING:
    from lab.campaigns.runner import CampaignRunner


@dataclass
class CampaignSession:
    """One start of a campaign in this lab process, and how far it got."""

    name: str
    started_by: str
    planner: str
    seed: int
    total: int
    approval: str
    state: SessionState = SessionState.STARTING
    started: float = field(default_factory=time.time)
    done: int = 0
    best: dict[str, float] | None = None
    seconds_per_trial: float | None = None
    stopped: str | None = None
    alert: str | None = None  # why the campaign paused itself, until it is resumed
    #: the last word on its consumables (low, running out, short), with when it was said
    consumable: dict[str, Any] | None = None
    runner: CampaignRunner | None = None
    thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Starting, running or stopping: it holds the devices."""
        return self.state in (SessionState.STARTING, SessionState.RUNNING, SessionState.STOPPING)

    def as_json(self) -> dict[str, Any]:
        """The session as the API shows it."""
        return {
            "name": self.name,
            "state": self.state,
            "started_by": self.started_by,
            "started": self.started,
            "planner": self.planner,
            "seed": self.seed,
            "approval": self.approval,
            "done": self.done,
            "total": self.total,
            "best": self.best,
            "seconds_per_trial": self.seconds_per_trial,
            "stopped": self.stopped,
            "alert": self.alert,
            "consumable": self.consumable,
        }
