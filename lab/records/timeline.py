"""Who used which device when: each trial's steps, read back from its run's documents.

Every protocol run records, after each step, the device the step kept busy and when (lab
clock) it was reached, began and ended (see :class:`protocols.resources.StepTimes`). From
these come the timeline (Gantt) plot, the dashboard's station view and the throughput in
experiments per lab hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from lab.store import Store, TrialStatus

Documents = list[tuple[str, dict[str, Any]]]


def steps_finished(documents: Documents) -> int:
    """How many of its protocol's steps a run finished.

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
    """
    return len(after_each_step(documents))


def after_each_step(documents: Documents) -> list[dict[str, Any]]:
    """Each finished step's event data (the run's ``conditions`` stream), in order.

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
    """
    streams = {d["uid"]: d["name"] for n, d in documents if n == "descriptor"}
    return [
        d["data"]
        for n, d in documents
        if n == "event" and streams.get(d["descriptor"]) == "conditions"
    ]


def cut_short(documents: Documents) -> dict[str, Any] | None:
    """The station's reading after a dispense cut short (the run's ``cut_short`` stream),
    or None if the run had none.

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
    """
    streams = {d["uid"]: d["name"] for n, d in documents if n == "descriptor"}
    found = [
        d["data"]
        for n, d in documents
        if n == "event" and streams.get(d["descriptor"]) == "cut_short"
    ]
    return found[-1] if found else None


@dataclass(frozen=True)
class Span:
    """One protocol step of one trial.

    Args:
        trial: the trial's number.
        station: the synthesis station the trial ran on.
        step: the step's index in its protocol.
        device: the device the step kept busy.
        reached: when the run came to the step (lab seconds).
        began: when the step had its devices (after waiting for them).
        ended: when it was done.
        prepared_by: the device that first made the step's place ready ("" if none): a
            block brought to the trial's start temperature before its vial came.
        prepared: when it was ready (``reached`` if nothing was prepared).
        session: the run of the campaign the trial belongs to: each has its own lab
            clock (a simulated lab's starts from zero), so times compare within one.
        preparing: when the step had the place and its preparation began (``reached``
            if nothing was prepared; until then the step waited for the place).
    """

    trial: int
    station: str
    step: int
    device: str
    reached: float
    began: float
    ended: float
    prepared_by: str = ""
    prepared: float | None = None
    session: int = 0
    preparing: float | None = None


def run_spans(trial: int, documents: Documents) -> list[Span]:
    """The steps a run finished, from its ``conditions`` stream (none for a run that
    predates step times, or ran no protocol).

    Args:
        trial: the trial's number.
        documents: the run's documents, as ``(name, doc)`` pairs.
    """
    start = next((doc for name, doc in documents if name == "start"), {})
    return _spans(trial, str(start.get("station", "")), after_each_step(documents))


def _spans(trial: int, station: str, steps: list[dict[str, Any]], session: int = 0) -> list[Span]:
    return [
        Span(
            trial,
            station,
            i,
            data["step_device"],
            float(data["step_reached"]),
            float(data["step_began"]),
            float(data["step_ended"]),
            str(data.get("step_prepared_by", "")),
            float(data.get("step_prepared", data["step_reached"])),
            session,
            float(data.get("step_preparing", data["step_reached"])),
        )
        for i, data in enumerate(steps)
        if "step_device" in data
    ]


def campaign_spans(store: Store, campaign: str) -> list[Span]:
    """Every step of every trial of ``campaign`` that started a run.

    Args:
        store: the campaign's store.
        campaign: its name.
    """
    sessions = {t.idx: t.session or 0 for t in store.trials(campaign)}
    spans: list[Span] = []
    for run in store.stream(campaign, "conditions"):
        spans += _spans(run.trial, run.station or "", run.data, sessions.get(run.trial, 0))
    return spans


def by_session(spans: list[Span]) -> list[list[Span]]:
    """The steps of each run of the campaign, in order: times compare within one."""
    found: dict[int, list[Span]] = {}
    for s in spans:
        found.setdefault(s.session, []).append(s)
    return [found[k] for k in sorted(found)]


def end_to_end(spans: list[Span]) -> list[Span]:
    """The steps on one time axis, for a chart: each session that starts before the one
    before it ended (a resumed simulated lab, whose clock starts again from zero) moved to
    start where that one ended; a lab on the wall clock keeps its times."""
    out: list[Span] = []
    ended = -math.inf
    for part in by_session(spans):
        shift = max(0.0, ended - min(s.reached for s in part))
        out += [
            replace(
                s,
                reached=s.reached + shift,
                began=s.began + shift,
                ended=s.ended + shift,
                prepared=None if s.prepared is None else s.prepared + shift,
                preparing=None if s.preparing is None else s.preparing + shift,
            )
            for s in part
        ]
        ended = max(s.ended for s in part) + shift
    return out


def window(spans: list[Span]) -> float:
    """Lab seconds from the first step reached to the last step ended (spans of one
    session)."""
    return max(s.ended for s in spans) - min(s.reached for s in spans) if spans else 0.0


def experiments_per_hour(spans: list[Span]) -> float | None:
    """Trials run per lab hour, from the first step reached to the last step ended in
    each run of the campaign (None with fewer than two trials)."""
    trials = {s.trial for s in spans}
    if len(trials) < 2:
        return None
    hours = sum(window(part) for part in by_session(spans)) / 3600
    return len(trials) / hours if hours > 0 else None


def station_activity(store: Store, campaign: str | None, stations: list[str]) -> dict[str, Any]:
    """What the dashboard shows of each station (or workcell): the trial it runs (its
    campaign, number, the step it is at out of how many, and since when), the trial before
    it if that one's vial is still being measured elsewhere (``finishing``), and the trials
    waiting for one.

    Args:
        store: the lab's store.
        campaign: the campaign running now, if any.
        stations: where trials run side by side (the executor's lanes): the lab's
            synthesis stations, or the workcells a coordinator spreads trials over.
    """
    busy: dict[str, list[dict[str, Any]]] = {}
    queue: list[dict[str, Any]] = []
    seen: set[str] = set()  # a plate's batch: several trials, one run
    for record in store.trials(campaign) if campaign else []:
        if record.status == TrialStatus.RUNNING and record.run_uid:
            if record.run_uid in seen:
                continue
            seen.add(record.run_uid)
            documents = store.documents(record.run_uid)
            start = documents[0][1]
            steps = len(start.get("protocol", {}).get("steps", []))
            lane = start.get("workcell") or start.get("station") or stations[0]
            plate = start.get("trials")
            busy.setdefault(str(lane), []).append(
                {
                    "campaign": campaign,
                    "trial": record.idx,
                    "step": min(steps_finished(documents) + 1, steps),
                    "steps": steps,
                    "since": start["time"],
                    # a plate's batch: its trials and their wells
                    **({"trials": plate, "wells": start.get("wells")} if plate else {}),
                },
            )
        elif record.status in (
            TrialStatus.PROPOSED,
            TrialStatus.AWAITING_APPROVAL,
            TrialStatus.RUNNING,
        ):
            # running with no run yet: handed to the executor, which has not started it
            status = "waiting to start" if record.status == TrialStatus.RUNNING else record.status
            queue.append({"campaign": campaign, "trial": record.idx, "status": status})
    shown = []
    for station in stations:
        on = sorted(busy.get(station, []), key=lambda t: t["since"])
        finishing = {"finishing": on[:-1]} if len(on) > 1 else {}
        shown.append({"station": station, **(on[-1] if on else {}), **finishing})
    return {"stations": shown, "queue": queue}
