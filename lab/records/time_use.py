"""Where a campaign's lab time went, device by device: working, waiting for a shared
resource, waiting for its next trial, or idle.

Read from the steps' times (:mod:`lab.records.timeline`), over the campaign's window (the
first step reached to the last ended, in each run of the campaign: a resumed campaign's
sessions each have their own lab clock, so their times add up, never overlap):

- **busy**: the device's own steps, and the preparation it did for them (a station's
  block brought to the next trial's start temperature);
- **waiting for a resource** (a station): its trial's steps waiting for a device another
  trial holds (the arm, the spectrometer);
- **waiting for its next trial** (a station; ``waiting_software``): no trial on it, though
  the campaign had more to run: the planner proposing, a run being started (and where a
  person decides, an approval; a pause);
- **idle**: the rest (a station whose trial's vial is elsewhere, a shared device with
  nothing to do, a station after its last trial).

The device busy the largest share of the time is the lab's bottleneck: its busy share is
as far as the lab's throughput can go without a faster instrument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lab.records.timeline import Span, by_session, experiments_per_hour, window

Intervals = list[tuple[float, float]]


def _merged(intervals: Iterable[tuple[float, float]]) -> Intervals:
    """The intervals as disjoint ones, in order (empty ones dropped)."""
    out: Intervals = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(intervals: Intervals, taken: Intervals) -> Intervals:
    """What of ``intervals`` (disjoint) lies outside ``taken`` (disjoint)."""
    out: Intervals = []
    for a, b in intervals:
        start = a
        for c, d in taken:
            if d <= start or c >= b:
                continue
            if c > start:
                out.append((start, c))
            start = max(start, d)
        if start < b:
            out.append((start, b))
    return out


def _length(intervals: Intervals) -> float:
    return sum(b - a for a, b in intervals)


@dataclass(frozen=True)
class TimeUse:
    """One device's shares of the campaign's lab time (each 0-1, together 1).

    Args:
        device: the device's name.
        busy: working on a trial, or preparing for one.
        waiting_resource: its trial waiting for a device another trial holds.
        waiting_software: free, with more to run, while its next trial was decided or
            started (the planner; an approval, a pause).
        idle: the rest.
    """

    device: str
    busy: float
    waiting_resource: float
    waiting_software: float
    idle: float


def time_use(spans: list[Span]) -> list[TimeUse]:
    """Each device's shares of the campaign's lab time, by name (empty with no steps).

    Args:
        spans: the campaign's steps (:func:`lab.records.timeline.campaign_spans`).
    """
    sessions = by_session(spans)
    total = sum(window(part) for part in sessions)
    if total <= 0:
        return []
    devices = {s.device for s in spans} | {s.prepared_by for s in spans if s.prepared_by}
    lanes = {s.station for s in spans if s.station}
    found = []
    for device in sorted(devices | lanes):
        parts = [_seconds(p, device) for p in sessions]
        b, w, sw = (sum(p[i] for p in parts) / total for i in range(3))
        found.append(TimeUse(device, b, w, sw, max(0.0, 1.0 - b - w - sw)))
    return found


def _seconds(spans: list[Span], device: str) -> tuple[float, float, float]:
    """Lab seconds ``device`` was busy, waiting for a resource and for its next trial in
    one session's steps."""
    start = min(s.reached for s in spans)
    busy = _merged(
        [(s.began, s.ended) for s in spans if s.device == device]
        + [(_preparing(s), _prepared(s)) for s in spans if s.prepared_by == device]
    )
    mine = [s for s in spans if s.station == device]
    if not mine:  # a shared device, or a station this session gave no trial
        return _length(busy), 0.0, 0.0
    gaps = [(s.reached, _preparing(s)) for s in mine] + [(_prepared(s), s.began) for s in mine]
    waiting = _minus(_merged(gaps), busy)
    runs = _merged(_runs(mine))
    # free while the campaign still had trials to give it: up to its last run
    software = _minus([(start, runs[-1][1])], runs)
    return _length(busy), _length(waiting), _length(software)


def _prepared(span: Span) -> float:
    return span.reached if span.prepared is None else span.prepared


def _preparing(span: Span) -> float:
    return span.reached if span.preparing is None else span.preparing


def _runs(spans: list[Span]) -> Intervals:
    """Each trial's run on its station, from its first step reached to its last ended."""
    trials: dict[int, tuple[float, float]] = {}
    for s in spans:
        a, b = trials.get(s.trial, (s.reached, s.ended))
        trials[s.trial] = (min(a, s.reached), max(b, s.ended))
    return list(trials.values())


def bottleneck(uses: list[TimeUse]) -> TimeUse | None:
    """The device busy the largest share of the time (None with none)."""
    return max(uses, key=lambda u: u.busy, default=None)


#: the shares' headings, in the order tables show them
HEADINGS = {
    "busy": "busy",
    "waiting_resource": "waiting for a resource",
    "waiting_software": "waiting for its next trial",
    "idle": "idle",
}


def summary(uses: list[TimeUse], per_hour: float | None) -> str:
    """One sentence: the bottleneck and its busy share, and the throughput.

    Args:
        uses: from :func:`time_use`.
        per_hour: experiments per lab hour, if known.
    """
    neck = bottleneck(uses)
    if neck is None:
        return "No steps recorded yet."
    rate = f"; {per_hour:.1f} experiments per lab hour" if per_hour else ""
    waiting = max(uses, key=lambda u: u.waiting_software)
    software = (
        f"; {waiting.device} waited for its next trial {waiting.waiting_software:.0%} of the "
        "time (the planner, an approval or a pause)"
        if waiting.waiting_software >= 0.05
        else ""
    )
    return f"Bottleneck: {neck.device}, busy {neck.busy:.0%} of the lab time{rate}{software}."


@dataclass(frozen=True)
class TimeAccount:
    """Where a campaign's lab time went, as ``lab campaign show``, the report and the
    dashboard all give it.

    Args:
        devices: each device's shares (:func:`time_use`).
        experiments_per_hour: the campaign's throughput, if it has steps.
    """

    devices: list[TimeUse]
    experiments_per_hour: float | None

    @property
    def summary(self) -> str:
        """The sentence (:func:`summary`)."""
        return summary(self.devices, self.experiments_per_hour)

    def as_json(self) -> dict[str, Any]:
        neck = bottleneck(self.devices)
        return {
            "summary": self.summary,
            "bottleneck": neck.device if neck else None,
            "experiments_per_hour": self.experiments_per_hour,
            "devices": [asdict(u) for u in self.devices],
        }


def account(spans: list[Span]) -> TimeAccount:
    """Where the lab time of the campaign with these steps went.

    Args:
        spans: the campaign's steps (:func:`lab.records.timeline.campaign_spans`).
    """
    return TimeAccount(time_use(spans), experiments_per_hour(spans))
