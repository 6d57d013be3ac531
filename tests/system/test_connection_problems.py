"""A device that cannot be reached is a diagnosis, never a traceback: every command ends
with one line naming the device, what was tried and what to check, and an exit code."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lab.cli import app
from lab.store import Store
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.system


@pytest.fixture
def unreachable_lab(tmp_path: Path) -> Path:
    """The example lab as real hardware whose ports and endpoint are not there."""
    shutil.copytree(EXAMPLES, tmp_path / "lab", ignore=shutil.ignore_patterns("*.py"))
    path = tmp_path / "lab" / "lab.yaml"
    lab = yaml.safe_load(path.read_text())
    lab["simulated"] = False
    del lab["simulation"]
    devices = lab["devices"]
    devices["arm"]["transport"] = {"type": "serial", "port": str(tmp_path / "ttyUSB-arm")}
    devices["spectrometer"]["transport"] = {"type": "serial", "port": str(tmp_path / "ttyS9")}
    devices["station"]["transport"] = {
        "type": "opcua",
        "endpoint": "opc.tcp://127.0.0.1:9/plc",  # nothing listens on port 9
        "security": {"mode": "None", "allow_insecure": True},
    }
    path.write_text(yaml.safe_dump(lab, sort_keys=False))
    return path


def _run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    return result


def test_lab_devices_names_each_unreachable_device(unreachable_lab: Path):
    result = _run("devices", "--lab", str(unreachable_lab))
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "cannot open" in text and "No such file or directory" in text
    assert "cannot reach opc.tcp://127.0.0.1:9/plc" in text.replace("… ", "")
    assert "check the cable" in text


def test_lab_diagnose_reports_each_connection_as_failed(unreachable_lab: Path, tmp_path: Path):
    result = _run(
        "diagnose", "--lab", str(unreachable_lab), "--store", str(tmp_path / "s.sqlite"), "--json"
    )
    assert result.exit_code == 5
    out = json.loads(result.output[result.output.index("{") :])
    assert out["devices"] == {"arm": "fail", "station": "fail", "spectrometer": "fail"}
    connections = [r for r in out["results"] if r["check"] == "connection"]
    assert all("check the cable" in r["hint"] for r in connections)


@pytest.mark.parametrize("command", ["campaign", "serve"])
def test_campaign_and_serve_end_with_one_line(
    unreachable_lab: Path, tmp_path: Path, monkeypatch, command
):
    monkeypatch.setenv(
        "LAB_SECRET_KEY", secrets.token_urlsafe(32)
    )  # serve refuses to start without one
    args = {
        "campaign": ["campaign", "run", str(unreachable_lab.parent / "campaign.yaml"), "--lab"],
        "serve": ["serve", "--port", "8765", "--lab"],
    }[command]
    store = str(tmp_path / "s.sqlite")
    staff = ["users", "add", "ada", "--role", "staff", "--password-stdin", "--store", store]
    added = CliRunner().invoke(app, staff, input="a long enough passphrase\n")
    assert added.exit_code == 0, added.output  # serve starts only with a staff user
    db = Store(store)  # a user added on the command line is in the audit log too
    entry = db.audit.entries(1)[0]
    db.close()
    assert (entry.action, entry.target, entry.client) == ("user add", "ada", "command line")
    result = _run(*args, str(unreachable_lab), "--store", store)
    assert result.exit_code == 3, result.output
    line = " ".join(result.output.split())
    assert "cannot bring the lab up: arm: cannot open" in line and "check the cable" in line
