"""The command line's table of trials says why a trial has no outcome."""

from __future__ import annotations

from rich.console import Console

from devices import parse_quantity
from lab.outputs.report import summary_table
from lab.store import TrialRecord, TrialStatus


def _trial(idx: int, status: TrialStatus, outcomes: dict[str, float] | None) -> TrialRecord:
    volume = {"cyan": parse_quantity("1 mL")}
    return TrialRecord(
        "c", idx, status, volume, "sobol/sobol", outcomes, None, None, None, 0.0, None
    )


def test_a_trial_without_outcome_shows_its_status_not_failed():
    records = [
        _trial(0, TrialStatus.COMPLETED, {"loss": 0.5}),
        _trial(1, TrialStatus.FAILED, None),
        _trial(2, TrialStatus.REJECTED, None),
        _trial(3, TrialStatus.AWAITING_APPROVAL, None),
    ]
    console = Console(width=120, record=True)
    console.print(summary_table("c", records, {0}))
    rows = {line.split()[1]: line for line in console.export_text().splitlines() if "│" in line}
    assert "0.5" in rows["0"]
    assert "failed" in rows["1"]
    assert "rejected" in rows["2"] and "failed" not in rows["2"]
    assert "awaiting approval" in rows["3"] and "failed" not in rows["3"]
