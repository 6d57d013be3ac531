"""Several synthesis stations in one lab: trials side by side, the arm and the
spectrometer shared without two users at once, one Bluesky run per trial."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pint
import pytest

from lab import CampaignRunner, Store, build_lab
from lab.answers import Stations
from lab.api import prepare
from lab.records.time_use import time_use
from lab.records.timeline import Span, campaign_spans, experiments_per_hour, station_activity
from lab.runtime.executor import PlanRequest
from lab.runtime.lab import threaded_run_engine
from lab.runtime.process import LabProcess
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system


@pytest.fixture
def parallel_dir(example_dir: Path) -> Path:
    """The example with the four-station lab, fast clock, Sobol in a process of its own,
    stations handed over while the last vial is measured."""
    edit_yaml(example_dir / "lab_parallel.yaml", lambda d: d["simulation"].update(clock_speed=500))
    edit_yaml(
        example_dir / "campaign_parallel.yaml",
        lambda d: d.update(
            trials=6, planner={"name": "sobol", "seed": 3, "own_process": True}, overlap=True
        ),
    )
    return example_dir


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def _holding(spans: list[Span], trial: int, device: str) -> tuple[float, float]:
    """From the arm's putting the trial's vial into ``device`` until it took it out."""
    mine = [s for s in spans if s.trial == trial]
    at = next(i for i, s in enumerate(mine) if s.device == device)
    return mine[at - 1].began, mine[at + 1].ended


def test_trials_run_side_by_side_sharing_the_arm_and_the_spectrometer(
    parallel_dir: Path, tmp_path: Path
):
    prepared = prepare(parallel_dir / "campaign_parallel.yaml")
    store = Store(tmp_path / "s.sqlite")
    lab = build_lab(prepared.lab, store, run_engine=threaded_run_engine())
    process = LabProcess.of(lab).start()  # the latch, its executor, the interlocks
    executor = process.executor
    assert executor is not None
    names = [n for n, _ in prepared.lab.stations]
    seen: list[dict] = []  # what the dashboard's station view showed while it ran
    running = threading.Event()

    def watch() -> None:
        reader = Store(tmp_path / "s.sqlite")
        while running.is_set():
            seen.append(station_activity(reader, prepared.campaign.name, names))
            time.sleep(0.05)
        reader.close()

    running.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = CampaignRunner(lab, prepared.campaign, prepared.protocol, store, executor).run()
        running.clear()
        assert result.stopped is None, result.stopped
        busy = [[s for s in view["stations"] if "trial" in s] for view in seen]
        assert max(len(b) for b in busy) >= 2  # several stations shown busy at once
        shown = next(b for b in busy if len(b) >= 2)
        assert all(1 <= s["step"] <= s["steps"] == 10 for s in shown)
        assert len({s["trial"] for s in shown}) == len(shown)
        # a station that took its next trial showed the last one finishing elsewhere
        finishing = [s for view in seen for s in view["stations"] if "finishing" in s]
        for view in seen:  # what the API answers, as its reference declares it
            Stations.model_validate(view)
        assert finishing and all(
            f["trial"] < s["trial"] and f["step"] > 1 for s in finishing for f in s["finishing"]
        )
        trials = store.trials(prepared.campaign.name)
        assert [t.status for t in trials] == ["completed"] * 6
        # one run per trial, each with its station in the start document
        runs = {t.run_uid for t in trials}
        assert len(runs) == 6
        stations = {store.documents(t.run_uid)[0][1]["station"] for t in trials}
        assert stations == {"station", "station2", "station3", "station4"}

        spans = campaign_spans(store, prepared.campaign.name)
        by_trial = {
            t.idx: (
                min(s.began for s in spans if s.trial == t.idx),
                max(s.ended for s in spans if s.trial == t.idx),
            )
            for t in trials
        }
        # trials truly overlapped in time ...
        assert any(_overlap(a, b) > 0 for a, b in itertools.combinations(by_trial.values(), 2))
        # ... but the arm made one move at a time, and the spectrometer held one vial
        arm = sorted((s.began, s.ended) for s in spans if s.device == "arm")
        assert all(_overlap(a, b) <= 1e-6 for a, b in itertools.pairwise(arm))
        held = sorted(_holding(spans, t, "spectrometer") for t in by_trial)
        assert all(_overlap(a, b) <= 1e-6 for a, b in itertools.pairwise(held))
        # each trial's synthesis steps ran on its own station
        for t in trials:
            station = store.documents(t.run_uid)[0][1]["station"]
            kept_busy = {s.device for s in spans if s.trial == t.idx}
            assert kept_busy == {"arm", station, "spectrometer"}
        # the ledger knows what each station put in each vial
        for t in trials:
            sample = store.sample(t.sample_id)
            assert sample is not None
            cyan = pint.Quantity(sample["composition"]["cyan"]).m_as("mL")
            assert cyan == pytest.approx(t.parameters["cyan"].m_as("mL"), abs=1e-3)
        rate = experiments_per_hour(spans)
        assert rate is not None and rate > 0
        # the trials after the first round were proposed ahead, all four stations busy
        assert all(len(t.suggestion["pending_trials"]) >= 4 for t in trials[4:])
        # a station's next trial started while the last one's vial was measured, but the
        # station was brought to its start temperature only once that vial had left it
        overlapped = 0
        for station in names:
            on = [t.idx for t in trials if store.documents(t.run_uid)[0][1]["station"] == station]
            for last, following in itertools.pairwise(on):
                mine = [s for s in spans if s.trial == last]
                out = max(i for i, s in enumerate(mine) if s.device == station) + 1
                first = next(s for s in spans if s.trial == following)
                assert first.preparing is not None and first.preparing >= mine[out].ended
                overlapped += first.reached < by_trial[last][1]
        assert overlapped >= 1
        # each station's block was brought to its trial's first temperature before the
        # vial came: its own work, in its busy share
        assert {s.prepared_by for s in spans if s.prepared_by} == set(names)
        uses = {u.device: u for u in time_use(spans)}
        assert set(uses) == {"arm", "spectrometer", *names}
        for u in uses.values():
            total = u.busy + u.waiting_resource + u.waiting_software + u.idle
            assert total == pytest.approx(1.0)
        assert all(uses[n].busy > uses["spectrometer"].busy for n in names)
    finally:
        running.clear()
        watcher.join()
        process.close()
        lab.close()


def test_a_device_fault_on_one_station_lets_the_others_finish(parallel_dir: Path, tmp_path: Path):
    prepared = prepare(parallel_dir / "campaign_parallel.yaml")
    store = Store(tmp_path / "s.sqlite")
    lab = build_lab(prepared.lab, store, run_engine=threaded_run_engine())
    process = LabProcess.of(lab).start()  # the latch, its executor, the interlocks
    executor = process.executor
    assert executor is not None
    assert lab.world is not None
    lab.world.firmware["station2"].pumps[2].jammed = True  # type: ignore[attr-defined]
    try:
        result = CampaignRunner(lab, prepared.campaign, prepared.protocol, store, executor).run()
        assert result.stopped is not None and "pump 2 jammed" in result.stopped
        trials = store.trials(prepared.campaign.name)
        failed = [t for t in trials if t.status == "failed"]
        assert len(failed) == 1
        assert store.documents(failed[0].run_uid)[0][1]["station"] == "station2"
        # the trials already running on the other stations were not cut off: they finished
        # and their measurements are kept; nothing new started after the fault
        others = [t for t in trials if t.status == "completed"]
        assert len(others) >= 2 and all(t.outcomes for t in others)
        assert len(trials) < 6
    finally:
        process.close()
        lab.close()


def test_the_last_trial_leaves_the_station_to_the_next_one_once_its_vial_is_out(
    example_dir: Path, tmp_path: Path
):
    """Two runs on one station: the second waits for the slot until the first one's vial
    has left it; the first one's end (its vial measured, at the waste) does not make the
    station safe under the second one's heated vial."""
    prepared = prepare(example_dir / "campaign.yaml")
    store = Store(tmp_path / "s.sqlite")
    lab = build_lab(prepared.lab, store, run_engine=threaded_run_engine())
    process = LabProcess.of(lab).start()
    executor = process.executor
    assert executor is not None and executor.depth == 2
    slot = "synthesis_station"
    first = {
        "name": "out_early",
        "steps": [
            {"step": "transfer", "source": "rack", "destination": slot},
            {"step": "transfer", "source": slot, "destination": "spectrometer"},
            {"step": "wait", "duration": "300 s"},
            {"step": "discard", "source": "spectrometer"},
        ],
    }
    second = {
        "name": "heated_long",
        "steps": [
            {"step": "transfer", "source": "rack", "destination": slot},
            {"step": "heat", "temperature": "70 degC"},
            {"step": "wait", "duration": "900 s"},
            {"step": "transfer", "source": slot, "destination": "waste"},
        ],
    }
    vacated: list[tuple[str, object]] = []
    stop_listening = executor.on_vacated(lambda place, owner: vacated.append((place, owner)))
    try:
        runs = [
            executor.submit(
                PlanRequest(
                    "run_protocol",
                    {"protocol": p, "station": "station"},
                    {"campaign": "c", "trial": n},
                )
            )
            for n, p in enumerate([first, second])
        ]
        outcomes = [r.result(timeout=120) for r in runs]
        assert [o.exit_status for o in outcomes] == ["success", "success"], outcomes
        assert (slot, ("c", 0)) in vacated and (slot, ("c", 1)) in vacated
        docs = [store.documents(o.run_uids[0]) for o in outcomes]
        ended_first = docs[0][-1][1]["time"]
        steps = [d for name, d in docs[1] if name == "event" and "step_device" in d["data"]]
        # the second run's vial was still in the heated station after the first run ended,
        # and the station held its temperature all the while
        heated = [d for d in steps if d["data"]["station-vial"] and d["time"] > ended_first]
        assert heated
        assert all(d["data"]["station-heater"] == pytest.approx(70.0, abs=0.5) for d in heated)
    finally:
        stop_listening()
        process.close()
        lab.close()
