"""The lab as a SiLA 2 server, driven with the sila2 library's own dynamic client as a
third-party orchestrator would: log in as a lab user, read the state and the devices,
start and pause a campaign, press the emergency stop; a viewer is refused what needs an
operator, and every change is in the lab's audit log."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sila2.client import SilaClient
from sila2.framework import DefinedExecutionError

from lab.accounts.users import add_user
from lab.files.lab_file import load_lab_config
from lab.server import LabServer
from lab.store import Store
from simulators.opcua_station import free_port

pytestmark = pytest.mark.system


@pytest.fixture
def served(example_dir: Path, tmp_path: Path) -> Iterator[tuple[LabServer, SilaClient]]:
    store = Store(tmp_path / "store.sqlite")
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("stef", "staff")):
        add_user(store, name, role, f"{name} has a long password")
    server = LabServer(
        load_lab_config(example_dir / "lab.yaml"),
        store,
        secrets.token_urlsafe(32),
        example_dir,
        sila=(free_port(), tmp_path / "sila"),
    )
    server.start()
    assert server.sila is not None
    client = SilaClient(
        "127.0.0.1", server.sila.port, root_certs=server.sila.identity.certificate_path.read_bytes()
    )
    try:
        yield server, client
    finally:
        server.close()


def _as(client: SilaClient, user: str) -> list:
    """The metadata of calls as ``user`` (logged in with SiLA's AuthenticationService)."""
    token = client.AuthenticationService.Login(
        UserIdentification=user,
        Password=f"{user} has a long password",
        RequestedServer=str(client.SiLAService.ServerUUID.get()),
        RequestedFeatures=[],
    ).AccessToken
    return [client.AuthorizationService.AccessToken(token)]


def test_an_orchestrator_runs_the_lab_under_its_roles(served):
    server, client = served
    viewer, operator = _as(client, "vera"), _as(client, "otto")
    assert client.LabControl.State.get(metadata=viewer) == "idle"
    assert client.LabControl.Devices.get(metadata=viewer) == ["arm", "station", "spectrometer"]
    readings = json.loads(client.LabControl.ReadDevice("station", metadata=viewer).Readings)
    assert readings["heater setpoint"] == {  # as the dashboard and `lab devices` name it
        "value": 25.0,
        "units": "degC",
        "time": pytest.approx(time.time(), abs=60),
    }
    with pytest.raises(DefinedExecutionError) as refused:
        client.LabControl.StartCampaign("colour-match", metadata=viewer)
    assert refused.value.message == "vera is viewer: campaign start needs operator"
    client.LabControl.StartCampaign("colour-match", metadata=operator)
    assert client.LabControl.ActiveCampaign.get(metadata=viewer) == "colour-match"
    deadline = time.monotonic() + 30
    while client.LabControl.State.get(metadata=viewer) != "running":
        assert time.monotonic() < deadline, "the campaign never ran"
        time.sleep(0.1)
    assert client.LabControl.Pause(metadata=operator).State in ("pausing", "paused")
    assert client.LabControl.Resume(metadata=operator).State == "running"
    devices = client.LabControl.EmergencyStop("orchestrator test", metadata=operator).Devices
    assert set(devices.splitlines()) == {"arm: safe", "station: safe", "spectrometer: safe"}
    assert client.LabControl.State.get(metadata=viewer) == "emergency stop"
    with pytest.raises(
        DefinedExecutionError, match="otto is operator: emergency stop reset needs staff"
    ):
        client.LabControl.ResetEmergencyStop(metadata=operator)
    rows = [(e.user, e.action, e.outcome, e.client) for e in server.store.audit.entries(50)]
    assert ("vera", "campaign start", "refused: not permitted", "SiLA 2") in rows
    assert ("otto", "campaign start", "ok", "SiLA 2") in rows
    assert ("otto", "emergency stop", "ok", "SiLA 2") in rows


def test_a_wrong_password_and_a_call_without_a_token_are_refused(served):
    server, client = served
    with pytest.raises(DefinedExecutionError, match="AuthenticationFailed"):
        client.AuthenticationService.Login(
            UserIdentification="otto",
            Password="not it",
            RequestedServer=str(client.SiLAService.ServerUUID.get()),
            RequestedFeatures=[],
        )
    with pytest.raises(Exception) as no_token:
        client.LabControl.Pause()
    assert "AccessToken" in str(no_token.value)
    assert server.manager.lab_state() == "idle"  # nothing happened
