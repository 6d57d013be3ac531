"""The states of the lab's things, as types: a trial's, a campaign session's, an executor's.
Each is stored and sent by its value (``"completed"``), so the store, the API and the
dashboard read them as text."""

from __future__ import annotations

from enum import StrEnum


class TrialStatus(StrEnum):
    """Where a trial is, stored by its value: proposed (to run, or to an operator when
    approval is required: awaiting_approval), running, then completed or failed; or
    rejected by an operator."""

    PROPOSED = "proposed"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"


class SessionState(StrEnum):
    """Where a start of a campaign is: it holds the devices while starting, running or
    stopping."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


class ExecutorState(StrEnum):
    """What an executor is doing: idle, running a plan, pausing (at the next checkpoint),
    or paused."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
