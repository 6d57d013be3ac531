"""What the lab server's HTTP API answers, as types: the server declares them as its
endpoints' response models (so its OpenAPI page at ``/docs`` is the API's reference) and
:class:`lab.client.LabClient` reads its answers into them. A field the server adds or drops
without changing these fails the tests, not a script at a facility."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lab.states import ExecutorState, SessionState, TrialStatus


class Answer(BaseModel):
    """An answer of the API: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class Refusal(Answer):
    """A request refused, in words: which field or which state, and why."""

    detail: str


# --- the server and its users ------------------------------------------------------------------
class Health(Answer):
    """The server is up."""

    status: Literal["ok"]
    lab: str = Field(description="the lab's name")


class BrowserLogin(Answer):
    """A browser session: the cookie is set; send ``csrf_token`` in ``X-CSRF-Token``."""

    user: str
    role: str
    csrf_token: str
    expires: float = Field(description="when the session ends (Unix time)")


class TokenLogin(Answer):
    """A bearer token for scripts."""

    token: str
    user: str
    role: str
    expires: float = Field(description="when the token stops working (Unix time)")


class LoggedOut(Answer):
    """The session has ended."""

    status: Literal["logged out"]


class Me(Answer):
    """Who is logged in."""

    user: str
    role: str
    via: str = Field(description="browser (a cookie) or token")
    csrf_token: str | None


class User(Answer):
    """A user of the lab server."""

    username: str
    role: str
    created: float | None = None
    agent: bool = Field(False, description="an AI agent's user (through MCP)")
    unattended: list[str] = Field(
        [], description="an agent's campaigns it may run without a person's approval"
    )


class Unattended(Answer):
    """A grant to an agent user: it may run the campaign without a person's approval."""

    username: str
    campaign: str
    granted: bool


class UserRemoved(Answer):
    """A user removed; their sessions ended."""

    removed: str


class UserUnlocked(Answer):
    """A lock that failed logins put on a user, lifted."""

    username: str
    was_locked: bool


class AuditLine(Answer):
    """One line of the audit log."""

    id: int
    time: float
    user: str | None
    role: str | None
    client: str | None
    action: str
    target: str | None
    detail: dict[str, Any] | None
    outcome: str


class NotificationLine(Answer):
    """One message the lab sent to a notification channel, or gave up on, and why."""

    id: int
    time: float
    event_time: float
    event: str
    severity: str
    subject: str
    title: str
    channel: str
    status: Literal["sent", "failed"]
    attempts: int
    more: int = Field(description="like events it stood for (rate limit, quiet hours)")
    error: str | None


# --- the lab and its run control ------------------------------------------------------------
class LatchedStop(Answer):
    """The latched emergency stop: who pressed it, why, when, and each device's answer."""

    by: str
    reason: str
    time: float
    devices: dict[str, str]


#: the lab's state as every page shows it, most urgent first
LabWord = Literal[
    "emergency stop",
    "paused",
    "pausing",
    "awaiting approval",
    "starting",
    "running",
    "stopping",
    "busy",
    "idle",
]


class ControlState(Answer):
    """The run-control state every page shows."""

    lab: LabWord = Field(
        description="the one state the header, the active campaign's badge and the controls follow"
    )
    executor: ExecutorState
    active_campaign: str | None
    exclusive: str | None = Field(description="who has the devices outside any campaign, and why")
    estop: LatchedStop | None


class LabState(Answer):
    """Every device's state and readings, where each vial is, and the run control."""

    name: str
    simulated: bool
    snapshot: dict[str, Any] = Field(description="devices (state, readings) and vials, as read")
    control: ControlState


class Finishing(Answer):
    """A station's last trial, its vial measured elsewhere while the next one has the
    station (a campaign's ``overlap``)."""

    campaign: str | None
    trial: int
    step: int
    steps: int
    since: float


class StationNow(Answer):
    """A station (or workcell) and the trial it runs, if any."""

    station: str
    campaign: str | None = None
    trial: int | None = None
    step: int | None = None
    steps: int | None = None
    since: float | None = None
    #: a plate's batch: its trials and their wells
    trials: list[int] | None = None
    wells: list[str] | None = None
    finishing: list[Finishing] = []


class Waiting(Answer):
    """A trial waiting for a station."""

    campaign: str
    trial: int
    status: str


class Stations(Answer):
    """What each station does now, and the trials waiting for one."""

    stations: list[StationNow]
    queue: list[Waiting]


class DeviceTime(Answer):
    """One device's shares of a campaign's lab time (each 0-1, together 1)."""

    device: str
    busy: float = Field(description="working on a trial, or preparing for one")
    waiting_resource: float = Field(description="its trial waiting for a device another holds")
    waiting_software: float = Field(
        description="free with more to run while its next trial was decided (the planner, "
        "an approval, a pause) or started"
    )
    idle: float


class TimeUse(Answer):
    """Where a campaign's lab time went, device by device."""

    summary: str = Field(description="the bottleneck and its busy share, in a sentence")
    bottleneck: str | None = Field(description="the device busy the largest share")
    experiments_per_hour: float | None
    devices: list[DeviceTime]


class EstopAnswer(Answer):
    """The emergency stop, pressed: each device's answer, and how long it took."""

    latched: Literal[True]
    devices: dict[str, str]
    confirmed: bool = Field(description="every device confirmed its safe state")
    seconds: float


class ResetAnswer(Answer):
    """The emergency stop, cleared."""

    latched: Literal[False]
    devices: dict[str, str]


class PlanAnswer(Answer):
    """How a plan run by hand ended."""

    exit_status: str
    run_uids: list[str]
    reason: str | None


class Diagnoses(Answer):
    """The diagnosis in progress (if any), why the last one ended early (if it did), and
    each device's latest results."""

    running: dict[str, Any] | None
    error: str | None
    latest: dict[str, list[dict[str, Any]]]


# --- runs ------------------------------------------------------------------------------------
class Run(Answer):
    """A bluesky run, indexed from its start and stop documents."""

    uid: str
    scan_id: int
    plan_name: str | None
    started: float
    finished: float | None
    exit_status: str | None
    reason: str | None
    campaign: str | None
    trial: int | None
    operator: str | None
    station: str | None = None


class Document(Answer):
    """One bluesky document, as stored."""

    name: str
    doc: dict[str, Any]


class RunWithDocuments(Answer):
    """A run and its documents."""

    run: Run
    documents: list[Document]


# --- campaigns -------------------------------------------------------------------------------
class ConsumableWord(Answer):
    """What a campaign last said of its consumables."""

    text: str = Field(description="what, in words, with what to do")
    short: bool = Field(description="the next trial cannot finish: the lab paused for a refill")
    time: float = Field(description="when (seconds since the epoch)")


class Supply(Answer):
    """One consumable of the lab: what it holds and how long it lasts."""

    name: str = Field(description="a reagent's name, or vials (the racks)")
    level: float = Field(description="what it holds now, in unit")
    unit: str = Field(description="mL, or vials")
    low: float | None = Field(description="below this people are told, if set")
    per_trial: float | None = Field(
        description="what a trial of the running campaign is expected to take"
    )
    trials_left: int | None = Field(description="how many more trials it lasts at that rate")
    is_low: bool = Field(description="below its warn level")


class Offered(Answer):
    """A trial offered to a running campaign: its parameters as checked, and whether it
    waits for a person's approval before it runs."""

    campaign: str
    parameters: dict[str, str]
    waits_for_approval: bool


class DraftChecked(Answer):
    """A draft campaign that passed every check a start makes."""

    name: str
    trials: int
    planner: str
    parameters: list[str]
    protocol: str


class ChannelSetting(Answer):
    """A notification channel as the lab file sets it (no secret shown)."""

    name: str
    kind: str
    to: str = Field(description="where it sends: a host, addresses, or $VARIABLE")
    events: list[str] = Field(description="the events routed to it")


class NotificationSettings(Answer):
    """Where the lab's notifications go."""

    channels: list[ChannelSetting]
    quiet_hours: str | None
    rate_limit: str
    summary_at: str | None


class Refilled(Answer):
    """A refill, as recorded."""

    consumable: str
    level: str = Field(description="what it holds now: '250 mL', '48 vials'")
    by: str
    time: float


class Session(Answer):
    """A start of a campaign in the lab server, and how far it got."""

    name: str
    state: SessionState
    started_by: str
    started: float
    planner: str
    seed: int
    approval: str
    done: int
    total: int
    best: dict[str, float] | None
    seconds_per_trial: float | None
    stopped: str | None
    alert: str | None = Field(description="why the campaign paused itself, until resumed")
    consumable: ConsumableWord | None = Field(
        description="the last word on its consumables: low, running out, or short"
    )


class CampaignEntry(Answer):
    """A campaign as the overview lists it: a file (with its defaults, or the error that
    makes it unusable), a record in the store, or both."""

    name: str
    file: str | None
    trials: int
    completed: int
    failed: int
    session: Session | None
    description: str | None = None
    default_trials: int | None = None
    default_planner: str | None = None
    default_seed: int | None = None
    approval: str | None = None
    error: str | None = None


class Trial(Answer):
    """A trial: parameters as text with units, outcomes as numbers in ``outcome_units``."""

    campaign: str
    trial: int
    status: TrialStatus
    parameters: dict[str, str]
    outcomes: dict[str, float] | None
    outcome_units: dict[str, str] | None
    error: str | None
    planner: str
    run_uid: str | None
    sample_id: str | None
    proposed: float | None
    finished: float | None
    decided_by: str | None
    session: int | None
    suggestion: dict[str, Any] | None


class CampaignDetail(CampaignEntry):
    """One campaign: its entry, every trial, and the trials its planner holds best."""

    best_trials: list[int] = Field(description="one, or the Pareto front")
    best_rule: Literal["model", "observed"] | None
    maximised: list[str] = Field([], description="the objectives maximised (others minimised)")
    trial_list: list[Trial]


class Spectrum(Answer):
    """A spectrum: absorbance at each wavelength."""

    wavelength_nm: list[float]
    absorbance: list[float]


class MeasuredSpectrum(Spectrum):
    """A trial's measured spectrum."""

    campaign: str
    trial: int
    run_uid: str


# --- approvals -------------------------------------------------------------------------------
class Bounds(Answer):
    """What a parameter may be: ``min`` and ``max`` as text with units (continuous),
    ``values`` (discrete: text with units), or ``choices`` (names)."""

    min: str | None = None
    max: str | None = None
    values: list[str] | None = None
    choices: list[str] | None = None


class Proposal(Answer):
    """A proposed trial waiting for an operator."""

    campaign: str
    trial: int
    parameters: dict[str, str]
    bounds: dict[str, Bounds]
    constraints: list[str]
    generator: str
    proposed: float


class Decided(Answer):
    """A proposal, approved (perhaps edited) or rejected."""

    campaign: str
    trial: int
    approved: bool
    edited: bool | None = None
