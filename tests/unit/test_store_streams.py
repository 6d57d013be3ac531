"""One stream of a campaign's runs, read without the others: documents name their stream
and runs their station as they are recorded, and older stores learn both once."""

from __future__ import annotations

import math
from pathlib import Path

import pint
from sqlalchemy import text

from lab.records.timeline import campaign_spans
from lab.store import Store

ureg = pint.get_application_registry()


def _record_trial(store: Store, idx: int, station: str) -> None:
    store.open_campaign("c", {"objectives": []}, {})
    store.add_trial("c", idx, {"cyan": ureg.Quantity(1.0, "mL")}, "sobol")
    run, conditions, primary = f"run{idx}", f"cond{idx}", f"prim{idx}"
    store.record(
        "start", {"uid": run, "time": 1.0, "campaign": "c", "trial": idx, "station": station}
    )
    store.record(
        "descriptor", {"uid": primary, "run_start": run, "name": "primary", "data_keys": {}}
    )
    store.record(
        "descriptor", {"uid": conditions, "run_start": run, "name": "conditions", "data_keys": {}}
    )
    store.record("event", {"uid": f"e{idx}a", "descriptor": primary, "data": {"a": math.nan}})
    for step in range(2):
        data = {
            "step_device": "arm",
            "step_reached": step,
            "step_began": step,
            "step_ended": step + 0.5,
        }
        store.record("event", {"uid": f"e{idx}{step}", "descriptor": conditions, "data": data})
    store.record(
        "stop", {"uid": f"s{idx}", "run_start": run, "time": 2.0, "exit_status": "success"}
    )


def test_a_stream_is_read_alone_even_beside_documents_holding_nan(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    try:
        for idx in range(3):
            _record_trial(store, idx, f"station-{idx % 2}")
        spans = campaign_spans(store, "c")
        assert [(s.trial, s.station, s.step) for s in spans] == [
            (t, f"station-{t % 2}", step) for t in range(3) for step in range(2)
        ]
        assert store.run("run1").station == "station-1"
    finally:
        store.close()


def test_an_older_store_learns_its_streams_and_stations_once(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store(path)
    for idx in range(2):
        _record_trial(store, idx, "station")
    before = campaign_spans(store, "c")
    with store.engine.begin() as c:  # as a store written before the columns were
        c.execute(text("UPDATE documents SET stream = NULL"))
        c.execute(text("UPDATE runs SET station = NULL"))
    assert campaign_spans(store, "c") == []
    store.close()
    again = Store(path)
    try:
        assert campaign_spans(again, "c") == before and len(before) == 4
    finally:
        again.close()


def test_an_older_store_gains_the_samples_measurements_and_keeps_its_samples(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite"
    store = Store(path)
    store.add_sample("V1", "c", 0, {"water": "2.0 milliliter"}, "waste")
    with store.engine.begin() as c:  # as a store written before samples kept measurements
        c.execute(text("ALTER TABLE samples DROP COLUMN measured"))
    store.close()
    again = Store(path)
    try:
        assert again.sample("V1") == {
            "id": "V1",
            "campaign": "c",
            "trial": 0,
            "composition": {"water": "2.0 milliliter"},
            "fate": "waste",
            "measured": None,
        }
        weighed = [{"step": 5, "reading": "balance-mass", "value": "2.0 gram"}]
        again.add_sample("V2", "c", 1, {}, "waste", weighed)
        assert again.sample("V2")["measured"] == weighed  # type: ignore[index]
    finally:
        again.close()
