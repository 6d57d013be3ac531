"""The lab server's API on a simulated lab over its real wires (ptys, OPC UA): every
endpoint for every role, run control, approvals, the emergency stop, runs by hand, and
bad requests that change nothing."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import parse_quantity
from lab.accounts.users import add_user, set_password
from lab.files.lab_file import load_lab_config
from lab.server import LabServer, SecretError, check_secret, create_app
from lab.server._throttle import LoginThrottle
from lab.store import Store
from tests.conftest import EXAMPLES
from tests.webhooks import Receiver, webhook_receiver

pytestmark = pytest.mark.system
SECRET = "x7Qp2-some-long-random-test-secret-9fLm"
PASSWORDS = {"vic": "viewer pass", "olga": "operator pass", "sam": "staff pass"}
ROLES = {"vic": "viewer", "olga": "operator", "sam": "staff"}


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    """Where the lab's notifications go: a web server on loopback."""
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Path:
    """The example lab (fast clock, its events sent to ``hooks``) with two campaigns: one
    automatic, one needing approval."""
    out = tmp_path_factory.mktemp("lab") / "colour_match"
    shutil.copytree(EXAMPLES, out, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = yaml.safe_load((out / "lab.yaml").read_text())
    lab["simulation"]["clock_speed"] = 1000
    lab["notifications"] = {
        "channels": {"ops": {"kind": "webhook", "url": f"{hooks.url}/ops"}},
        "rate_limit": "1 ms",
        "dashboard": "http://lab.example.org:8000",
    }
    (out / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    campaign = yaml.safe_load((out / "campaign.yaml").read_text())
    campaign.update(trials=3, planner={"name": "sobol", "seed": 1, "own_process": True})
    (out / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    campaign.update(name="approved-match", approval="required")
    (out / "approved.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    return out


@pytest.fixture(scope="module")
def server(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    store = Store(tmp_path_factory.mktemp("store") / "store.sqlite")
    for name, password in PASSWORDS.items():
        add_user(store, name, ROLES[name], password)
    lab_server = LabServer(load_lab_config(lab_dir / "lab.yaml"), store, SECRET, lab_dir, 0.2)
    yield lab_server
    lab_server.close()


@pytest.fixture(scope="module")
def client(server: LabServer) -> Iterator[TestClient]:
    with TestClient(create_app(server)) as http:
        yield http


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    headers = {}
    for name, password in PASSWORDS.items():
        reply = client.post("/api/auth/token", json={"username": name, "password": password})
        assert reply.status_code == 200, reply.text
        headers[name] = {"Authorization": f"Bearer {reply.json()['token']}"}
    return headers


def wait_for(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return found


def session_of(client: TestClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    return client.get(f"/api/campaigns/{name}", headers=headers).json()


def finished(client: TestClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        session = session_of(client, headers, name)["session"]
        return (
            session if session and session["state"] in ("finished", "stopped", "failed") else None
        )

    return wait_for(ended, 120)


# --- every endpoint, every role ------------------------------------------------------------
C = "/api/campaigns/colour-match"
ENDPOINTS = [  # method, path, body (harmless: refused by state or validation once allowed), role
    ("GET", "/api/lab", None, "viewer"),
    ("GET", "/api/auth/me", None, "viewer"),
    ("GET", "/api/campaigns", None, "viewer"),
    ("GET", C, None, "viewer"),
    ("GET", f"{C}/target", None, "viewer"),
    ("GET", f"{C}/spectrum", None, "viewer"),
    ("GET", f"{C}/time-use", None, "viewer"),
    ("GET", "/api/proposals", None, "viewer"),
    ("GET", "/api/runs", None, "viewer"),
    ("GET", "/api/runs/no-such-run", None, "viewer"),
    ("GET", "/openapi.json", None, "viewer"),
    ("GET", "/api/audit", None, "operator"),
    ("GET", "/api/notifications", None, "operator"),
    ("GET", "/api/users", None, "staff"),
    ("POST", f"{C}/start", {"trials": 0}, "operator"),
    ("POST", f"{C}/stop", None, "operator"),
    ("POST", f"{C}/abort", None, "operator"),
    ("POST", "/api/lab/resume", None, "operator"),
    ("POST", f"{C}/proposals/99/approve", {}, "operator"),
    ("POST", f"{C}/proposals/99/reject", {"reason": "no"}, "operator"),
    ("POST", "/api/lab/reset", None, "staff"),
    ("POST", "/api/plans", {"plan": "no-such-plan"}, "staff"),
    ("POST", "/api/users", {"username": "x", "role": "viewer", "password": "short"}, "staff"),
    ("DELETE", "/api/users/nobody", None, "staff"),
    ("GET", "/api/diagnoses", None, "viewer"),
    ("POST", "/api/diagnoses", {"devices": ["no-such-device"]}, "staff"),
    ("GET", "/api/consumables", None, "viewer"),
    ("GET", f"{C}/plots/best_so_far.png", None, "viewer"),
    ("POST", "/api/consumables/ink/refill", {"level": "1 mL"}, "staff"),
    ("POST", "/api/campaigns/check", {"campaign": "name: x"}, "operator"),
    ("POST", f"{C}/offers", {"parameters": {}}, "operator"),
    ("PUT", "/api/users/nobody/unattended/colour-match", None, "staff"),
    ("DELETE", "/api/users/nobody/unattended/colour-match", None, "staff"),
]
RANK = {"viewer": 0, "operator": 1, "staff": 2}


@pytest.mark.parametrize(("method", "path", "body", "needs"), ENDPOINTS)
def test_every_endpoint_admits_its_roles_and_refuses_the_others(
    client: TestClient, tokens, method: str, path: str, body, needs: str
):
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401
    for user, role in ROLES.items():
        reply = client.request(method, path, json=body, headers=tokens[user])
        if RANK[role] >= RANK[needs]:
            assert reply.status_code not in (401, 403, 500), (user, reply.text)
        else:
            assert reply.status_code == 403, (user, reply.text)
            assert f"needs role {needs}" in reply.json()["detail"]


def test_health_needs_no_login_and_pages_send_strangers_to_the_login(client: TestClient):
    assert client.get("/api/health").json() == {"status": "ok", "lab": "sim-colour-lab"}
    page = client.get("/campaigns", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/campaigns"
    docs = client.get("/docs", follow_redirects=False)  # the API's pages too
    assert docs.status_code == 303 and docs.headers["location"] == "/login?next=/docs"
    assert '<form id="login">' in client.get("/login").text


def test_a_browser_session_needs_its_csrf_token(client: TestClient, server: LabServer):
    login = client.post("/api/auth/login", json={"username": "olga", "password": "operator pass"})
    assert login.status_code == 200
    assert "httponly" in login.headers["set-cookie"].lower()
    assert "samesite=strict" in login.headers["set-cookie"].lower()
    csrf = login.json()["csrf_token"]
    assert client.get("/api/auth/me").json()["user"] == "olga"  # the cookie reads
    refused = client.post("/api/lab/resume")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert client.post("/api/lab/resume", headers={"X-CSRF-Token": "forged"}).status_code == 403
    elsewhere = client.post(
        "/api/lab/resume", headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403 and "evil.example" in elsewhere.json()["detail"]
    allowed = client.post(
        "/api/lab/resume", headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"}
    )
    assert allowed.status_code == 409  # past the CSRF check: the lab is not paused
    assert client.get("/api/auth/me").json()["csrf_token"] == csrf  # a reloaded page gets it
    with server.store.engine.connect() as c:  # neither token is kept in clear
        stored = " ".join(
            str(v) for row in c.exec_driver_sql("SELECT * FROM sessions") for v in row
        )
    assert csrf not in stored and login.cookies["lab_session"] not in stored
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401
    client.cookies.clear()


def test_wrong_passwords_and_weak_secrets_are_refused(client: TestClient, server: LabServer):
    bad = client.post("/api/auth/login", json={"username": "olga", "password": "guess"})
    assert bad.status_code == 401
    entry = server.store.audit.entries(1)[0]
    assert (entry.action, entry.user) == ("login", "olga")
    assert entry.outcome.startswith("refused (401)")
    for weak in (
        "",
        "changeme",
        "short-secret",
        "a" * 40,
        "abcdefgh" * 4,  # 8 different characters, 32 long, and no secret at all
        "Password1234567890Password1234567890",
        "qwertyuiopasdfghjklzxcvbnm1234567890",
    ):
        with pytest.raises(SecretError):
            check_secret(weak)
    assert check_secret(SECRET) == SECRET


# --- bad requests ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("POST", "/api/campaigns/nope/start", {}, 404, "no campaign 'nope'"),
        ("POST", f"{C}/start", {"trials": "many"}, 422, "body.trials"),
        ("POST", f"{C}/start", {"planner": "magic"}, 422, "body.planner"),
        ("POST", f"{C}/start", {"trials": 3, "colour": 1}, 422, "body.colour"),
        ("POST", f"{C}/stop", None, 409, "'colour-match' is not running"),
        ("POST", "/api/campaigns/nope/stop", None, 404, "no campaign 'nope'"),
        ("POST", "/api/campaigns/nope/abort", None, 404, "no campaign 'nope'"),
        ("POST", f"{C}/start", {"trials": True}, 422, "body.trials"),
        ("POST", f"{C}/start", {"trials": 2.0}, 422, "body.trials"),
        ("POST", f"{C}/start", {"seed": "1"}, 422, "body.seed"),
        ("POST", "/api/lab/reset", None, 409, "not latched"),
        (
            "POST",
            "/api/plans",
            {"plan": "count", "kwargs": {"detectors": ["ghost"]}},
            422,
            "no device 'ghost'",
        ),
        ("POST", "/api/plans", {"plan": "count", "kwargs": {"num": 1}}, 422, "detectors"),
        *(
            ("POST", "/api/plans", {"plan": "count", "kwargs": kwargs}, 422, field)
            for kwargs, field in (
                ({"detectors": ["spectrometer"], "num": -1}, "kwargs.num"),
                ({"detectors": ["spectrometer"], "num": 0}, "kwargs.num"),
                ({"detectors": ["spectrometer"], "num": 1.0}, "kwargs.num"),
                ({"detectors": []}, "kwargs.detectors"),
                ({"detectors": "station.heater"}, "kwargs.detectors"),
            )
        ),
        (
            "POST",
            "/api/plans",
            {
                "plan": "scan",
                "kwargs": {"motor": "station.heater", "start": 30, "stop": 500, "num": 2},
            },
            422,
            "station.heater: stop 500 °C is outside",
        ),
        ("DELETE", "/api/users/sam", None, 409, "cannot remove yourself"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field_or_state(
    client: TestClient, tokens, server: LabServer, method, path, body, status, words
):
    before = len(server.store.runs())
    reply = client.request(method, path, json=body, headers=tokens["sam"])
    assert reply.status_code == status, reply.text
    assert words in reply.json()["detail"]
    assert len(server.store.runs()) == before  # nothing ran
    entry = server.store.audit.entries(1)[0]
    assert entry.user == "sam" and entry.outcome.startswith(f"refused ({status})")


def test_malformed_json_is_a_422(client: TestClient, tokens, server: LabServer):
    reply = client.post(
        f"{C}/start",
        content=b"{not json",
        headers={**tokens["olga"], "content-type": "application/json"},
    )
    assert reply.status_code == 422 and "JSON" in reply.json()["detail"]
    row = server.store.audit.entries(1)[0]  # refused before its route: who sent it is known
    assert (row.user, row.role) == ("olga", "operator") and row.outcome.startswith("refused (422)")
    for method, path in (("POST", "/api/no-such-route"), ("PUT", "/api/lab/pause")):
        assert client.request(method, path, headers=tokens["olga"]).status_code in (404, 405)
        assert server.store.audit.entries(1)[0].user == "olga"


# --- runs by hand ------------------------------------------------------------------------------
def test_standard_plans_by_hand_are_recorded_and_scan_ids_count_on(
    client: TestClient, tokens, server: LabServer
):
    before = server.store.last_scan_id()
    counted = client.post(
        "/api/plans",
        json={"plan": "count", "kwargs": {"detectors": ["station.heater"], "num": 2}},
        headers=tokens["sam"],
    )
    assert counted.status_code == 200, counted.text
    scanned = client.post(
        "/api/plans",
        json={
            "plan": "scan",  # bare numbers: degC, the unit the heater declares
            "kwargs": {
                "detectors": ["station.stirrer"],
                "motor": "station.heater",
                "start": 30,
                "stop": 40,
                "num": 2,
            },
        },
        headers=tokens["sam"],
    )
    assert scanned.status_code == 200, scanned.text
    runs = server.store.runs(2)
    assert [r.scan_id for r in reversed(runs)] == [before + 1, before + 2]
    assert [r.plan_name for r in reversed(runs)] == ["count", "scan"]
    assert all(r.operator == "sam" and r.exit_status == "success" for r in runs)
    shown = client.get(f"/api/runs/{runs[0].uid}", headers=tokens["vic"]).json()
    events = [d["doc"] for d in shown["documents"] if d["name"] == "event"]
    assert [round(e["data"]["station-heater"]) for e in events] == [30, 40]
    failed = client.post(  # the holder is empty: the instrument refuses, in its own words
        "/api/plans",
        json={"plan": "count", "kwargs": {"detectors": ["spectrometer"]}},
        headers=tokens["sam"],
    )
    assert failed.status_code == 409, failed.text
    detail = failed.json()["detail"]
    assert "no sample in holder" in detail and "<" not in detail and "Status" not in detail
    client.post(
        "/api/plans",
        json={
            "plan": "scan",
            "kwargs": {
                "detectors": [],
                "motor": "station.heater",
                "start": 25,
                "stop": 25,
                "num": 1,
            },
        },
        headers=tokens["sam"],
    )


# --- a campaign, its control, approvals and the emergency stop ---------------------------------------
def test_a_campaign_runs_pauses_between_steps_and_resumes(client: TestClient, tokens, server):
    started = client.post(f"{C}/start", json={"trials": 2}, headers=tokens["olga"])
    assert started.status_code == 200, started.text
    second = client.post(f"{C}/start", json={"trials": 2}, headers=tokens["olga"])
    assert second.status_code == 409
    assert "on these devices" in second.json()["detail"]
    wait_for(
        lambda: any(
            t["status"] == "running"
            for t in session_of(client, tokens["vic"], "colour-match")["trial_list"]
        )
    )
    assert client.post("/api/lab/pause", headers=tokens["olga"]).status_code == 200
    wait_for(
        lambda: (
            client.get("/api/lab", headers=tokens["vic"]).json()["control"]["executor"] == "paused"
        )
    )
    frozen = session_of(client, tokens["vic"], "colour-match")["trial_list"]
    time.sleep(1.0)  # 1000 s of lab time: a running trial would have finished
    assert session_of(client, tokens["vic"], "colour-match")["trial_list"] == frozen
    assert client.post("/api/lab/resume", headers=tokens["olga"]).status_code == 200
    session = finished(client, tokens["vic"], "colour-match")
    assert session["state"] == "finished" and session["done"] == 2
    detail = session_of(client, tokens["vic"], "colour-match")
    trials = detail["trial_list"]
    assert [t["status"] for t in trials] == ["completed", "completed"]
    # the planner's choice of best, as recorded in the store while the campaign ran
    assert len(detail["best_trials"]) == 1 and detail["best_trials"][0] in (0, 1)
    assert detail["best_rule"] == server.store.campaign("colour-match")["best"]["rule"]
    runs = server.store.runs(campaign="colour-match")
    assert {r.operator for r in runs} == {"olga"}
    # the planner's process of its own ended with the campaign (a later run builds another)
    runner = server.manager.sessions["colour-match"].runner
    assert runner is not None
    wait_for(lambda: not runner.planner._channel.process.is_alive())


def test_proposals_wait_for_approval_edit_or_rejection(client: TestClient, tokens, server):
    name = "approved-match"
    base = f"/api/campaigns/{name}"
    assert (
        client.post(f"{base}/start", json={"trials": 2}, headers=tokens["olga"]).status_code == 200
    )

    def proposal() -> dict[str, Any] | None:
        found = client.get("/api/proposals", headers=tokens["vic"]).json()
        return found[0] if found else None

    first = wait_for(proposal)
    control = client.get("/api/lab", headers=tokens["vic"]).json()["control"]
    assert control["lab"] == "awaiting approval" and control["active_campaign"] == name
    assert first["trial"] == 0 and set(first["parameters"]) == {
        "cyan",
        "magenta",
        "yellow",
        "temperature",
    }
    approve = f"{base}/proposals/0/approve"
    out_of_bounds = client.post(
        approve,
        json={"parameters": {"cyan": "5 mL", "temperature": "1 kg"}},
        headers=tokens["olga"],
    )
    assert out_of_bounds.status_code == 422
    assert "parameters.cyan: 5 mL is outside 0..3 mL" in out_of_bounds.json()["detail"]
    assert "parameters.temperature" in out_of_bounds.json()["detail"]
    constraint = client.post(
        approve,
        json={"parameters": {"cyan": "3 mL", "magenta": "3 mL", "yellow": "3 mL"}},
        headers=tokens["olga"],
    )
    assert constraint.status_code == 422 and "constraint" in constraint.json()["detail"]
    assert proposal()["trial"] == 0  # still waiting, unchanged
    edited = client.post(
        approve,
        json={"parameters": {"cyan": "500 uL", "temperature": "313.15 K"}},  # other units
        headers=tokens["olga"],
    )
    assert edited.status_code == 200, edited.text
    second = wait_for(lambda: (p := proposal()) and p["trial"] != 0 and p)
    rejected = client.post(
        f"{base}/proposals/{second['trial']}/reject",
        json={"reason": "too much magenta"},
        headers=tokens["olga"],
    )
    assert rejected.status_code == 200
    third = wait_for(lambda: (p := proposal()) and p["trial"] > second["trial"] and p)
    assert (
        client.post(
            f"{base}/proposals/{third['trial']}/approve", json={}, headers=tokens["olga"]
        ).status_code
        == 200
    )
    session = finished(client, tokens["vic"], name)
    assert session["state"] == "finished"
    trials = {t["trial"]: t for t in session_of(client, tokens["vic"], name)["trial_list"]}
    assert trials[0]["status"] == "rejected" and "edited by olga into trial 1" in trials[0]["error"]
    assert trials[1]["status"] == "completed" and trials[1]["planner"] == "sobol/edit-of-0"
    # stored in each parameter's own unit, whatever unit the edit was written in
    assert trials[1]["parameters"]["cyan"] == "0.5 milliliter"
    temperature = parse_quantity(trials[1]["parameters"]["temperature"])
    assert str(temperature.units) == "degree_Celsius" and temperature.m == pytest.approx(40.0)
    assert trials[second["trial"]]["status"] == "rejected"
    assert trials[second["trial"]]["error"] == "rejected by olga: too much magenta"
    assert (
        trials[third["trial"]]["status"] == "completed"
        and trials[third["trial"]]["decided_by"] == "olga"
    )
    actions = [e.action for e in server.store.audit.entries(50)]
    assert {"approve", "reject", "campaign start"} <= set(actions)


def test_the_emergency_stop_reaches_every_device_and_latches(
    client: TestClient, tokens, server, hooks: Receiver
):
    world = server.lab.world
    since = time.time()
    assert client.post(f"{C}/start", json={"trials": 4}, headers=tokens["olga"]).status_code == 200
    wait_for(lambda: world.station.rpm > 0, 60)  # stirring: the moment an e-stop matters
    stopped = client.post("/api/lab/estop", headers=tokens["olga"])
    assert stopped.status_code == 200
    report = stopped.json()
    assert report["confirmed"] and report["devices"] == dict.fromkeys(
        ("arm", "station", "spectrometer"), "safe"
    )
    station = world.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c
    assert all(f.estopped for f in world.firmware.values())
    session = finished(client, tokens["vic"], "colour-match")
    assert session["state"] == "stopped" and "emergency stop by olga" in session["stopped"]
    trials = session_of(client, tokens["vic"], "colour-match")["trial_list"]
    assert trials[-1]["status"] == "failed" and "emergency stop by olga" in trials[-1]["error"]
    refused = client.post(f"{C}/start", json={"trials": 5}, headers=tokens["olga"])
    assert refused.status_code == 409 and "emergency stop latched" in refused.json()["detail"]
    plan = client.post(
        "/api/plans",
        json={"plan": "count", "kwargs": {"detectors": ["spectrometer"]}},
        headers=tokens["sam"],
    )
    assert plan.status_code == 409
    assert client.post("/api/lab/reset", headers=tokens["olga"]).status_code == 403
    lab = client.get("/api/lab", headers=tokens["vic"]).json()
    assert lab["control"]["estop"]["by"] == "olga"
    wait_for(
        lambda: all(
            d["state"] == "estopped"
            for d in client.get("/api/lab", headers=tokens["vic"]).json()["snapshot"]["devices"]
        )
    )
    reset = client.post("/api/lab/reset", headers=tokens["sam"])
    assert reset.status_code == 200 and not any(f.estopped for f in world.firmware.values())
    # the vial the stop left behind is the recovery issue's; here: the lab may move again
    counted = client.post(
        "/api/plans",
        json={"plan": "count", "kwargs": {"detectors": ["station.heater"]}},
        headers=tokens["sam"],
    )
    assert counted.status_code == 200, counted.text
    # and people were told, each thing once, with a link to where to look
    told = ["emergency_stop", "emergency_reset", "campaign_stopped", "trial_failed"]
    hooks.wait_for(len(told), path="/ops")
    wait_for(
        lambda: {b["event"] for b in hooks.bodies("/ops") if b["time"] >= _iso(since)} >= set(told)
    )
    mine = [b for b in hooks.bodies("/ops") if b["time"] >= _iso(since)]
    for kind in ("emergency_stop", "emergency_reset"):
        assert [b["event"] for b in mine].count(kind) == 1, mine
    stop = next(b for b in mine if b["event"] == "emergency_stop")
    assert stop["severity"] == "critical" and "Latched by olga" in stop["text"]
    stopped = next(b for b in mine if b["event"] == "campaign_stopped")
    assert stopped["link"] == "http://lab.example.org:8000/campaigns/colour-match"
    log = client.get("/api/notifications", headers=tokens["olga"]).json()
    assert {(d["event"], d["channel"], d["status"]) for d in log} >= {
        ("emergency_stop", "ops", "sent"),
        ("emergency_reset", "ops", "sent"),
    }


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
BODY_FIELDS = ["plan", "args", "kwargs", "username", "role", "password", "reason", "parameters"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/api/plans",
            "/api/users",
            "/api/campaigns/{x}/start",
            "/api/campaigns/{x}/proposals/{n}/approve",
            "/api/campaigns/colour-match/proposals/{n}/approve",
            "/api/campaigns/colour-match/proposals/{n}/reject",
            "/api/auth/token",
            "/api/auth/login",
        ]
    ),
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip("./") == s and "/" not in s),
    number=st.integers(-(2**70), 2**70),
    body=JSON | st.dictionaries(st.sampled_from(BODY_FIELDS), JSON),
    raw=st.none() | st.binary(max_size=50),
)
def test_no_request_body_gets_a_5xx(client: TestClient, tokens, path, name, number, body, raw):
    url = path.format(x=quote(name, safe=""), n=number)
    content = json.dumps(body).encode() if raw is None else raw  # NaN, Infinity included
    headers = {**tokens["sam"], "content-type": "application/json"}
    reply = client.post(url, content=content, headers=headers)
    assert reply.status_code < 500, (url, body, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    if reply.status_code >= 400:
        assert len(reply.json()["detail"]) > 0


def test_staff_diagnose_the_lab_from_the_server_and_nothing_else_starts_meanwhile(
    client: TestClient, tokens, server
):
    staff = tokens["sam"]
    started = client.post("/api/diagnoses", json={"devices": ["arm"]}, headers=staff)
    assert started.status_code == 202, started.text
    assert started.json()["running"]["by"] == "sam"
    again = client.post("/api/diagnoses", json={}, headers=staff)
    campaign = client.post(f"{C}/start", json={}, headers=tokens["olga"])
    for refused in (again, campaign):  # the devices are taken while it runs
        assert refused.status_code == 409 and "diagnosis started by sam" in refused.json()["detail"]
    state = wait_for(
        lambda: (
            (s := client.get("/api/diagnoses", headers=tokens["vic"]).json())["running"] is None
            and s
        ),
    )
    assert state["error"] is None
    checks = {r["check"]: r for r in state["latest"]["arm"]}
    assert checks["identity"]["status"] == "pass" and checks["repeatability"]["unit"] == "mm"
    assert server.store.diagnoses.history("arm")[-1]["session"] == checks["identity"]["session"]
    assert server.manager.exclusive is None  # the devices are free again


# --- hardening ---------------------------------------------------------------------------------
def test_failed_logins_lock_the_user_out_until_staff_lift_it(
    client: TestClient, tokens, server: LabServer
):
    try:
        for _ in range(server.auth.throttle.failures):
            wrong = client.post("/api/auth/token", json={"username": "vic", "password": "nope"})
            assert wrong.status_code == 401
        locked = client.post("/api/auth/token", json={"username": "vic", "password": "viewer pass"})
        assert locked.status_code == 429  # the right password too, while locked
        assert int(locked.headers["Retry-After"]) >= 1
        assert "too many failed logins for user vic" in locked.json()["detail"]
        assert server.store.audit.entries(1)[0].outcome.startswith("refused (429)")
        other = client.post(
            "/api/auth/token", json={"username": "olga", "password": "operator pass"}
        )
        assert other.status_code == 200  # one user's lock is not another's
        lifted = client.post("/api/users/vic/unlock", headers=tokens["sam"])
        assert lifted.json() == {"username": "vic", "was_locked": True}
        entry = server.store.audit.entries(1)[0]
        assert (entry.action, entry.user, entry.target) == ("user unlock", "sam", "vic")
        again = client.post("/api/auth/token", json={"username": "vic", "password": "viewer pass"})
        assert again.status_code == 200
        assert server.store.audit.entries(1)[0].role == "viewer"  # a login row names the role
    finally:
        server.auth.throttle = LoginThrottle()  # the other tests log in from this address too


def test_a_password_change_ends_every_session_of_that_user(client: TestClient, server: LabServer):
    add_user(server.store, "pat", "viewer", "first password")
    login = client.post("/api/auth/token", json={"username": "pat", "password": "first password"})
    old = {"Authorization": f"Bearer {login.json()['token']}"}
    assert client.get("/api/auth/me", headers=old).status_code == 200
    set_password(server.store, "pat", "second password")
    assert client.get("/api/auth/me", headers=old).status_code == 401


def test_every_answer_carries_security_headers(client: TestClient, tokens):
    for path, headers in (("/api/health", {}), ("/login", {}), ("/docs", tokens["vic"])):
        reply = client.get(path, headers=headers)
        assert reply.status_code == 200, path
        policy = reply.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert ("'unsafe-inline'" in policy.split("script-src")[1].split(";")[0]) == (
            path == "/docs"  # Swagger UI starts itself with an inline script; nothing else may
        )
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "same-origin"


def test_audit_rows_stay_small_and_readable(client: TestClient, tokens, server: LabServer):
    huge = client.post(f"/api/campaigns/{'a' * 60_000}/start", json={})
    assert huge.status_code == 401
    row = server.store.audit.entries(1)[0]
    assert len(row.target or "") <= 500 and "characters in all" in (row.target or "")
    deep: dict = {}
    for _ in range(900):
        deep = {"k": deep}
    refused = client.post(
        "/api/plans", json={"plan": "count", "kwargs": deep}, headers=tokens["sam"]
    )
    assert 400 <= refused.status_code < 500
    assert client.get("/api/audit", headers=tokens["olga"]).status_code == 200
    approve = f"{C}/proposals/0/approve"
    flood = {"parameters": {"cyan": "1 mL" + " " * 10_000_000}}
    big = client.post(approve, json=flood, headers=tokens["olga"])
    assert big.status_code == 413 and "larger than 64 kB" in big.json()["detail"]
    row = server.store.audit.entries(1)[0]
    assert (row.user, row.outcome) == (
        "olga",
        "refused (413): the request body is larger than 64 kB",
    )
    assert len(str(row.detail or "")) < 1000


def test_a_body_with_a_byte_order_mark_is_refused(client: TestClient, tokens):
    reply = client.post(
        f"{C}/start",
        content=b"\xef\xbb\xbf" + json.dumps({"trials": 1}).encode(),
        headers={**tokens["olga"], "content-type": "application/json"},
    )
    assert reply.status_code == 422 and "byte-order mark" in reply.json()["detail"]


def test_the_audit_row_is_written_before_the_answer(client: TestClient, tokens, server):
    """Whoever has been answered finds the request in the log (it was once written after)."""
    for _ in range(20):
        answer = client.post("/api/lab/resume", headers=tokens["olga"])
        assert answer.status_code == 409
        row = server.store.audit.entries(1)[0]
        assert (row.action, row.user, row.role) == ("resume", "olga", "operator")


def test_every_answer_is_a_documented_type(client: TestClient, tokens):
    """OpenAPI shows what each endpoint answers (a model of lab.answers, or a list of one),
    not a bare object: it is the API's reference, and LabClient reads the same types."""
    spec = client.get("/openapi.json", headers=tokens["vic"]).json()
    untyped = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if path == "/api/events":  # a stream of events, not one answer
                continue
            ok = next(r for code, r in operation["responses"].items() if code.startswith("2"))
            if set(ok["content"]) == {"image/png"}:  # a figure: documented as a PNG
                assert path.endswith(".png"), path
            else:
                schema = ok["content"]["application/json"]["schema"]
                schema = schema.get("items", schema)
                if "$ref" not in schema and "anyOf" not in schema:
                    untyped.append(f"{method.upper()} {path}")
            refusal = operation["responses"].get("409", {})  # refusals are documented too
            if refusal.get("content", {}).get("application/json", {}).get("schema") != {
                "$ref": "#/components/schemas/Refusal"
            }:
                untyped.append(f"{method.upper()} {path} 409")
    assert untyped == []
    assert "CampaignDetail" in spec["components"]["schemas"]
    # Swagger's Authorize takes a script's token
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_a_measurement_is_not_a_stale_reading(client: TestClient, tokens):
    """A spectrometer's last measurement is as old as the measurement, not a poll gone
    unanswered: never flagged stale (it was, amber, whenever the instrument idled)."""
    snapshot = wait_for(lambda: client.get("/api/lab", headers=tokens["vic"]).json()["snapshot"])
    spectrometer = next(d for d in snapshot["devices"] if d["name"] == "spectrometer")
    readings = {r["label"]: r for r in spectrometer["readings"]}
    assert readings["saturated"]["measured"] and not readings["saturated"]["stale"]
    assert not readings["vial"]["measured"]  # polled: its age says how fresh it is


def test_the_audit_log_is_filtered_by_user_and_action(client: TestClient, tokens):
    """One user's entries (an agent's, say) or one kind of action, newest first; a filter
    that matches nothing is an empty list, and a LIKE wildcard is taken as a character."""
    client.post("/api/lab/resume", headers=tokens["olga"])
    client.post("/api/lab/pause", headers=tokens["vic"])  # a viewer: refused, still logged
    olga = client.get("/api/audit", params={"user": "olga"}, headers=tokens["olga"]).json()
    assert olga and {e["user"] for e in olga} == {"olga"}
    pauses = client.get("/api/audit", params={"action": "pau"}, headers=tokens["olga"]).json()
    assert pauses and {e["action"] for e in pauses} == {"pause"}
    assert pauses[0]["user"] == "vic" and pauses[0]["outcome"].startswith("refused (403)")
    wild = client.get("/api/audit", params={"action": "%"}, headers=tokens["olga"]).json()
    assert wild == []
