"""``lab serve`` as facility staff run it on real hardware: the test plays the instruments
(their firmware on real ptys, in a thread of its own) and the lab file points at the ports,
as it would at USB serial adapters."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from simulators import (
    ArmFirmware,
    DyeChemistry,
    Location,
    PtyServer,
    Reservoir,
    SimClock,
    SpectrometerFirmware,
    StationFirmware,
    Workcell,
)
from simulators.opcua_station import free_port
from tests.conftest import EXAMPLES, edit_yaml
from tests.system.lab_process import lab_command, start_lab

pytestmark = pytest.mark.system
SECRET = "K4v9-a-long-random-secret-for-this-test-only-Zq"


class Instruments:
    """The three instruments' firmware on ptys, served from a thread's event loop."""

    def __init__(self, folder: Path) -> None:
        clock = SimClock(1000.0)
        cell = Workcell(
            [
                Location("rack", (0, 0, 0), source=True),
                Location("synthesis_station", (450, 0, 60)),
                Location("spectrometer", (450, 380, 60)),
                Location("waste", (0, 380, 0), sink=True),
            ]
        )
        reservoirs = {
            i: Reservoir(r, 250.0) for i, r in enumerate(("cyan", "magenta", "yellow", "water"), 1)
        }
        self.station = StationFirmware(clock, cell, "synthesis_station", reservoirs)
        self.firmware = {
            "arm": ArmFirmware(clock, cell, "rack"),
            "station": self.station,
            "spectrometer": SpectrometerFirmware(clock, cell, "spectrometer", DyeChemistry()),
        }
        self.servers = {n: PtyServer(f, folder / n) for n, f in self.firmware.items()}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Instruments:
        self.thread.start()
        for server in self.servers.values():
            asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            asyncio.run_coroutine_threadsafe(server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def hardware(tmp_path: Path) -> Iterator[tuple[Instruments, Path]]:
    """A real-hardware lab file (simulated: false) whose serial ports are the test's ptys."""
    folder = tmp_path / "lab"
    folder.mkdir()
    lab = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    lab["simulated"] = False
    del lab["simulation"]  # a real lab has no ground truth to run
    for name in ("arm", "station", "spectrometer"):
        lab["devices"][name]["transport"] = {"type": "serial", "port": str(tmp_path / "dev" / name)}
    (folder / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    for name in ("campaign.yaml", "colour_mix.yaml", "target_spectrum.csv"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    campaign = yaml.safe_load((folder / "campaign.yaml").read_text())
    campaign.update(trials=20, planner={"name": "random", "seed": 2})
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    with Instruments(tmp_path / "dev") as instruments:
        yield instruments, folder / "lab.yaml"


def add_staff(lab: Path, cwd: Path, *store: str | Path) -> None:
    added = lab_command(
        "users",
        "add",
        "sam",
        "--role",
        "staff",
        "--password-stdin",
        "--lab",
        lab,
        *store,
        cwd=cwd,
        input="staff password\n",
    )
    assert added.returncode == 0, added.stderr


def test_the_server_owns_the_ports_and_leaves_the_station_safe_on_sigterm(hardware, tmp_path):
    instruments, lab = hardware
    env = {"LAB_SECRET_KEY": SECRET}
    add_staff(lab, tmp_path)
    first = start_lab("--lab", lab, cwd=tmp_path, env=env)
    try:
        busy = lab_command("devices", "--lab", lab, cwd=tmp_path)
        assert busy.returncode == 3  # unreachable: every device named, with what to do
        said = " ".join(busy.stderr.split())
        assert f"is in use by process {first.process.pid}" in said
        assert "work through the lab server" in said
        same_store = lab_command(
            "serve", "--lab", lab, "--port", str(free_port()), cwd=tmp_path, env=env
        )
        assert same_store.returncode == 2
        assert "one process runs campaigns on a store" in " ".join(same_store.stderr.split())
        add_staff(lab, tmp_path, "--store", tmp_path / "other.sqlite")
        other_store = lab_command(
            "serve",
            "--lab",
            lab,
            "--store",
            tmp_path / "other.sqlite",
            "--port",
            str(free_port()),
            cwd=tmp_path,
            env=env,
        )  # a store of its own, but the same instruments
        assert other_store.returncode == 3
        refused = " ".join(other_store.stderr.split())
        assert f"in use by process {first.process.pid}" in refused and "instrument" in refused
        token = httpx.post(
            f"{first.url}/api/auth/token", json={"username": "sam", "password": "staff password"}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = httpx.post(
            f"{first.url}/api/campaigns/colour-match/start", json={}, headers=headers
        )
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + 60
        while instruments.station.rpm == 0:  # stop it while the station stirs
            assert time.monotonic() < deadline, first.output()
            time.sleep(0.02)
    finally:
        code = first.stop()
    assert code in (0, -15), first.output()
    assert "lab stopped: station safe" in first.output()
    station = instruments.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c
    free = lab_command("devices", "--lab", lab, cwd=tmp_path)  # the ports are free again
    assert free.returncode == 0, free.stderr
    assert "SDL-Sim RoboArm" in free.stdout


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (None, "no secret: set LAB_SECRET_KEY"),
        ("changeme", "shorter than 32 characters"),
        ("abcdefgh" * 4, "easy to guess"),
        ("Short-but-not-default-1", "shorter than 32 characters"),
    ],
)
def test_no_server_without_a_real_secret(hardware, tmp_path, secret, words):
    _, lab = hardware
    env = {} if secret is None else {"LAB_SECRET_KEY": secret}
    refused = lab_command("serve", "--lab", lab, cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert words in " ".join(refused.stderr.split())


def test_no_demo_on_real_hardware_and_no_server_without_staff(hardware, tmp_path):
    _, lab = hardware
    unlisted = lab_command("users", "list", "--lab", lab, cwd=tmp_path)  # no store yet
    assert unlisted.returncode == 2 and "no such store file" in unlisted.stderr
    assert not list(tmp_path.glob("runs/*/store.sqlite"))  # and listing made none
    demo = lab_command("serve", "--demo", "--lab", lab, cwd=tmp_path)
    assert demo.returncode == 2 and "--demo runs only a simulated lab" in demo.stderr
    nobody = lab_command("serve", "--lab", lab, cwd=tmp_path, env={"LAB_SECRET_KEY": SECRET})
    assert nobody.returncode == 2
    assert "no staff user yet" in " ".join(nobody.stderr.split())
    listed = lab_command("users", "list", "--lab", lab, cwd=tmp_path)
    assert listed.returncode == 0 and "sam" not in listed.stdout


def test_sigterm_stops_a_campaign_as_ctrl_c_does(hardware, tmp_path):
    """Once SIGTERM ended the process at once, the stirrer at 600 rpm and the heater on."""
    instruments, lab = hardware
    running = subprocess.Popen(
        [sys.executable, "-m", "lab.cli", "campaign", "run", str(lab.parent / "campaign.yaml")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 120
        while instruments.station.rpm == 0:  # stop it while the station stirs
            assert running.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        running.send_signal(signal.SIGTERM)
        out, _ = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 3, out
    assert "interrupted by the operator" in " ".join(out.split())
    assert "Traceback" not in out
    station = instruments.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c


def test_a_latched_emergency_stop_is_named_and_cleared_by_lab_reset(hardware, tmp_path):
    """Once a campaign after an interlock stop failed with "RESET required" and nothing
    said how to clear it."""
    instruments, lab = hardware
    station = instruments.station
    station.estopped = True  # as an earlier stop left it
    station.leak = True  # and what tripped it is still on
    refused = lab_command("campaign", "run", lab.parent / "campaign.yaml", cwd=tmp_path)
    said = " ".join(refused.stdout.split() + refused.stderr.split())
    assert refused.returncode == 3, said
    assert "station: emergency stop latched at the instrument" in said
    assert "clear it with `lab reset` (staff)" in said
    still_on = lab_command("reset", "--lab", lab, cwd=tmp_path)
    assert still_on.returncode == 3
    assert "station.leak: still on: make the lab safe" in " ".join(still_on.stderr.split())
    assert station.estopped
    station.leak = False
    cleared = lab_command("reset", "--lab", lab, cwd=tmp_path)
    assert cleared.returncode == 0, cleared.stderr
    assert "station: reset" in cleared.stdout and not station.estopped
    again = lab_command("reset", "--lab", lab, cwd=tmp_path)
    assert again.returncode == 0 and "no emergency stop is latched" in again.stdout


def test_a_station_whose_lab_was_killed_stops_itself(hardware, tmp_path):
    """Once, after kill -9 the station stayed hot and stirring until the next start; now
    the lab's heartbeat stops, and the station stops itself and latches."""
    instruments, lab = hardware
    station = instruments.station
    station.heartbeat_s = 1.0  # the controller's watchdog, set as the lab file says
    edit_yaml(lab, lambda d: d["devices"]["station"].update(heartbeat="1 s"))
    running = subprocess.Popen(
        [sys.executable, "-m", "lab.cli", "campaign", "run", str(lab.parent / "campaign.yaml")],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while station.rpm == 0:  # kill it while the station stirs
            assert running.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        assert station.controller_lost_at is None  # heartbeats kept it going till now
    finally:
        running.kill()
        running.wait(30)
    killed = time.monotonic()
    # (the stir's own timer may stop the stirrer first; the watchdog is what cools the block)
    while not station.estopped:
        assert time.monotonic() - killed < 10, "the station went on without its controller"
        time.sleep(0.05)
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c
    assert station.controller_lost_at is not None
