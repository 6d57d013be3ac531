"""The lab's events, read off the live state it publishes: a campaign started or ended, a
trial failed, a device at fault, the emergency stop and its reset, a proposal waiting, a
diagnosis failed. Watching what every page is sent (rather than calling out from each
place a state changes) keeps one source of truth: a message says what the dashboard
shows."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from lab.files.notifications_file import EventKind

_ids = itertools.count(1)


@dataclass(frozen=True)
class Event:
    """Something to tell people: what, about what, in words, and where to look.

    ``subject`` is what the event is about (a campaign, a device, the lab): the rate limit
    counts per kind and subject, so one device's fault storm is one message, and another
    device's fault is still told."""

    kind: EventKind
    subject: str
    title: str
    text: str
    path: str = "/"
    time: float = field(default_factory=time.time)
    id: int = field(default_factory=lambda: next(_ids))


class EventWatcher:
    """Turns the published topics (``control``, ``campaign``, ``trial``, ``proposals``,
    ``lab``, ``diagnosis``) into events, each change told once."""

    def __init__(self) -> None:
        self._estop: float | None = None
        self._sessions: dict[str, str] = {}
        self._consumables: dict[str, float] = {}
        self._failed: set[tuple[str, int]] = set()
        self._waiting: set[tuple[str, int]] = set()
        self._faults: dict[str, str] = {}
        self._diagnosing = False

    def observe(self, topic: str, data: Any) -> list[Event]:
        """The events a newly published state brings (none if nothing changed that matters)."""
        watch = getattr(self, f"_{topic}", None)
        return watch(data) if watch is not None else []

    def _control(self, control: dict[str, Any]) -> list[Event]:
        stop = control.get("estop")
        if stop and self._estop != stop["time"]:
            self._estop = stop["time"]
            devices = ", ".join(f"{d}: {a}" for d, a in stop.get("devices", {}).items())
            unsafe = [d for d, a in stop.get("devices", {}).items() if a != "safe"]
            # an interlock's trip stops the lab as the button does, told as what it was
            by = str(stop["by"])
            tripped = by.startswith("interlock ")
            events = [
                Event(
                    EventKind.INTERLOCK_TRIPPED if tripped else EventKind.EMERGENCY_STOP,
                    "lab",
                    f"Interlock tripped: {by.removeprefix('interlock ')}"
                    if tripped
                    else "Emergency stop",
                    f"Latched by {stop['by']}: {stop.get('reason') or 'no reason given'}. "
                    f"{devices}. Nothing moves until staff reset it.",
                )
            ]
            if unsafe:
                events.append(
                    Event(
                        EventKind.LEFT_UNSAFE,
                        "lab",
                        "Devices LEFT UNSAFE",
                        f"{', '.join(unsafe)} did not confirm a safe state after the emergency "
                        "stop: check them by hand before anything else.",
                    )
                )
            return events
        if not stop and self._estop is not None:
            self._estop = None
            return [
                Event(
                    EventKind.EMERGENCY_RESET,
                    "lab",
                    "Emergency stop reset",
                    "Staff reset the emergency stop; the lab may move again.",
                )
            ]
        return []

    def _campaign(self, session: dict[str, Any]) -> list[Event]:
        return self._consumable(session) + self._session_state(session)

    def _consumable(self, session: dict[str, Any]) -> list[Event]:
        word, name = session.get("consumable"), session["name"]
        if not word or self._consumables.get(name) == word["time"]:
            return []
        self._consumables[name] = word["time"]
        what = word["text"].split(":")[0].split(" (")[0]
        title = f"Campaign {name} paused: {what}" if word["short"] else f"Campaign {name}: {what}"
        # a trial that cannot finish is told even right after a warning that it was low
        subject = f"{name} short" if word["short"] else name
        path = f"/campaigns/{name}"
        return [Event(EventKind.CONSUMABLE_LOW, subject, title, word["text"], path)]

    def _session_state(self, session: dict[str, Any]) -> list[Event]:
        name, state = session["name"], session["state"]
        before = self._sessions.get(name)
        self._sessions[name] = state
        if state == before:
            return []
        path = f"/campaigns/{name}"
        progress = f"{session['done']} of {session['total']} trials"
        if state == "running" and before in (None, "starting"):
            return [
                Event(
                    EventKind.CAMPAIGN_STARTED,
                    name,
                    f"Campaign {name} started",
                    f"Started by {session['started_by']}: {session['total']} trials, planner "
                    f"{session['planner']}.",
                    path,
                )
            ]
        best = session.get("best") or {}
        shown = ", ".join(f"{k} {v:.4g}" for k, v in best.items()) or "none yet"
        if state == "finished":
            text = f"{progress} done; best {shown}."
            return [
                Event(EventKind.CAMPAIGN_FINISHED, name, f"Campaign {name} finished", text, path)
            ]
        if state in ("stopped", "failed"):
            why = session.get("stopped") or "no reason recorded"
            text = f"{state.capitalize()} after {progress}: {why}. Best so far {shown}."
            return [Event(EventKind.CAMPAIGN_STOPPED, name, f"Campaign {name} {state}", text, path)]
        return []

    def _trial(self, trial: dict[str, Any]) -> list[Event]:
        key = (trial["campaign"], trial["trial"])
        if trial["status"] != "failed" or key in self._failed:
            return []
        self._failed.add(key)
        return [
            Event(
                EventKind.TRIAL_FAILED,
                trial["campaign"],
                f"Trial {trial['trial']} of {trial['campaign']} failed",
                trial.get("error") or "no reason recorded",
                f"/campaigns/{trial['campaign']}#trial-{trial['trial']}",
            )
        ]

    def _proposals(self, proposals: list[dict[str, Any]]) -> list[Event]:
        now = {(p["campaign"], p["trial"]) for p in proposals}
        new = sorted(now - self._waiting)
        self._waiting = now
        return [
            Event(
                EventKind.APPROVAL_WAITING,
                campaign,
                f"Trial {trial} of {campaign} waits for approval",
                "An operator approves, edits or rejects it on the Approvals page; the "
                "campaign waits until then.",
                "/approvals",
            )
            for campaign, trial in new
        ]

    def _lab(self, snapshot: dict[str, Any]) -> list[Event]:
        events = []
        for device in snapshot.get("devices", []):
            name, state = device["name"], device["state"]
            was = self._faults.get(name)
            self._faults[name] = state
            if state == "fault" and was != "fault":
                events.append(
                    Event(
                        EventKind.DEVICE_FAULT,
                        name,
                        f"{name} at fault",
                        device.get("last_error") or "the device reports a fault",
                    )
                )
        return events

    def _diagnosis(self, state: dict[str, Any]) -> list[Event]:
        running = bool(state.get("running"))
        ended = self._diagnosing and not running
        self._diagnosing = running
        if not ended:
            return []
        failed = {
            device: [r["check"] for r in rows if r["status"] == "fail"]
            for device, rows in (state.get("latest") or {}).items()
        }
        text = "; ".join(f"{d}: {', '.join(c)}" for d, c in failed.items() if c)
        if state.get("error"):
            text = f"{text}; ended early: {state['error']}".lstrip("; ")
        if not text:
            return []
        return [Event(EventKind.DIAGNOSIS_FAILED, "diagnosis", "A diagnosis failed", text)]
