"""Proposals made ahead, while trials run: taken as they are after one round of results,
proposed again (and kept as rejected) after more."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lab.campaigns.planning import Proposals, make_planner
from lab.campaigns.results import RunnerEvents
from lab.files.campaign_file import load_campaign
from lab.store import Store, TrialStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "colour_match" / "campaign.yaml"


@pytest.fixture
def proposals(tmp_path: Path):
    campaign = load_campaign(EXAMPLE)
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign(campaign.name, {}, {})
    yield Proposals(make_planner(campaign, "sobol", 0), store, campaign, session=1)
    store.close()


def _start(proposals: Proposals) -> int:
    """The next trial, as the runner takes it (it is then running)."""
    s = proposals.next(10, threading.Event(), RunnerEvents())
    assert s is not None
    return s.index


def test_a_proposal_made_while_a_trial_runs_is_taken_after_its_result(proposals: Proposals):
    running = _start(proposals)
    proposals.propose_ahead(1, lanes=1)
    proposals.settle_ahead()  # made, with the running trial pending
    proposals.planner.tell(running, {"colour_error": 0.5})
    ahead = _start(proposals)
    record = proposals.store.trial(proposals.campaign.name, ahead)
    assert record is not None and record.status == TrialStatus.PROPOSED
    assert record.suggestion is not None and record.suggestion["pending_trials"] == [running]


def test_one_that_missed_more_results_than_there_were_trials_running_is_made_again(
    proposals: Proposals,
):
    first = _start(proposals)
    proposals.propose_ahead(1, lanes=1)
    proposals.settle_ahead()
    proposals.planner.tell(first, {"colour_error": 0.5})
    # a trial offered meanwhile ran and ended too: two results the proposal never saw
    again = proposals.planner.history[first].parameters
    offered = proposals.planner.attach(again, "operator:olga")
    proposals.planner.tell(offered.index, {"colour_error": 0.4})
    fresh = _start(proposals)
    trials = {t.idx: t for t in proposals.store.trials(proposals.campaign.name)}
    stale = [t for t in trials.values() if t.status == TrialStatus.REJECTED]
    assert len(stale) == 1 and stale[0].idx != fresh
    assert stale[0].error is not None and "proposed ahead, but more trials ended" in stale[0].error
    assert trials[fresh].suggestion is not None
    assert trials[fresh].suggestion["pending_trials"] == []  # made with every result known


def test_a_file_that_leaves_the_space_filling_trials_unset_gets_each_planners_own(
    tmp_path: Path,
):
    from lab.campaigns.planning import campaign_definition

    text = EXAMPLE.read_text().replace("initialization_trials: 6", "initialization_trials: null")
    assert text != EXAMPLE.read_text()
    (tmp_path / "campaign.yaml").write_text(text)
    for linked in EXAMPLE.parent.glob("*.*"):  # the files it names
        if not (tmp_path / linked.name).exists():
            (tmp_path / linked.name).symlink_to(linked)
    campaign = load_campaign(tmp_path / "campaign.yaml")
    for name, own in (("ax", 3), ("spectral", 6)):
        assert make_planner(campaign, name, 0).initialization_trials == own
        # the number itself is kept with the campaign: a later default cannot change it
        assert campaign_definition(campaign, name, 0)["planner"]["initialization_trials"] == own
    assert campaign_definition(campaign, "sobol", 0)["planner"]["initialization_trials"] is None
