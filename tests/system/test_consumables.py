"""Consumables on a simulated lab over its real wires: a campaign told before it starts
that the racks will not last, paused before the trial it cannot finish (nothing taken,
nothing dispensed), people told, the staff's refill recorded and done by the simulator,
and the campaign going on to its end when resumed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from lab.accounts.users import add_user
from lab.files.lab_file import load_lab_config
from lab.outputs.overnight import overnight, render
from lab.server import LabServer, create_app
from lab.store import Store
from tests.conftest import EXAMPLES
from tests.system.test_server_api import SECRET, wait_for
from tests.webhooks import Receiver, webhook_receiver

pytestmark = pytest.mark.system
C = "/api/campaigns/colour-match"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[TestClient, LabServer, Receiver, dict[str, Any]]]:
    """The example lab with a rack of two vials, cyan warned below 100 mL, and its events
    sent to a web server on loopback; a staff and an operator token."""
    out = tmp_path / "colour_match"
    shutil.copytree(EXAMPLES, out, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    config = yaml.safe_load((out / "lab.yaml").read_text())
    config["simulation"]["clock_speed"] = 1000
    config["locations"]["rack"]["vials"] = 2
    config["reagents"]["cyan"]["low"] = "100 mL"
    with webhook_receiver() as hooks:
        config["notifications"] = {
            "channels": {"ops": {"kind": "webhook", "url": f"{hooks.url}/ops"}},
            "rate_limit": "1 ms",
        }
        (out / "lab.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        campaign = yaml.safe_load((out / "campaign.yaml").read_text())
        campaign.update(trials=3, planner={"name": "sobol", "seed": 1})
        (out / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
        store = Store(tmp_path / "store.sqlite")
        add_user(store, "sam", "staff", "staff pass")
        add_user(store, "olga", "operator", "operator pass")
        server = LabServer(load_lab_config(out / "lab.yaml"), store, SECRET, out, 0.2)
        try:
            with TestClient(create_app(server)) as client:
                tokens = {}
                for name, password in (("sam", "staff pass"), ("olga", "operator pass")):
                    reply = client.post(
                        "/api/auth/token", json={"username": name, "password": password}
                    )
                    tokens[name] = {"Authorization": f"Bearer {reply.json()['token']}"}
                yield client, server, hooks, tokens
        finally:
            server.close()


def _supplies(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    reply = client.get("/api/consumables", headers=headers)
    assert reply.status_code == 200, reply.text
    return {s["name"]: s for s in reply.json()}


def _paused_for(client: TestClient, headers: dict[str, str], words: str) -> dict[str, Any]:
    def paused() -> dict[str, Any] | None:
        session = client.get(C, headers=headers).json()["session"]
        alert = session and session["alert"]
        return session if alert and words in alert else None

    return wait_for(paused, 120)


def test_a_campaign_pauses_before_the_trial_it_cannot_finish_and_goes_on_after_a_refill(lab):
    client, server, hooks, tokens = lab
    sam, olga = tokens["sam"], tokens["olga"]
    before = _supplies(client, olga)
    assert before["vials"] == {
        "name": "vials",
        "level": 2,
        "unit": "vials",
        "low": None,
        "per_trial": None,
        "trials_left": None,
        "is_low": False,
    }
    assert before["cyan"]["level"] == pytest.approx(250) and before["cyan"]["low"] == 100
    assert client.post(f"{C}/start", json={}, headers=olga).status_code == 200

    # told at the start that the rack will not last the budget, then paused before trial 3
    session = _paused_for(client, olga, "vials runs short")
    assert "the next trial needs 1 vial and the racks hold 0 vials" in session["alert"]
    assert session["consumable"]["short"] is True
    trials = client.get(C, headers=olga).json()["trial_list"]
    assert [t["status"] for t in trials] == ["completed", "completed", "proposed"]
    assert server.store.trial("colour-match", 2).sample_id is None  # nothing taken for it
    assert server.manager.control_state()["lab"] == "paused"
    told = hooks.wait_for(2, path="/ops", timeout_s=20)
    lows = [b for b in hooks.bodies("/ops") if b["event"] == "consumable_low"]
    assert any("vials will run out after about 2 of the 3 trials left" in b["text"] for b in lows)
    assert any(b["title"] == "Campaign colour-match paused: vials runs short" for b in lows), told

    # a refill is staff's, in words the lab understands
    assert (
        client.post("/api/consumables/vials/refill", json={"level": "5"}, headers=olga).status_code
        == 403
    )
    bad = client.post("/api/consumables/vials/refill", json={"level": "five"}, headers=sam)
    assert bad.status_code == 422 and "not a number of vials" in bad.json()["detail"]
    unknown = client.post("/api/consumables/ink/refill", json={"level": "5 mL"}, headers=sam)
    assert unknown.status_code == 404 and "no reagent 'ink'" in unknown.json()["detail"]
    wrong = client.post("/api/consumables/cyan/refill", json={"level": "5 degC"}, headers=sam)
    assert wrong.status_code == 422 and "is not a volume" in wrong.json()["detail"]

    # vials refilled, but cyan nearly emptied: the held trial is short of cyan now
    done = client.post("/api/consumables/vials/refill", json={"level": "5"}, headers=sam)
    assert done.status_code == 200 and done.json()["level"] == "5 vials"
    assert (
        client.post(
            "/api/consumables/cyan/refill", json={"level": "0.001 mL"}, headers=sam
        ).status_code
        == 200
    )
    # resumed once the sensors read the new levels, as an operator sees them on the page
    wait_for(lambda: _supplies(client, olga)["cyan"]["level"] < 0.01)
    assert _supplies(client, olga)["vials"]["level"] == 5
    assert client.post("/api/lab/resume", headers=olga).status_code == 200
    session = _paused_for(client, olga, "cyan runs short")
    assert "its reservoir holds 0.001 mL" in session["alert"]
    low = wait_for(
        lambda: [
            b
            for b in hooks.bodies("/ops")
            if b["title"].startswith("Campaign colour-match: cyan is low")
        ]
    )
    assert "warn below 100 mL" in low[0]["text"]

    # refilled for real: the campaign finishes its budget, each trial once
    assert (
        client.post(
            "/api/consumables/cyan/refill", json={"level": "250 mL"}, headers=sam
        ).status_code
        == 200
    )
    wait_for(lambda: _supplies(client, olga)["cyan"]["level"] > 249)
    assert client.post("/api/lab/resume", headers=olga).status_code == 200
    wait_for(lambda: client.get(C, headers=olga).json()["session"]["state"] == "finished", 120)
    trials = client.get(C, headers=olga).json()["trial_list"]
    assert [t["status"] for t in trials] == ["completed"] * 3
    supplies = _supplies(client, olga)
    assert supplies["vials"]["level"] == 4  # five refilled, one taken since
    assert supplies["cyan"]["level"] < 250  # what trial 3 dispensed, as the sensor reads
    refills = server.store.refills.latest()
    assert {n: (r.level, r.user) for n, r in refills.items()} == {
        "vials": ("5 vials", "sam"),
        "cyan": ("250 mL", "sam"),
    }
    audit = [(e.action, e.target, e.outcome) for e in server.store.audit.entries(50)]
    assert ("refill", "cyan", "ok") in audit
    assert any(a == "refill" and t == "ink" and o != "ok" for a, t, o in audit)
    # the morning summary says what runs out next, soonest first
    summary = render(overnight(server.store, 0, supplies=server.consumables.now()), "colour")
    listed = summary.split("Consumables, soonest to run out first:\n")[1].splitlines()
    assert listed[0].startswith("- vials: 4 vials, about "), summary
    assert any(line.startswith("- water: ") for line in listed)
