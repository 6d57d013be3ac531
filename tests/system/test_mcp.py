"""AI agents through MCP, driven by the ``mcp`` SDK's own client: ``lab mcp`` over stdio
and over streamable HTTP in front of a real ``lab serve``; the agent is a lab user of its
own, audited as such, gated by approvals unless staff grant it a campaign, and never
handed the emergency stop."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from lab.store import Store
from simulators.opcua_station import free_port
from tests.conftest import EXAMPLES
from tests.system.lab_process import LabProcess, demo_password, lab_command, start_lab

pytestmark = pytest.mark.system
AGENT = {
    "username": "bot",
    "role": "operator",
    "password": "an agent's long passphrase",
    "agent": True,
}
C = "colour-match"


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LabProcess, dict[str, str], Path]]:
    """A lab server on the example lab (fast clock, Sobol), an agent user and its token;
    and the demo staff's headers."""
    root = tmp_path_factory.mktemp("mcp")
    folder = root / "colour_match"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    config = yaml.safe_load((folder / "lab.yaml").read_text())
    config["simulation"]["clock_speed"] = 1000
    (folder / "lab.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    campaign = yaml.safe_load((folder / "campaign.yaml").read_text())
    campaign.update(trials=2, planner={"name": "sobol", "seed": 2})
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    store = root / "store.sqlite"
    process = start_lab("--demo", "--lab", folder / "lab.yaml", "--store", store, cwd=root)
    try:
        staff = _token(process.url, "demo", demo_password(process))
        added = httpx.post(f"{process.url}/api/users", json=AGENT, headers=staff)
        assert added.status_code == 201, added.text
        yield process, staff, store
    finally:
        assert process.stop() in (0, -15), process.output()


def _token(url: str, user: str, password: str) -> dict[str, str]:
    reply = httpx.post(f"{url}/api/auth/token", json={"username": user, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def _agent_token(url: str) -> str:
    return _token(url, AGENT["username"], AGENT["password"])["Authorization"].split()[1]


def _stdio(url: str, token: str) -> Client:
    env = {"LAB_URL": url, "LAB_TOKEN": token, "PATH": os.environ.get("PATH", "")}
    return Client(
        StdioServerParameters(command=sys.executable, args=["-m", "lab.cli", "mcp"], env=env)
    )


async def _call(client: Client, tool: str, **arguments: Any) -> tuple[bool, Any]:
    """(is it an error, the structured answer or the error's text)."""
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        return True, text
    found = result.structured_content
    return False, found.get("result", found) if isinstance(found, dict) else json.loads(text)


async def test_an_agent_reads_checks_starts_and_offers_within_its_role(lab):
    process, _, store_path = lab
    async with _stdio(process.url, _agent_token(process.url)) as agent:
        tools = {t.name for t in (await agent.list_tools()).tools}
        assert {"lab_state", "check_campaign", "start_campaign", "offer_trial"} <= tools
        assert not any(("stop" in t and "campaign" not in t) or "reset" in t for t in tools), tools

        error, state = await _call(agent, "lab_state")
        assert not error and state["state"] == "idle"
        assert state["devices"]["station"]["readings"]["water level"] == "1000.0 mL"

        # a draft: every problem at once, in words, and nothing saved or moved
        draft = yaml.safe_load(
            (Path(process.log).parent / "colour_match" / "campaign.yaml").read_text()
        )
        draft.update(name="agent-draft", trials=0)
        error, checked = await _call(agent, "check_campaign", campaign_yaml=yaml.safe_dump(draft))
        assert not error and checked["ok"] is False
        assert "the campaign draft" in checked["problems"][0] and "trials" in " ".join(
            checked["problems"]
        ), checked
        draft.update(trials=4)
        draft["parameters"]["temperature"] = {"min": "25 degC", "max": "150 degC"}
        error, checked = await _call(agent, "check_campaign", campaign_yaml=yaml.safe_dump(draft))
        assert not error and checked["ok"] is False
        assert "150 °C" in " ".join(checked["problems"]), checked
        draft["parameters"]["temperature"]["max"] = "70 degC"
        error, checked = await _call(agent, "check_campaign", campaign_yaml=yaml.safe_dump(draft))
        assert not error and checked == {
            "ok": True,
            "name": "agent-draft",
            "trials": 4,
            "planner": "sobol",
            "parameters": ["cyan", "magenta", "temperature", "yellow"],  # as the draft has them
            "protocol": checked["protocol"],
        }

        # started by an agent without a grant: every trial waits for a person
        error, session = await _call(agent, "start_campaign", name=C)
        assert not error and session["approval"] == "required" and session["started_by"] == "bot"
        waiting = await _until(agent, "pending_approvals", lambda p: p)
        assert waiting[0]["campaign"] == C

        # an offer out of bounds is refused naming the parameter; a good one waits too
        error, text = await _call(agent, "offer_trial", campaign=C, parameters={"cyan": "1 mL"})
        assert error and "invalid: parameters.magenta: missing" in text, text
        offer = {"cyan": "9 mL", "magenta": "0.5 mL", "yellow": "0.25 mL", "temperature": "40 degC"}
        error, text = await _call(agent, "offer_trial", campaign=C, parameters=offer)
        assert error and "parameters.cyan" in text and "9 mL" in text, text
        offer["cyan"] = "1 mL"
        error, offered = await _call(agent, "offer_trial", campaign=C, parameters=offer)
        assert not error and offered["waits_for_approval"] is True
        assert offered["parameters"]["cyan"] == "1 mL"

        error, stopped = await _call(agent, "stop_campaign", name=C)
        assert not error and stopped["state"] in ("stopping", "stopped")
        # the offer the stop came before is kept, as a trial that never ran, and why
        ended = await _until(
            agent, "campaign", lambda c: c["session"]["state"] == "stopped", name=C
        )
        [kept] = [t for t in ended["trial_list"] if "offered by bot" in t["planner"]]
        assert kept["status"] == "rejected" and "ended before it ran" in kept["error"], kept

    db = Store(store_path)
    try:
        mine = [(e.action, e.target, e.outcome) for e in db.audit.entries(200, user="bot")]
    finally:
        db.close()
    assert ("campaign start", C, "ok") in mine and ("trial offer", C, "ok") in mine
    assert any(a == "trial offer" and o != "ok" for a, _, o in mine)  # the refusal is kept


async def test_a_granted_agent_runs_unattended_over_http(lab):
    process, staff, _ = lab
    _finished(process.url, staff)
    grant = httpx.put(f"{process.url}/api/users/bot/unattended/{C}", headers=staff)
    assert grant.status_code == 200, grant.text
    port = free_port()
    mcp = subprocess.Popen(
        [sys.executable, "-m", "lab.cli", "mcp", "--transport", "http", "--port", str(port)],
        env={**os.environ, "LAB_URL": process.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        _wait_listening(port)
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401  # no token, no lab
        bearer = {"Authorization": f"Bearer {_agent_token(process.url)}"}
        http = httpx2.AsyncClient(headers=bearer, timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http)) as agent:
            error, session = await _call(agent, "start_campaign", name=C, trials=3)
            assert not error and session["approval"] == "automatic", session
            done = await _until(
                agent, "campaign", lambda c: c["session"]["state"] == "finished", name=C
            )
            assert done["completed"] == 3
            plot = await agent.call_tool("campaign_plot", {"name": C})
            [image] = plot.content
            assert image.mime_type == "image/png"
            assert base64.b64decode(image.data).startswith(b"\x89PNG")
            error, text = await _call(agent, "campaign_plot", name=C, figure="nope")
            assert error and "has no figure 'nope'" in text and "best_so_far" in text
    finally:
        mcp.terminate()
        mcp.wait(10)


async def _until(client: Client, tool: str, good, timeout_s: float = 120, **arguments: Any) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        error, found = await _call(client, tool, **arguments)
        if not error and good(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def _finished(url: str, staff: dict[str, str]) -> None:
    """Wait until no campaign runs (the first test's stop has landed)."""
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/api/lab", headers=staff).json()["control"]["active_campaign"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "lab mcp did not come up"
            time.sleep(0.2)


def test_staff_read_and_refill_the_consumables_from_the_command_line(lab):
    process, staff, _ = lab
    env = {"LAB_URL": process.url, "LAB_TOKEN": staff["Authorization"].split()[1]}
    root = Path(process.log).parent
    listed = lab_command("remote", "consumables", cwd=root, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "water" in listed.stdout and "trials" in listed.stdout, (
        listed.stdout
    )  # how long each lasts
    done = lab_command("remote", "refill", "cyan", "240 mL", cwd=root, env=env)
    assert done.returncode == 0 and "cyan refilled to 240 mL (recorded, by demo)" in done.stdout
    vials = lab_command("remote", "refill", "vials", "48", cwd=root, env=env)
    assert vials.returncode != 0 and "no rack counts its vials" in vials.stdout + vials.stderr
    agent = {**env, "LAB_TOKEN": _agent_token(process.url)}
    refused = lab_command("remote", "refill", "cyan", "1 L", cwd=root, env=agent)
    assert refused.returncode != 0 and "needs role staff" in refused.stdout + refused.stderr
