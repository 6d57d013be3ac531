"""The JSON API: state, campaigns, run control, approvals, plans by hand, users, audit.

Every route names the role it needs. Bad requests get a 4xx whose ``detail`` names the
field or the state at fault, and change nothing (see the error handlers in ``_app.py``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from devices import quantity_text
from lab import answers
from lab.accounts.users import add_user, remove_user
from lab.errors import Conflict, NotFound
from lab.files.notifications_file import EventKind
from lab.notifications import channel_target
from lab.outputs.report import campaign_figures
from lab.records.best import best_trial
from lab.records.consumables import Supply
from lab.records.timeline import Span
from lab.server._auth import COOKIE, Login, Principal, authorized, current_principal, require
from lab.server._lab_process import LabServer
from lab.server._throttle import Throttled
from lab.store import TrialStatus

#: the refusals any endpoint may answer, each a sentence in ``detail``
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": answers.Refusal, "description": "not logged in, or the session expired"},
    403: {"model": answers.Refusal, "description": "the role is not enough, or no CSRF token"},
    404: {"model": answers.Refusal, "description": "no such campaign, trial, run or user"},
    409: {"model": answers.Refusal, "description": "not now: the lab's state refuses it"},
    429: {"model": answers.Refusal, "description": "too many logins; try again later"},
}
router = APIRouter(prefix="/api", responses=REFUSALS)
Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Staff = Annotated[Principal, Depends(require("staff"))]


async def lab_server(request: Request) -> LabServer:
    """The lab process this app serves (on the event loop: it takes no request worker)."""
    return request.app.state.lab_server


Server = Annotated[LabServer, Depends(lab_server)]


def note(request: Request, action: str, target: str | None = None, **detail: Any) -> None:
    """What the audit log should say of this request."""
    request.state.audit = {"action": action, "target": target, "detail": detail or None}


class _Body(BaseModel):
    """Strict: ``true`` is not a count, ``2.0`` not an integer, ``"1"`` not a number."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# --- login ---------------------------------------------------------------------------------
class Credentials(_Body):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenRequest(Credentials):
    """Credentials, and how long the token should live."""

    ttl_hours: float = Field(24.0, gt=0, le=720, description="lifetime of the token")


@router.get("/health", tags=["lab"], response_model=answers.Health)
def health(server: Server) -> dict[str, str]:
    """No login needed: for a load balancer or a watchdog."""
    return {"status": "ok", "lab": server.config.name}


@router.post("/auth/login", tags=["auth"], response_model=answers.BrowserLogin)
async def login(
    body: Credentials, request: Request, response: Response, server: Server
) -> dict[str, Any]:
    """Browser login: sets the session cookie; send ``csrf_token`` back in ``X-CSRF-Token``.
    Too many failures for a user or from an address answer 429 for a while."""
    note(request, "login", body.username, via="browser")
    request.state.audit["user"] = body.username
    found = await _checked_login(request, server, body.username, body.password, "browser")
    response.set_cookie(
        COOKIE,
        found.token,
        max_age=int(server.auth.browser_ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return {
        "user": found.user,
        "role": found.role,
        "csrf_token": found.csrf,
        "expires": found.expires,
    }


@router.post("/auth/token", tags=["auth"], response_model=answers.TokenLogin)
async def token(body: TokenRequest, request: Request, server: Server) -> dict[str, Any]:
    """A bearer token for scripts (``Authorization: Bearer <token>``); no cookie, no CSRF.
    Throttled as the login is."""
    note(request, "token", body.username, ttl_hours=body.ttl_hours)
    request.state.audit["user"] = body.username
    found = await _checked_login(
        request, server, body.username, body.password, "token", body.ttl_hours * 3600
    )
    return {"token": found.token, "user": found.user, "role": found.role, "expires": found.expires}


async def _checked_login(
    request: Request,
    server: Server,
    user: str,
    password: str,
    via: Literal["browser", "token"],
    ttl_s: float | None = None,
) -> Login:
    """The password checked off the request workers (one at a time, a short queue), after
    the throttle has let the user and the address through."""
    throttle = server.auth.throttle
    client = request.client.host if request.client else "unknown"
    try:
        throttle.admit(user, client)
        found = await throttle.check(lambda: server.auth.login(user, password, via, ttl_s))
    except Throttled as err:
        raise HTTPException(
            429, str(err), headers={"Retry-After": str(err.retry_after_s)}
        ) from None
    if found is None:
        throttle.failed(user, client)
        raise HTTPException(401, "wrong user name or password")
    throttle.succeeded(user)
    request.state.audit["role"] = found.role
    return found


@router.post("/auth/logout", tags=["auth"], response_model=answers.LoggedOut)
def logout(
    request: Request,
    response: Response,
    server: Server,
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, str]:
    """End this browser session."""
    note(request, "logout")
    server.auth.logout(principal)
    response.delete_cookie(COOKIE)
    return {"status": "logged out"}


@router.get("/auth/me", tags=["auth"], response_model=answers.Me)
def me(principal: Viewer) -> dict[str, Any]:
    """Who is logged in, and their role."""
    return {
        "user": principal.user,
        "role": principal.role,
        "via": principal.via,
        "csrf_token": principal.csrf,
    }


# --- the lab ---------------------------------------------------------------------------------
@router.get("/lab", tags=["lab"], response_model=answers.LabState)
def lab_state(principal: Viewer, server: Server) -> dict[str, Any]:
    """Every device's state and readings (with the time each was read), where each vial is,
    and the run-control state."""
    return {
        "name": server.config.name,
        "simulated": server.config.simulated,
        # a coordinator of workcells has no devices of its own to show
        "snapshot": server.monitor.latest if server.monitor else {"devices": [], "vials": []},
        "control": server.manager.control_state(),
    }


@router.get(
    "/stations", tags=["lab"], response_model=answers.Stations, response_model_exclude_unset=True
)
def stations(principal: Viewer, server: Server) -> dict[str, Any]:
    """Each synthesis station's trial in progress (campaign, trial, the step it is at of
    how many, since when) and the trials waiting for a station."""
    return server.manager.queries.stations()


@router.get("/events", tags=["lab"])
async def events(
    principal: Viewer,
    server: Server,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Server-sent events: ``lab``, ``control``, ``campaign``, ``trial``, ``proposals``,
    ``spectrum``, each with an ``id``. The latest of each comes first; a client that sends
    ``Last-Event-ID`` gets what it missed since that event instead."""
    seen = int(last_event_id) if last_event_id and last_event_id.isdigit() else None

    async def stream() -> AsyncIterator[str]:
        async for text in server.publisher.stream(seen):
            yield text

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/lab/pause", tags=["run control"], response_model=answers.ControlState)
def pause(request: Request, principal: Operator, server: Server) -> dict[str, Any]:
    """Start nothing new; the plan in progress pauses at its next checkpoint (between
    protocol steps)."""
    note(request, "pause")
    server.manager.pause(principal.user)
    return server.manager.control_state()


@router.post("/lab/resume", tags=["run control"], response_model=answers.ControlState)
def resume(request: Request, principal: Operator, server: Server) -> dict[str, Any]:
    """Resume the lab after a pause."""
    note(request, "resume")
    server.manager.resume(principal.user)
    return server.manager.control_state()


#: the emergency stop's own threads: no request to any other endpoint can hold them
_ESTOP = ThreadPoolExecutor(max_workers=2, thread_name_prefix="emergency-stop")


@router.post("/lab/estop", tags=["run control"], response_model=answers.EstopAnswer)
async def emergency_stop(request: Request, server: Server) -> dict[str, Any]:
    """Every device to its safe state at once; latched until staff reset it.

    Served on threads of its own, the login check included: logins, large bodies and
    slow requests elsewhere take the request workers, never these."""
    loop = asyncio.get_running_loop()
    principal = await loop.run_in_executor(_ESTOP, authorized, request, "operator")
    report = await loop.run_in_executor(_ESTOP, server.manager.emergency_stop, principal.user)
    note(request, "emergency stop", devices=report.devices, seconds=round(report.seconds, 4))
    return {
        "latched": True,
        "devices": report.devices,
        "confirmed": report.confirmed,
        "seconds": report.seconds,
    }


@router.post("/lab/reset", tags=["run control"], response_model=answers.ResetAnswer)
def reset(request: Request, principal: Staff, server: Server) -> dict[str, Any]:
    """Clear a latched emergency stop (each device, then the lab)."""
    note(request, "reset")
    return {"latched": False, "devices": server.manager.reset(principal.user)}


#: a device or one of its parts by its dotted path, e.g. ``spectrometer``, ``station.heater``
DevicePath = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z][\w-]*(\.[\w-]+)*$")
]


class CountArgs(_Body):
    """``bp.count``: read the detectors ``num`` times."""

    detectors: list[DevicePath] = Field(
        min_length=1, max_length=50, description="devices by name, e.g. ['spectrometer']"
    )
    num: int = Field(1, ge=1, le=10_000, description="how many readings")


class ScanArgs(_Body):
    """``bp.scan``: step the motor from ``start`` to ``stop`` in ``num`` points, reading the
    detectors at each; bare numbers are in the unit the motor declares (e.g. degC)."""

    detectors: list[DevicePath] = Field(
        default_factory=list, max_length=50, description="devices read at each point"
    )
    motor: DevicePath = Field(description="what is stepped, e.g. 'station.heater'")
    start: float = Field(description="the first set point, in the motor's unit")
    stop: float = Field(description="the last set point, in the motor's unit")
    num: int = Field(ge=1, le=1000, description="how many points")


class CountPlan(_Body):
    """A ``count`` by hand."""

    plan: Literal["count"]
    kwargs: CountArgs


class ScanPlan(_Body):
    """A ``scan`` by hand."""

    plan: Literal["scan"]
    kwargs: ScanArgs


PlanBody = Annotated[CountPlan | ScanPlan, Body(discriminator="plan")]


@router.post("/plans", tags=["devices"], response_model=answers.PlanAnswer)
def run_plan(body: PlanBody, request: Request, principal: Staff, server: Server) -> dict[str, Any]:
    """Run a standard plan by hand; it is recorded in the store like a campaign's runs. A
    plan refused (an unknown device, a set point beyond the device's limits) records
    nothing."""
    kwargs = body.kwargs.model_dump()
    note(request, "plan", body.plan, kwargs=kwargs)
    outcome = server.manager.run_plan(body.plan, kwargs, principal.user)
    if outcome.error is not None:
        status = 422 if isinstance(outcome.error, TypeError | ValueError) else 409
        raise HTTPException(status, f"plan {body.plan}: {outcome.why}")
    return {
        "exit_status": outcome.exit_status,
        "run_uids": list(outcome.run_uids),
        "reason": outcome.reason,
    }


class DiagnoseBody(_Body):
    """Which devices to diagnose."""

    devices: list[str] = Field(
        default_factory=list, max_length=50, description="devices to check; empty: all"
    )


@router.get("/diagnoses", tags=["devices"], response_model=answers.Diagnoses)
def diagnoses(principal: Viewer, server: Server) -> dict[str, Any]:
    """The latest diagnosis of each device (results with status, figure, levels, hint)
    and the diagnosis in progress, if any."""
    if server.diagnostics is None:
        return {"running": None, "error": None, "latest": {}}
    return server.diagnostics.state()


@router.post("/diagnoses", tags=["devices"], status_code=202, response_model=answers.Diagnoses)
def start_diagnosis(
    body: DiagnoseBody, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Start the diagnostics of the lab's devices (refused while anything else runs on
    them); results arrive on the event stream (topic ``diagnosis``) and in the store."""
    note(request, "diagnose", ",".join(body.devices) or "all")
    if server.diagnostics is None:
        raise Conflict("this process coordinates workcells: run lab diagnose on each of them")
    try:
        server.diagnostics.start(principal.user, body.devices)
    except ValueError as err:
        raise HTTPException(422, f"devices: {err}") from None
    return server.diagnostics.state()


@router.get("/runs", tags=["data"], response_model=list[answers.Run])
def runs(
    principal: Viewer,
    server: Server,
    campaign: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Runs, newest first: campaigns' and those started by hand."""
    return [vars(r) for r in server.store.runs(limit, campaign)]


@router.get("/runs/{uid}", tags=["data"], response_model=answers.RunWithDocuments)
def run(uid: str, principal: Viewer, server: Server) -> dict[str, Any]:
    """A run and its bluesky documents, as stored."""
    record = server.store.run(uid)
    if record is None:
        raise NotFound(f"no run {uid!r}")
    documents = [{"name": n, "doc": d} for n, d in server.store.documents(uid)]
    return {"run": vars(record), "documents": documents}


# --- campaigns ---------------------------------------------------------------------------------
#: a campaign of 1,000 trials is megabytes of JSON: encoded by pydantic-core in one pass,
#: not walked value by value (FastAPI's generic encoder took most of a second)
_SPANS = TypeAdapter(list[Span])
_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _json(encoded: bytes) -> Response:
    return Response(encoded, media_type="application/json")


class StartBody(_Body):
    """How to start a campaign: trials, planner and seed (default: the campaign file's)."""

    trials: int | None = Field(None, ge=1, le=10_000, description="total trials to reach")
    planner: Literal["ax", "ax-default", "sobol", "random", "spectral"] | None = None
    seed: int | None = Field(None, ge=0)


@router.get(
    "/campaigns",
    tags=["campaigns"],
    response_model=list[answers.CampaignEntry],
    response_model_exclude_unset=True,
)
def campaigns(principal: Viewer, server: Server) -> list[dict[str, Any]]:
    """The campaign files of this lab and the campaigns in its store."""
    return server.manager.queries.overview()


@router.get("/campaigns/{name}", tags=["campaigns"], response_model=answers.CampaignDetail)
def campaign(name: str, principal: Viewer, server: Server) -> Response:
    """One campaign: its session, trials, and the trials its planner holds best
    (``best_trials``: one, or the Pareto front for several objectives; ``best_rule``:
    chosen by the planner's "model" estimate or the "observed" values)."""
    return _json(_ANY.dump_json(server.manager.queries.detail(name)))


@router.get("/campaigns/{name}/timeline", tags=["campaigns"], response_model=list[Span])
def timeline(name: str, principal: Viewer, server: Server) -> Response:
    """Every step of the campaign's trials: the device it kept busy, its trial and station,
    and when (lab clock, seconds) it was reached, began and ended: a Gantt chart's data
    (the sessions of a resumed simulated campaign, whose clock starts each again from
    zero, one after another)."""
    return _json(_SPANS.dump_json(server.manager.queries.timeline(name)))


@router.get("/campaigns/{name}/time-use", tags=["campaigns"], response_model=answers.TimeUse)
def time_use(name: str, principal: Viewer, server: Server) -> dict[str, Any]:
    """Where the campaign's lab time went: each device's share busy (working, or preparing
    for a trial), waiting for a resource another trial holds, waiting for its next trial
    (``waiting_software``: the planner, an approval, a pause), idle; the bottleneck is the
    device busy the largest share."""
    return server.manager.queries.time_use(name)


@router.get(
    "/campaigns/{name}/plots/{figure}.png",
    tags=["campaigns"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the figure"}},
)
def plot(name: str, figure: str, principal: Viewer, server: Server) -> Response:
    """One of the campaign's figures, as its report draws them: ``best_so_far``,
    ``parameters``, ``timeline``, ``pareto`` (several objectives), ``best_spectrum``."""
    config, _, _ = server.manager.folder.load(name)
    figures = campaign_figures(
        server.store,
        config,
        server.config.spectra_from,
        best_trial(server.store, config),
        server.manager.queries.timeline(name),  # the steps the timeline route keeps read
    )
    if figure not in figures:
        raise NotFound(f"campaign {name!r} has no figure {figure!r}; it has {sorted(figures)}")
    buffer = io.BytesIO()
    figures[figure].savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return Response(buffer.getvalue(), media_type="image/png")


@router.get("/campaigns/{name}/target", tags=["campaigns"], response_model=answers.Spectrum)
def target(name: str, principal: Viewer, server: Server) -> dict[str, Any]:
    """The target spectrum, for a campaign with a spectral objective."""
    found = server.manager.queries.target(name)
    if found is None:
        raise NotFound(f"campaign {name!r} has no target spectrum")
    return found


@router.get(
    "/campaigns/{name}/spectrum", tags=["campaigns"], response_model=answers.MeasuredSpectrum
)
def spectrum(
    name: str, principal: Viewer, server: Server, trial: int | None = None
) -> dict[str, Any]:
    """The measured spectrum of ``trial`` (default: the latest completed one)."""
    done = [
        t
        for t in server.manager.queries.trials(name)
        if t.status == TrialStatus.COMPLETED and t.run_uid
    ]
    chosen = [t for t in done if trial is None or t.idx == trial]
    if not chosen:
        raise NotFound(
            f"campaign {name!r} has no completed trial {trial if trial is not None else ''}".rstrip()
        )
    record = chosen[-1]
    assert record.run_uid is not None
    try:
        measured = server.manager.queries.spectrum(record.run_uid, record.sample_id)
    except ValueError:
        raise NotFound(f"campaign {name!r}: trial {record.idx} took no spectrum") from None
    return {"campaign": name, "trial": record.idx, **measured}


@router.post("/campaigns/{name}/start", tags=["campaigns"], response_model=answers.Session)
def start(
    name: str, body: StartBody, request: Request, principal: Operator, server: Server
) -> dict[str, Any]:
    """Start (or continue) the campaign in this lab."""
    gated = _gated(principal, server, name)
    note(request, "campaign start", name, **body.model_dump(exclude_none=True), agent=gated)
    approval = "required" if gated else None
    session = server.manager.start(
        name, principal.user, body.trials, body.planner, body.seed, approval
    )
    return session.as_json()


def _gated(principal: Principal, server: Server, campaign: str) -> bool:
    """An agent's start or trial waits for a person, unless staff granted it this campaign."""
    return principal.agent and campaign not in server.store.accounts.unattended(principal.user)


class DraftBody(_Body):
    """A campaign file (and its protocol) to check, as YAML text."""

    campaign: str = Field(min_length=1, max_length=100_000, description="the campaign file")
    protocol: str | None = Field(
        None, max_length=100_000, description="the protocol file it names; the lab's if null"
    )


@router.post("/campaigns/check", tags=["campaigns"], response_model=answers.DraftChecked)
def check_draft(body: DraftBody, principal: Operator, server: Server) -> dict[str, Any]:
    """Check a draft campaign as a start would (its files, then its protocol at every
    bound against the lab's limits), moving nothing; 422 lists every problem."""
    return server.manager.check_draft(body.campaign, body.protocol)


class OfferBody(_Body):
    """A trial chosen outside the planner: every parameter, as text with its unit."""

    parameters: dict[str, str] = Field(max_length=100, description="{'cyan': '1.2 mL', ...}")


@router.post(
    "/campaigns/{name}/offers", tags=["campaigns"], status_code=202, response_model=answers.Offered
)
def offer(
    name: str, body: OfferBody, request: Request, principal: Operator, server: Server
) -> dict[str, Any]:
    """Offer a trial to the running campaign: it runs next (within the budget), after a
    person's approval if an agent offers it without staff's grant of unattended runs."""
    gated = _gated(principal, server, name)
    note(request, "trial offer", name, **body.parameters)
    checked = server.manager.offer(name, body.parameters, principal.user, gated)
    return {"campaign": name, "parameters": checked, "waits_for_approval": gated}


@router.post("/campaigns/{name}/stop", tags=["campaigns"], response_model=answers.Session)
def stop(name: str, request: Request, principal: Operator, server: Server) -> dict[str, Any]:
    """Stop after the trial in flight."""
    note(request, "campaign stop", name)
    server.manager.stop(name, principal.user)
    return server.manager.sessions[name].as_json()


@router.post("/campaigns/{name}/abort", tags=["campaigns"], response_model=answers.Session)
def abort(name: str, request: Request, principal: Operator, server: Server) -> dict[str, Any]:
    """End the trial in flight now; it is recorded as failed, the station goes safe."""
    note(request, "campaign abort", name)
    server.manager.abort(name, principal.user)
    return server.manager.sessions[name].as_json()


# --- approvals -------------------------------------------------------------------------------
class ApproveBody(_Body):
    """Edits to a proposal's parameters (text with units), checked against the space."""

    parameters: dict[str, str] | None = Field(
        None, description="edited values with units, e.g. {'cyan': '1.2 mL'}; others unchanged"
    )


class RejectBody(_Body):
    """Why a proposal is rejected."""

    reason: str = Field(min_length=1, max_length=2000)


@router.get("/proposals", tags=["approvals"], response_model=list[answers.Proposal])
def proposals(principal: Viewer, server: Server) -> list[dict[str, Any]]:
    """Proposed experiments waiting for an operator."""
    return [p.as_json() for p in server.manager.desk.pending()]


@router.post(
    "/campaigns/{name}/proposals/{trial}/approve",
    tags=["approvals"],
    response_model=answers.Decided,
    response_model_exclude_unset=True,
)
def approve(
    name: str,
    trial: int,
    body: ApproveBody,
    request: Request,
    principal: Operator,
    server: Server,
) -> dict[str, Any]:
    """Approve as proposed, or with edits (checked against bounds and constraints)."""
    note(request, "approve", f"{name}/{trial}", edits=body.parameters)
    server.manager.desk.approve(name, trial, principal.user, body.parameters)
    return {"campaign": name, "trial": trial, "approved": True, "edited": bool(body.parameters)}


@router.post(
    "/campaigns/{name}/proposals/{trial}/reject",
    tags=["approvals"],
    response_model=answers.Decided,
    response_model_exclude_unset=True,
)
def reject(
    name: str, trial: int, body: RejectBody, request: Request, principal: Operator, server: Server
) -> dict[str, Any]:
    """Reject: the planner is told the trial was abandoned, with the reason."""
    note(request, "reject", f"{name}/{trial}", reason=body.reason)
    server.manager.desk.reject(name, trial, principal.user, body.reason)
    return {"campaign": name, "trial": trial, "approved": False}


# --- consumables -----------------------------------------------------------------------------
def _supply(s: Supply) -> dict[str, Any]:
    return {
        "name": s.name,
        "level": s.level,
        "unit": s.unit,
        "low": s.low,
        "per_trial": s.per_trial,
        "trials_left": s.trials_left(),
        "is_low": s.is_low,
    }


@router.get("/consumables", tags=["lab"], response_model=list[answers.Supply])
def consumables(principal: Viewer, server: Server) -> list[dict[str, Any]]:
    """What each reagent's reservoir holds (its sensor's reading; the lowest over the
    stations) and the fresh vials left in the racks, with what a trial of the running
    campaign takes and how many trials that lasts."""
    return [_supply(s) for s in server.consumables.now()]


class RefillBody(_Body):
    """What a consumable holds after the refill."""

    level: str = Field(
        min_length=1,
        max_length=40,
        description="a reagent's volume ('250 mL'), or for vials a count ('48')",
    )


@router.post("/consumables/{name}/refill", tags=["lab"], response_model=answers.Refilled)
def refill(
    name: str, body: RefillBody, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Record a refill (staff): a reagent's reservoir or the racks of vials hold ``level``
    now. In a simulated lab the simulator fills them; a campaign paused for it goes on
    when someone resumes the lab."""
    note(request, "refill", name, level=body.level)
    try:
        done = server.consumables.refill(name, body.level, principal.user)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    return {"consumable": done.consumable, "level": done.level, "by": done.user, "time": done.time}


# --- users and audit -------------------------------------------------------------------------
class NewUser(_Body):
    """A user to add: name, role and password."""

    username: str = Field(min_length=1, max_length=64)
    role: Literal["viewer", "operator", "staff"]
    password: str = Field(min_length=8, max_length=1024)
    agent: bool = Field(False, description="an AI agent's user (never staff)")


@router.get("/users", tags=["users"], response_model=list[answers.User])
def users(principal: Staff, server: Server) -> list[dict[str, Any]]:
    """Every user and their role (staff)."""
    accounts = server.store.accounts
    return [
        {
            "username": u.name,
            "role": u.role,
            "created": u.created,
            "agent": bool(u.agent),
            "unattended": accounts.unattended(u.name) if u.agent else [],
        }
        for u in accounts.users()
    ]


@router.post(
    "/users",
    tags=["users"],
    status_code=201,
    response_model=answers.User,
    response_model_exclude_unset=True,
)
def create_user(
    body: NewUser, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Add a user (staff)."""
    note(request, "user add", body.username, role=body.role, agent=body.agent)
    add_user(server.store, body.username, body.role, body.password, body.agent)
    return {"username": body.username, "role": body.role, "agent": body.agent}


@router.put(
    "/users/{username}/unattended/{campaign}", tags=["users"], response_model=answers.Unattended
)
def grant_unattended(
    username: str, campaign: str, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Let an agent user run ``campaign`` without a person's approval of each trial (staff)."""
    note(request, "grant unattended", username, campaign=campaign)
    user = server.store.accounts.user(username)
    if user is None or not user.agent:
        raise NotFound(f"no agent user {username!r}")
    server.manager.folder.load(campaign)  # NotFound for a campaign the lab does not have
    server.store.accounts.grant_unattended(username, campaign, principal.user)
    return {"username": username, "campaign": campaign, "granted": True}


@router.delete(
    "/users/{username}/unattended/{campaign}", tags=["users"], response_model=answers.Unattended
)
def revoke_unattended(
    username: str, campaign: str, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Take an agent's unattended runs of ``campaign`` back (staff)."""
    note(request, "revoke unattended", username, campaign=campaign)
    if not server.store.accounts.revoke_unattended(username, campaign):
        raise NotFound(f"{username!r} has no grant for {campaign!r}")
    return {"username": username, "campaign": campaign, "granted": False}


@router.delete("/users/{username}", tags=["users"], response_model=answers.UserRemoved)
def delete_user(
    username: str, request: Request, principal: Staff, server: Server
) -> dict[str, str]:
    """Remove a user and end their sessions (staff)."""
    note(request, "user remove", username)
    if username == principal.user:
        raise HTTPException(409, "you cannot remove yourself; ask another staff member")
    remove_user(server.store, username)
    return {"removed": username}


@router.post("/users/{username}/unlock", tags=["users"], response_model=answers.UserUnlocked)
def unlock_user(
    username: str, request: Request, principal: Staff, server: Server
) -> dict[str, Any]:
    """Lift a lock that failed logins put on a user (staff)."""
    note(request, "user unlock", username)
    return {"username": username, "was_locked": server.auth.throttle.unlock(username)}


@router.get("/notifications", tags=["audit"], response_model=list[answers.NotificationLine])
def notifications(
    principal: Operator,
    server: Server,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    since: float | None = None,
) -> list[dict[str, Any]]:
    """What the lab told people and how each message went (sent, or failed and why);
    newest first."""
    return [vars(d) for d in server.store.notifications.entries(limit, since)]


@router.get(
    "/notifications/settings", tags=["audit"], response_model=answers.NotificationSettings | None
)
def notification_settings(principal: Staff, server: Server) -> dict[str, Any] | None:
    """Where the lab's notifications go, as the lab file says (staff): each channel with
    the events routed to it, quiet hours, the rate limit and the morning summary's time.
    Secrets are never shown: an address kept in the environment is named by its variable."""
    n = server.config.notifications
    if n is None:
        return None
    sent = {kind: route for kind, route in n.events.items()}

    def events(channel: str) -> list[str]:
        return [
            str(kind)
            for kind in EventKind
            if (route := sent.get(kind)) is None
            or (route.send and (route.channels is None or channel in route.channels))
        ]

    return {
        "channels": [
            {"name": name, "kind": c.kind, "to": channel_target(c), "events": events(name)}
            for name, c in n.channels.items()
        ],
        "quiet_hours": None
        if n.quiet_hours is None
        else f"{n.quiet_hours.start:%H:%M}-{n.quiet_hours.end:%H:%M} (below {n.quiet_hours.below})",
        "rate_limit": quantity_text(n.rate_limit),
        "summary_at": None if n.summary_at is None else f"{n.summary_at:%H:%M}",
    }


@router.get("/audit", tags=["audit"], response_model=list[answers.AuditLine])
def audit(
    principal: Operator,
    server: Server,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before: int | None = None,
    user: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    """Who did what, when, from where, and the outcome; newest first. ``user`` keeps one
    user's entries (an agent's, say), ``action`` those whose action starts with it."""
    return [vars(e) for e in server.store.audit.entries(limit, before, user, action)]
