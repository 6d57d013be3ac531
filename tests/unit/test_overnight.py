"""The morning summary, read from a real store: what ran, how the best moved, failures and
why, emergency stops, what waits for a person; `lab report overnight` and the notifier's
daily message."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devices import parse_quantity
from lab.cli import app
from lab.files.notifications_file import NotificationsConfig
from lab.notifications import Notifier
from lab.outputs.overnight import overnight, render
from lab.store import Store, TrialStatus
from tests.webhooks import Receiver, webhook_receiver

NOW = time.time()
SINCE = NOW - 12 * 3600


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "store.sqlite")
    db.open_campaign("c", {"objectives": [{"name": "error", "minimize": True}]}, {})
    night = [  # trial, status, error value, when it finished, why it failed
        (0, TrialStatus.COMPLETED, 0.5, SINCE - 3600, None),  # the evening before
        (1, TrialStatus.COMPLETED, 0.3, NOW - 3 * 3600, None),
        (2, TrialStatus.FAILED, None, NOW - 2 * 3600, "the arm dropped the vial"),
        (3, TrialStatus.COMPLETED, 0.4, NOW - 3600, None),
    ]
    for idx, status, value, finished, error in night:
        db.add_trial("c", idx, {"cyan": parse_quantity("1 mL")}, "ax/BO")
        outcomes = {"error": value} if value is not None else None
        db.update_trial("c", idx, outcomes, status=status, finished=finished, error=error)
    db.add_trial("c", 4, {"cyan": parse_quantity("2 mL")}, "ax/BO", TrialStatus.AWAITING_APPROVAL)
    db.audit.append("emergency stop", "ok", user="olga", role="operator")
    yield db
    db.close()


def test_the_night_as_a_person_reads_it(store: Store):
    text = render(overnight(store, SINCE), "sim-lab")
    lines = text.splitlines()
    assert "- c: 2 trials completed, 1 failed; best error (lowest) 0.3, from 0.5" in lines
    assert "    trial 2 failed: the arm dropped the vial" in lines
    assert any(line.startswith("Emergency stops: ") and "by olga" in line for line in lines)
    waiting = lines[lines.index("Waiting for a person:") + 1 :]
    assert waiting[0].startswith("- the emergency stop is latched (by olga at ")
    assert "- trial 4 of c waits for approval" in waiting
    store.audit.append("reset", "ok", user="sam", role="staff")
    after = render(overnight(store, SINCE), "sim-lab")
    assert "latched" not in after and "Emergency stops: " in after  # it happened, and is over


def test_lab_report_overnight(store: Store, tmp_path: Path, example_dir: Path):
    store_path = str(tmp_path / "store.sqlite")
    lab = str(example_dir / "lab.yaml")
    runner = CliRunner()
    shown = runner.invoke(app, ["report", "overnight", "--store", store_path, "--lab", lab])
    assert shown.exit_code == 0, shown.output
    assert "best error (lowest) 0.3, from 0.5" in shown.output
    week = runner.invoke(
        app,
        ["report", "overnight", "--store", store_path, "--lab", lab, "--since", "7 days", "--json"],
    )
    (c,) = json.loads(week.stdout)["campaigns"]
    assert (c["completed"], c["failed"], c["best_before"]) == (3, 1, None)  # all in the week
    bad = runner.invoke(app, ["report", "overnight", "--store", store_path, "--since", "soon"])
    assert bad.exit_code == 2
    assert "--since 'soon': give a time ago with its unit (12 h, 2 days)" in " ".join(
        bad.output.split()
    )


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def test_the_summary_is_sent_each_morning_once(store: Store, hooks: Receiver):
    clock = {"now": dt.datetime(2026, 12, 7, 7, 29)}
    section = NotificationsConfig.model_validate(
        {"channels": {"ops": {"kind": "webhook", "url": hooks.url}}, "summary_at": "07:30"}
    )
    asked: list[float] = []

    def summary(since: float) -> str:
        asked.append(since)
        return render(overnight(store, since), "sim-lab")

    notifier = Notifier(
        section, "sim-lab", store.notifications, now=lambda: clock["now"], summary=summary
    )
    time.sleep(1.2)
    assert hooks.bodies() == []  # not yet its time
    clock["now"] = dt.datetime(2026, 12, 7, 7, 30)
    (message,) = hooks.wait_for(1, timeout_s=5)
    assert message["event"] == "morning_summary" and message["title"] == "Morning summary"
    assert "trial 4 of c waits for approval" in message["text"]
    assert asked == [dt.datetime(2026, 12, 6, 7, 29).timestamp()]  # the day before the start
    clock["now"] = dt.datetime(2026, 12, 7, 12, 0)
    time.sleep(1.2)
    assert len(hooks.bodies()) == 1  # once a day
    notifier.close()
