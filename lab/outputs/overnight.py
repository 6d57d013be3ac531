"""The morning summary: what the lab did since a time (last night, the weekend), read
from its store: what ran, the best results and how they moved, what failed and why, the
emergency stops, what the lab told people and what did not reach them, and what waits
for a person now, and what will run out next. ``lab report overnight`` prints it; the notifier sends it each morning."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.records.consumables import Supply
from lab.store import Store, TrialRecord, TrialStatus

#: the most failures listed one by one (the rest are counted)
MAX_LISTED = 10


@dataclass
class CampaignNight:
    """One campaign's trials in the window and how its best measured result moved."""

    name: str
    completed: int
    failed: int
    objective: str | None
    maximise: bool
    best_before: float | None
    best_now: float | None
    failures: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Overnight:
    """The lab's night, as :func:`overnight` reads it from the store."""

    since: float
    until: float
    campaigns: list[CampaignNight]
    estops: list[str]
    waiting: list[str]
    undelivered: list[str]
    told: int
    #: each consumable and how long it lasts, soonest to run out first (when read)
    consumables: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "campaigns": [vars(c) for c in self.campaigns],
            "emergency_stops": self.estops,
            "waiting_for_a_person": self.waiting,
            "undelivered_notifications": self.undelivered,
            "notifications_sent": self.told,
            "consumables": self.consumables,
        }


def overnight(
    store: Store,
    since: float,
    until: float | None = None,
    supplies: Sequence[Supply] = (),
) -> Overnight:
    """What the store holds of the lab's work from ``since`` (seconds since the epoch),
    with what will run out next among ``supplies`` (the consumables as read now)."""
    until = until or dt.datetime.now().timestamp()
    nights = []
    waiting = []
    for name in store.campaign_names():
        records = store.trials(name)
        waiting += [
            f"trial {t.idx} of {name} waits for approval"
            for t in records
            if t.status == TrialStatus.AWAITING_APPROVAL
        ]
        night = [t for t in records if t.finished is not None and since <= t.finished <= until]
        if night:
            nights.append(_campaign_night(store, name, records, night, since))
    estops, latched = _emergency_stops(store, since)
    if latched:
        waiting.insert(0, f"the emergency stop is latched ({latched}): staff must reset it")
    deliveries = store.notifications.entries(1000, since)
    undelivered = [
        f"{when(d.time)} {d.title} to {d.channel}: {d.error}"
        for d in deliveries
        if d.status != "sent"
    ]
    told = sum(1 for d in deliveries if d.status == "sent")
    soonest = sorted(supplies, key=lambda s: (s.trials_left() is None, s.trials_left() or 0))
    consumables = [
        s.text()
        + ("" if s.trials_left() is None else f", about {s.trials_left()} trials' worth")
        + (" (LOW: refill it)" if s.is_low else "")
        for s in soonest
    ]
    return Overnight(since, until, nights, estops, waiting, undelivered, told, consumables)


def _campaign_night(
    store: Store, name: str, records: list[TrialRecord], night: list[TrialRecord], since: float
) -> CampaignNight:
    definition = (store.campaign(name) or {}).get("definition") or {}
    objectives = definition.get("objectives") or []
    objective = objectives[0]["name"] if objectives else None
    maximise = bool(objectives and not objectives[0].get("minimize", True))

    def best(trials: list[TrialRecord]) -> float | None:
        values = [
            t.outcomes[objective]
            for t in trials
            if objective
            and t.status == TrialStatus.COMPLETED
            and t.outcomes
            and objective in t.outcomes
            and math.isfinite(t.outcomes[objective])
        ]
        if not values:
            return None
        return max(values) if maximise else min(values)

    before = [t for t in records if t.finished is not None and t.finished < since]
    failed = [t for t in night if t.status == TrialStatus.FAILED]
    return CampaignNight(
        name=name,
        completed=sum(1 for t in night if t.status == TrialStatus.COMPLETED),
        failed=len(failed),
        objective=objective,
        maximise=maximise,
        best_before=best(before),
        best_now=best(records),
        failures=[(t.idx, t.error or "no reason recorded") for t in failed],
    )


def _emergency_stops(store: Store, since: float) -> tuple[list[str], str | None]:
    """The emergency stops in the window, and who latched the one still latched (if any)."""
    rows = store.audit.entries(200, action="emergency stop") + store.audit.entries(
        200, action="reset"
    )
    rows = sorted((r for r in rows if r.outcome == "ok"), key=lambda r: r.time)
    stops = [
        f"{when(r.time)} by {r.user or 'the lab'}"
        for r in rows
        if r.time >= since and r.action == "emergency stop"
    ]
    last = rows[-1] if rows else None
    latched = (
        f"by {last.user or 'the lab'} at {when(last.time)}"
        if last and last.action == "emergency stop"
        else None
    )
    return stops, latched


def when(t: float) -> str:
    """A time as a person at the lab reads it (local time)."""
    return dt.datetime.fromtimestamp(t).strftime("%a %H:%M")


def render(night: Overnight, lab: str) -> str:
    """The summary as plain text (a terminal, an e-mail, a chat message)."""
    lines = [f"Lab {lab}, {when(night.since)} to {when(night.until)}"]
    if not night.campaigns:
        lines.append("No trial finished.")
    for c in night.campaigns:
        head = f"- {c.name}: {c.completed} trials completed, {c.failed} failed"
        if c.objective and c.best_now is not None:
            word = "highest" if c.maximise else "lowest"
            moved = (
                f"from {c.best_before:.4g}"
                if c.best_before is not None and c.best_before != c.best_now
                else "unchanged"
                if c.best_before is not None
                else "first result"
            )
            head += f"; best {c.objective} ({word}) {c.best_now:.4g}, {moved}"
        lines.append(head)
        for idx, error in c.failures[:MAX_LISTED]:
            lines.append(f"    trial {idx} failed: {error}")
        if len(c.failures) > MAX_LISTED:
            lines.append(f"    and {len(c.failures) - MAX_LISTED} more failures")
    lines.append(
        f"Emergency stops: {', '.join(night.estops)}." if night.estops else "No emergency stop."
    )
    if night.waiting:
        lines.append("Waiting for a person:")
        lines += [f"- {w}" for w in night.waiting]
    else:
        lines.append("Nothing waits for a person.")
    if night.consumables:
        lines.append("Consumables, soonest to run out first:")
        lines += [f"- {c}" for c in night.consumables]
    lines.append(f"Notifications sent: {night.told}.")
    if night.undelivered:
        lines.append("Not delivered:")
        lines += [f"- {u}" for u in night.undelivered[:MAX_LISTED]]
    return "\n".join(lines)
