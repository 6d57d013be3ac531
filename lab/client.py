"""A running lab server, from a scientist's script or notebook::

    from lab.client import LabClient
    lab = LabClient.login("http://127.0.0.1:8000", "alice", password)
    lab.start("colour-match", trials=30)
    for proposal in lab.proposals():
        lab.approve(proposal.campaign, proposal.trial, {"cyan": "1.2 mL"})
    lab.wait("colour-match")

The client logs in for a bearer token (no cookie, so no CSRF token is needed), reads each
answer into its type (:mod:`lab.answers`, the models the server answers with) and raises
:class:`RemoteError` with the server's message for anything the server refuses.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pint
from pydantic import TypeAdapter

from lab import answers
from lab.states import SessionState

#: the states of a session that still holds the lab
ACTIVE = (SessionState.STARTING, SessionState.RUNNING, SessionState.STOPPING)


class RemoteError(RuntimeError):
    """The server refused or failed a request.

    Args:
        status: the HTTP status code.
        detail: the server's message.
    """

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{status}: {detail}")


class LabClient:
    """Read and control one lab server.

    Args:
        url: the server's address, e.g. ``http://127.0.0.1:8000``.
        token: a bearer token (from :meth:`login`, or ``lab remote login``).
        timeout_s: per request; plans by hand may take longer, see :meth:`run_plan`.
    """

    def __init__(self, url: str, token: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    @classmethod
    def login(cls, url: str, username: str, password: str, ttl_hours: float = 24.0) -> LabClient:
        """A client logged in to the lab server with a bearer token.

        Args:
            url: the server's address.
            username: the account to log in as.
            password: its password.
            ttl_hours: how long the token stays valid.
        """
        response = httpx.post(
            f"{url.rstrip('/')}/api/auth/token",
            json={"username": username, "password": password, "ttl_hours": ttl_hours},
            timeout=30.0,
        )
        token = _checked(response)["token"]
        return cls(url, token)

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------
    def _get(self, path: str, answer: Any, **params: Any) -> Any:
        """GET ``path``, read into ``answer`` (a model, or a list of one)."""
        found = _checked(
            self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        )
        return _reader(answer).validate_python(found)

    def _post(
        self, path: str, answer: Any, body: Mapping[str, Any] | None = None, **kw: Any
    ) -> Any:
        """POST ``body`` to ``path``, the reply read into ``answer``."""
        found = _checked(self._http.post(path, json=dict(body or {}), **kw))
        return _reader(answer).validate_python(found)

    def me(self) -> answers.Me:
        """Who this client is logged in as, and their role."""
        return self._get("/api/auth/me", answers.Me)

    def state(self) -> answers.LabState:
        """Devices (state, readings with read times), vials, and run control."""
        return self._get("/api/lab", answers.LabState)

    def stations(self) -> answers.Stations:
        """Each station's (or, on a coordinator, each workcell's) trial in progress, and the
        trials waiting for one."""
        return self._get("/api/stations", answers.Stations)

    def campaigns(self) -> list[answers.CampaignEntry]:
        """The lab's campaigns and their state."""
        return self._get("/api/campaigns", list[answers.CampaignEntry])

    def campaign(self, name: str) -> answers.CampaignDetail:
        """The campaign, its latest session (progress) and its trials.

        Args:
            name: the campaign's name.
        """
        return self._get(f"/api/campaigns/{name}", answers.CampaignDetail)

    def check_draft(self, campaign: str, protocol: str | None = None) -> answers.DraftChecked:
        """Check a draft campaign file (and its protocol) as a start would, moving nothing;
        a :class:`RemoteError` (422) lists every problem.

        Args:
            campaign: the campaign file, as YAML text.
            protocol: the protocol file it names, as YAML text; the lab's if None.
        """
        body = {"campaign": campaign, "protocol": protocol}
        return self._post("/api/campaigns/check", answers.DraftChecked, body)

    def offer(self, name: str, parameters: Mapping[str, str]) -> answers.Offered:
        """Offer a trial to the running campaign ``name``: it runs next, after a person's
        approval if this client's user is an agent without a grant for the campaign.

        Args:
            name: the campaign.
            parameters: every parameter's value as text with its unit.
        """
        body = {"parameters": dict(parameters)}
        return self._post(f"/api/campaigns/{name}/offers", answers.Offered, body)

    def plot(self, name: str, figure: str = "best_so_far") -> bytes:
        """One of a campaign's figures as PNG.

        Args:
            name: the campaign.
            figure: ``best_so_far``, ``parameters``, ``timeline``, ``pareto`` or
                ``best_spectrum``.
        """
        response = self._http.get(f"/api/campaigns/{name}/plots/{figure}.png")
        if response.status_code >= 400:
            _checked(response)
        return response.content

    def consumables(self) -> list[answers.Supply]:
        """What each reagent's reservoir and the racks hold, and how long it lasts."""
        return self._get("/api/consumables", list[answers.Supply])

    def refill(self, name: str, level: str) -> answers.Refilled:
        """Record a refill (staff).

        Args:
            name: a reagent, or ``vials``.
            level: what it holds now: ``250 mL``; for vials a count, ``48``.
        """
        return self._post(f"/api/consumables/{name}/refill", answers.Refilled, {"level": level})

    def proposals(self) -> list[answers.Proposal]:
        """Proposals waiting for approval."""
        return self._get("/api/proposals", list[answers.Proposal])

    def runs(self, campaign: str | None = None, limit: int = 100) -> list[answers.Run]:
        """The latest recorded runs.

        Args:
            campaign: only this campaign's runs; all runs if None.
            limit: at most this many, newest first.
        """
        return self._get("/api/runs", list[answers.Run], campaign=campaign, limit=limit)

    def documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        """A run's bluesky documents, as ``(name, doc)`` pairs.

        Args:
            run_uid: the run's uid (its start document's ``uid``).
        """
        found: answers.RunWithDocuments = self._get(
            f"/api/runs/{run_uid}", answers.RunWithDocuments
        )
        return [(d.name, d.doc) for d in found.documents]

    def events(self) -> Iterator[tuple[str, Any]]:
        """The server's live events as ``(topic, data)``, until the caller stops iterating."""
        with self._http.stream("GET", "/api/events", timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                _checked(response)
            topic = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    topic = line[7:]
                elif line.startswith("data: ") and topic is not None:
                    yield topic, json.loads(line[6:])["data"]

    # --- controlling -----------------------------------------------------------------------
    def start(
        self,
        name: str,
        trials: int | None = None,
        planner: str | None = None,
        seed: int | None = None,
    ) -> answers.Session:
        """Start a campaign.

        Args:
            name: the campaign's name.
            trials: how many trials in all; the campaign file's if None.
            planner: a planner name (``ax``, ``ax-default``, ``sobol``, ``random``); the
                campaign file's if None.
            seed: the planner's seed; the campaign file's if None.
        """
        body = {"trials": trials, "planner": planner, "seed": seed}
        return self._post(
            f"/api/campaigns/{name}/start",
            answers.Session,
            {k: v for k, v in body.items() if v is not None},
        )

    def stop(self, name: str) -> answers.Session:
        """Stop after the trial in flight.

        Args:
            name: the campaign's name.
        """
        return self._post(f"/api/campaigns/{name}/stop", answers.Session)

    def abort(self, name: str) -> answers.Session:
        """Abort the campaign's trial in flight and stop it.

        Args:
            name: the campaign's name.
        """
        return self._post(f"/api/campaigns/{name}/abort", answers.Session)

    def pause(self) -> answers.ControlState:
        """Pause the lab at the next step boundary."""
        return self._post("/api/lab/pause", answers.ControlState)

    def resume(self) -> answers.ControlState:
        """Resume the lab."""
        return self._post("/api/lab/resume", answers.ControlState)

    def emergency_stop(self) -> answers.EstopAnswer:
        """Stop every device at once (latched until staff reset it)."""
        return self._post("/api/lab/estop", answers.EstopAnswer)

    def reset(self) -> answers.ResetAnswer:
        """Clear the emergency stop (staff)."""
        return self._post("/api/lab/reset", answers.ResetAnswer)

    def approve(
        self, name: str, trial: int, parameters: Mapping[str, str | pint.Quantity] | None = None
    ) -> answers.Decided:
        """Approve a proposal, as proposed or edited.

        Args:
            name: the campaign's name.
            trial: the proposal's trial number.
            parameters: edited values by parameter name, as quantities or text with units
                (``"1.2 mL"``); None approves the proposal as it stands.
        """
        from devices import format_quantity  # the devices stack only when quantities come

        edits = None
        if parameters:
            edits = {
                k: v if isinstance(v, str) else format_quantity(v) for k, v in parameters.items()
            }
        return self._post(
            f"/api/campaigns/{name}/proposals/{trial}/approve",
            answers.Decided,
            {"parameters": edits},
        )

    def reject(self, name: str, trial: int, reason: str) -> answers.Decided:
        """Reject a proposal.

        Args:
            name: the campaign's name.
            trial: the proposal's trial number.
            reason: why, kept with the trial.
        """
        return self._post(
            f"/api/campaigns/{name}/proposals/{trial}/reject", answers.Decided, {"reason": reason}
        )

    def run_plan(self, plan: str, timeout_s: float = 600.0, **kwargs: Any) -> answers.PlanAnswer:
        """A standard plan by hand (staff): ``run_plan("count", detectors=["spectrometer"])``.

        Args:
            plan: the plan's name.
            timeout_s: how long to wait for the plan to finish.
            kwargs: the plan's arguments, with device names for devices.
        """
        return self._post(
            "/api/plans", answers.PlanAnswer, {"plan": plan, "kwargs": kwargs}, timeout=timeout_s
        )

    def wait(
        self, name: str, timeout_s: float = 3600.0, poll_s: float = 1.0
    ) -> answers.Session | None:
        """Until the campaign's session has ended; returns its final state.

        Args:
            name: the campaign's name.
            timeout_s: raise :class:`TimeoutError` if it still runs after this long.
            poll_s: how often to ask.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            session = self.campaign(name).session
            if session is None or session.state not in ACTIVE:
                return session
            if time.monotonic() > deadline:
                raise TimeoutError(f"campaign {name!r} still {session.state} after {timeout_s:g} s")
            time.sleep(poll_s)


@functools.cache
def _reader(answer: Any) -> TypeAdapter[Any]:
    """One validator per answer type, built once (a script polling ``wait`` asks often)."""
    return TypeAdapter(answer)


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RemoteError(response.status_code, str(detail))
    return response.json()
