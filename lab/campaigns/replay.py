"""Replay a campaign's record through a fresh planner, to show each decision it made.

The planner is rebuilt as the campaign built it: a fresh one for each session (a start or
a resume), told the trials before that session as a resume tells them; then, trial by
trial, it is told the recorded outcomes its recorded proposal knew (all but the trials
then pending: running, or proposed ahead), it proposes, and its proposal is compared with
the recorded one. Ax seeds each proposal with the campaign's seed, so the same record
gives the same proposals, up to floating-point noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.campaigns.planning import make_planner
from lab.files.campaign_file import CampaignConfig
from lab.records.measurement import SPECTRA_FROM, measurement_from_documents, well_of
from lab.store import Store, TrialRecord, TrialStatus
from planners import AnyParameter, ChoiceParameter, Measurement, Planner, SearchSpace, Suggestion

#: proposals within this share of each parameter's range are the same
TOLERANCE = 1e-6


@dataclass
class ReplayedTrial:
    """One trial: what was recorded, what the fresh planner proposed, and whether they
    agree (``same`` is None for a trial the planner did not propose: an operator's edit)."""

    index: int
    generator: str
    recorded: dict[str, float | str]
    replayed: dict[str, float | str] | None
    difference: float | None
    same: bool | None


@dataclass
class ReplayReport:
    """Every trial's comparison; ``differing`` lists the trials whose proposal changed."""

    campaign: str
    planner: str
    seed: int
    trials: list[ReplayedTrial] = field(default_factory=list)

    @property
    def compared(self) -> list[ReplayedTrial]:
        """The trials the planner proposed (operators' edits are not compared)."""
        return [t for t in self.trials if t.same is not None]

    @property
    def differing(self) -> list[ReplayedTrial]:
        """The proposals the replay did not reproduce."""
        return [t for t in self.compared if not t.same]


def _planner_settings(store: Store, name: str) -> tuple[str, int]:
    info = store.campaign(name)
    assert info is not None
    planner = info["definition"]["planner"]
    return str(planner["name"]), int(planner["seed"])


class _Record:
    """The campaign's trials, and each one's measurement for a planner that models it."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        info = store.campaign(name)
        assert info is not None
        devices = info["lab"].get("devices", {})
        self.spectrometer = [n for n, d in devices.items() if d.get("kind") in SPECTRA_FROM]

    def measurement(self, planner: Planner, t: TrialRecord) -> Measurement | None:
        if not planner.wants_measurements or t.run_uid is None or t.status != TrialStatus.COMPLETED:
            return None
        docs = self.store.documents(t.run_uid)
        return measurement_from_documents(
            docs, self.spectrometer, t.parameters, well_of(t.sample_id)
        )


def _tell(planner: Planner, index: int, t: TrialRecord, record: _Record) -> None:
    """The recorded end of trial ``t``, pending in the planner as ``index``."""
    if t.status == TrialStatus.COMPLETED and t.outcomes is not None:
        planner.tell(index, t.outcomes, record.measurement(planner, t))
    elif t.status == TrialStatus.REJECTED:
        planner.abandon(index, t.error or "rejected")
    else:
        planner.tell_failed(index, t.error or t.status)


def _resumed(
    campaign: CampaignConfig, name: str, seed: int, earlier: list[TrialRecord], record: _Record
) -> Planner:
    """A fresh planner told the earlier trials, as a resume tells them."""
    planner = make_planner(campaign, name, seed)
    for t in earlier:
        planner.replay(
            t.parameters,
            t.outcomes if t.status == TrialStatus.COMPLETED else None,
            t.error or "",
            abandoned=t.status == TrialStatus.REJECTED,
            measurement=record.measurement(planner, t),
        )
    return planner


def rebuilt_planner(store: Store, campaign: CampaignConfig) -> Planner:
    """A fresh planner told every recorded trial (to save its own record, say).

    Args:
        store: the campaign's store.
        campaign: the campaign as stored (:func:`lab.outputs.bundle.stored_campaign`).
    """
    name, seed = _planner_settings(store, campaign.name)
    done = [
        t
        for t in store.trials(campaign.name)
        if t.status in (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.REJECTED)
    ]
    return _resumed(campaign, name, seed, done, _Record(store, campaign.name))


def replay(store: Store, campaign: CampaignConfig) -> ReplayReport:
    """Replay the campaign's record; see the module's description.

    Args:
        store: the campaign's store.
        campaign: the campaign as stored (:func:`lab.outputs.bundle.stored_campaign`).
    """
    name, seed = _planner_settings(store, campaign.name)
    report = ReplayReport(campaign.name, name, seed)
    records = store.trials(campaign.name)
    record = _Record(store, campaign.name)
    sessions = sorted({t.session or 0 for t in records})
    for session in sessions:
        earlier = [t for t in records if (t.session or 0) < session]
        planner = _resumed(campaign, name, seed, earlier, record)
        mine = [t for t in records if (t.session or 0) == session]
        report.trials += _replay_session(planner, campaign, mine, record)
    return report


def _replay_session(
    planner: Planner, campaign: CampaignConfig, mine: list[TrialRecord], record: _Record
) -> list[ReplayedTrial]:
    """One session's trials, each proposal asked when the planner knows what the recorded
    one knew: every earlier trial told but those it had as pending (running, or proposed
    ahead of them)."""
    space = campaign.search_space()
    rows: list[ReplayedTrial] = []
    queued: list[Suggestion] = []
    untold: dict[int, tuple[int, TrialRecord]] = {}  # recorded number -> (planner's, record)

    def tell_all_but(pending: set[int]) -> None:
        for number in [n for n in untold if n not in pending]:
            index, t = untold.pop(number)
            _tell(planner, index, t, record)
            planner.best()  # as the campaign asked after each trial

    for i, t in enumerate(mine):
        generator = t.planner.partition("/")[2]
        if generator.startswith("edit-of-"):  # an operator's, not the planner's
            index = planner.attach(t.parameters, generator).index
            rows.append(_row(t, generator, None, space))
        else:
            if not queued:
                tell_all_but(set((t.suggestion or {}).get("pending_trials", [])))
                proposable = [u for u in mine[i:] if "/edit-of-" not in u.planner]
                queued = planner.ask(min(campaign.batch(), len(proposable)))
            proposed = queued.pop(0)
            row = _row(t, generator, proposed, space)
            rows.append(row)
            index = proposed.index
            if not row.same:  # back on the record's path: the planner learns what ran
                planner.abandon(index, "replay: not the recorded proposal")
                index = planner.attach(t.parameters, "replay").index
        untold[t.idx] = (index, t)
    tell_all_but(set())
    return rows


def _row(
    t: TrialRecord, generator: str, proposed: Suggestion | None, space: SearchSpace
) -> ReplayedTrial:
    """The recorded and replayed values, each in its parameter's unit, and how far apart
    they are: a share of the range for a number, all (1) or nothing for a choice."""
    recorded = space.magnitudes(t.parameters)
    if proposed is None:
        return ReplayedTrial(t.idx, generator, recorded, None, None, None)
    replayed = space.magnitudes(proposed.parameters)
    difference = max(_apart(p, recorded[p.name], replayed[p.name]) for p in space.parameters)
    same = difference <= TOLERANCE
    return ReplayedTrial(t.idx, generator, recorded, replayed, difference, same)


def _apart(p: AnyParameter, a: float | str, b: float | str) -> float:
    if isinstance(p, ChoiceParameter) or isinstance(a, str) or isinstance(b, str):
        return 0.0 if a == b else 1.0
    return abs(a - b) / ((p.upper - p.lower) or 1.0)


def as_json(report: ReplayReport) -> dict[str, Any]:
    """The report for ``--json``.

    Args:
        report: the replay's report.
    """
    return {
        "campaign": report.campaign,
        "planner": report.planner,
        "seed": report.seed,
        "compared": len(report.compared),
        "differing": [t.index for t in report.differing],
        "trials": [vars(t) for t in report.trials],
    }
