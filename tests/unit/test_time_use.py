"""Where a campaign's lab time went, from its steps' times."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lab.records.time_use import account, bottleneck, summary, time_use
from lab.records.timeline import Span, end_to_end, experiments_per_hour


def _trial(trial: int, station: str, start: float, heat: float, arm_wait: float) -> list[Span]:
    """A trial on ``station`` from ``start``: ``heat`` s bringing the block to its
    temperature, ``arm_wait`` s waiting for the arm, 10 s carried in, 40 s on the station,
    10 s carried out (the vial is then elsewhere), 20 s measured."""
    t = start + heat + arm_wait
    return [
        Span(trial, station, 0, "arm", start, t, t + 10, station, start + heat),
        Span(trial, station, 1, station, t + 10, t + 10, t + 50),
        Span(trial, station, 2, "arm", t + 50, t + 50, t + 60),
        Span(trial, station, 3, "spectrometer", t + 60, t + 60, t + 80),
    ]


def test_each_share_is_read_from_the_steps_and_they_add_up_to_the_whole():
    # one station: trial 0 from 0 to 130 s; the planner takes 20 s; trial 1 from 150 to 260 s
    spans = _trial(0, "station", 0, heat=50, arm_wait=0) + _trial(1, "station", 150, 20, 10)
    uses = {u.device: u for u in time_use(spans)}
    window = 260.0
    station = uses["station"]
    # its own steps (40 + 40 s) and the heating before each vial came (50 + 20 s)
    assert station.busy == pytest.approx(150 / window)
    assert station.waiting_resource == pytest.approx(10 / window)  # trial 1 waited for the arm
    assert station.waiting_software == pytest.approx(20 / window)  # between the two trials
    # the vial away (carried, measured) for 40 s of each trial
    assert station.idle == pytest.approx(80 / window)
    assert uses["arm"].busy == pytest.approx(40 / window)
    assert uses["arm"].waiting_software == 0 and uses["arm"].waiting_resource == 0
    for u in uses.values():
        total = u.busy + u.waiting_resource + u.waiting_software + u.idle
        assert total == pytest.approx(1.0)
    neck = bottleneck(list(uses.values()))
    assert neck is not None and neck.device == "station"
    assert summary(list(uses.values()), 13.8) == (
        "Bottleneck: station, busy 58% of the lab time; 13.8 experiments per lab hour; "
        "station waited for its next trial 8% of the time (the planner, an approval or a "
        "pause)."
    )


def test_the_account_every_view_shows_is_one_answer():
    spans = _trial(0, "station", 0, heat=50, arm_wait=0) + _trial(1, "station", 150, 20, 10)
    answer = account(spans).as_json()
    assert answer["experiments_per_hour"] == pytest.approx(experiments_per_hour(spans))
    assert answer["bottleneck"] == "station"
    assert answer["summary"] == summary(time_use(spans), experiments_per_hour(spans))
    station = next(d for d in answer["devices"] if d["device"] == "station")
    assert station["busy"] == pytest.approx(150 / 260)
    assert account([]).as_json()["summary"] == "No steps recorded yet."


def test_a_station_after_its_last_trial_is_idle_not_waiting_for_software():
    # station2's only trial ends at 140 s; station's second one runs on to 250 s
    spans = (
        _trial(0, "station", 0, 50, 0)
        + _trial(1, "station2", 0, 50, 10)
        + _trial(2, "station", 150, 20, 0)
    )
    uses = {u.device: u for u in time_use(spans)}
    assert uses["station2"].waiting_software == 0
    assert uses["station"].waiting_software == pytest.approx(20 / 250)  # 130 s to 150 s


def test_old_records_without_preparation_count_the_wait_for_the_block_as_waiting():
    spans = [
        Span(0, "station", 0, "arm", 0, 60, 70),  # recorded before step_prepared existed
        Span(0, "station", 1, "station", 70, 70, 100),
    ]
    uses = {u.device: u for u in time_use(spans)}
    assert uses["station"].busy == pytest.approx(30 / 100)
    assert uses["station"].waiting_resource == pytest.approx(60 / 100)


def test_no_steps_say_so():
    assert time_use([]) == []
    assert summary([], None) == "No steps recorded yet."


def test_a_resumed_campaign_adds_its_sessions_whose_clocks_each_start_again():
    # a simulated lab's clock starts from zero in each session: the two overlap in time
    first = [replace(s, session=1) for s in _trial(0, "station", 0, 50, 0)]
    second = [replace(s, session=2) for s in _trial(1, "station", 10, 50, 0)]
    uses = {u.device: u for u in time_use(first + second)}
    assert uses["station"].busy == pytest.approx(180 / 260)  # 90 s of each 130 s session
    assert uses["arm"].busy == pytest.approx(40 / 260)
    assert experiments_per_hour(first + second) == pytest.approx(2 / (260 / 3600))


def test_a_chart_lays_a_resumed_campaigns_sessions_end_to_end():
    first = [replace(s, session=1) for s in _trial(0, "station", 0, 50, 0)]
    second = [replace(s, session=2) for s in _trial(1, "station", 10, 50, 0)]
    laid = end_to_end(second + first)
    # the second session's clock started again: it is moved to start where the first ended
    assert min(s.reached for s in laid if s.session == 2) == pytest.approx(130)
    assert max(s.ended for s in laid) == pytest.approx(260)
    moved = next(s for s in laid if s.session == 2 and s.prepared_by)
    assert moved.prepared == pytest.approx(130 + 50)
    assert time_use(laid) == time_use(first + second)  # what the time was spent on is kept
    # sessions on the wall clock, one after the other, keep their times
    later = [replace(s, session=2) for s in _trial(1, "station", 500, 50, 0)]
    assert end_to_end(first + later) == first + later


def test_waiting_for_a_shared_block_is_waiting_and_only_its_heating_is_the_blocks():
    # trial 1 reaches the block at 0 s; trial 0's vial holds it until 40 s; the block then
    # heats for 20 s, and the arm carries trial 1's vial in from 60 to 70 s
    spans = [
        Span(0, "station", 0, "block", 0, 0, 40),
        Span(1, "station2", 0, "arm", 0, 60, 70, "block", 60, preparing=40),
        Span(1, "station2", 1, "station2", 70, 70, 100),
    ]
    uses = {u.device: u for u in time_use(spans)}
    assert uses["station2"].waiting_resource == pytest.approx(40 / 100)
    assert uses["block"].busy == pytest.approx(60 / 100)  # trial 0's 40 s, then 20 s heating
