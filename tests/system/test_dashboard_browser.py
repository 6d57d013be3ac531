"""The operator's dashboard in a real browser (Debian's chromium, headless, driven by
playwright) against a real ``lab serve --demo`` process on a simulated lab.

Screenshots of each page go to ``build/screenshots/`` (or ``$SDL_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import EXAMPLES
from tests.system.lab_process import LabProcess, demo_password, start_lab
from tests.webhooks import Receiver, webhook_receiver

pytestmark = pytest.mark.system
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("SDL_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("SDL_SKIP_BROWSER") == "1":
            pytest.skip("SDL_SKIP_BROWSER=1 and no /usr/bin/chromium")
        pytest.fail("no /usr/bin/chromium: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[LabProcess]:
    root = tmp_path_factory.mktemp("dashboard")
    folder = root / "lab"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab_file = yaml.safe_load((folder / "lab.yaml").read_text())
    lab_file["simulation"]["clock_speed"] = 1000
    lab_file["notifications"] = {"channels": {"ops": {"kind": "webhook", "url": hooks.url}}}
    lab_file["locations"]["rack"]["vials"] = 40
    lab_file["reagents"]["cyan"]["low"] = "300 mL"
    (folder / "lab.yaml").write_text(yaml.safe_dump(lab_file, sort_keys=False))
    campaign = yaml.safe_load((folder / "campaign.yaml").read_text())
    campaign.update(
        name="approved-match",
        trials=3,
        approval="required",
        planner={"name": "sobol", "seed": 3},
    )
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    scratch = root / "tmp"
    scratch.mkdir()
    process = start_lab(
        "--demo",
        "--lab",
        folder / "lab.yaml",
        "--store",
        root / "store.sqlite",
        cwd=root,
        env={"TMPDIR": str(scratch)},
    )
    yield process
    assert process.stop() in (0, -15), process.output()
    assert list(scratch.glob("sdl-sim-*")) == []  # simulator ptys and keys removed


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


#: WCAG's contrast ratio of an element's text against its background, computed in the page
CONTRAST = """el => {
  const style = getComputedStyle(el);
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => {
    const [r, g, b] = rgb(c).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def contrast(page: Page, selector: str) -> float:
    """The contrast of the text of ``selector`` with its own background."""
    return float(page.locator(selector).evaluate(CONTRAST))


def test_an_operator_runs_a_campaign_from_the_dashboard(lab: LabProcess, browser: Browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    # log in
    page.goto(f"{lab.url}/")
    expect(page).to_have_url(f"{lab.url}/login?next=/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator("#error")).to_contain_text("wrong user name or password")
    page.fill("input[name=password]", demo_password(lab))
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{lab.url}/")
    expect(page.locator("#link")).to_have_text("live")

    # the lab: every device, live
    for device in ("arm", "station", "spectrometer"):
        expect(page.locator(f"[data-device={device}] .badge")).to_have_text("idle")
    expect(page.locator("[data-device=station]")).to_contain_text("heater temperature")
    # a pump's level goes by its reagent; a round number keeps its zeros (1000 mL, not 1)
    water = page.locator("[data-device=station] tr", has_text="water level")
    expect(water.locator("td").nth(1)).to_have_text("1000")
    # the consumables: cyan below its warn level, the rack counted; staff record a refill
    cyan = page.locator("#consumables tr[data-consumable=cyan]")
    expect(cyan.locator("td").nth(1)).to_have_text("250 mL")
    expect(cyan).to_have_class("low")
    vials = page.locator("#consumables tr[data-consumable=vials]")
    expect(vials.locator("td").nth(1)).to_have_text("40 vials")
    shot(page, "1-lab")
    vials.locator("input[name=level]").fill("forty")
    vials.locator("button").click()
    expect(page.locator("#toast")).to_contain_text("'forty' is not a number of vials")
    vials.locator("input[name=level]").fill("48")
    vials.locator("button").click()
    expect(page.locator("#toast")).to_contain_text("vials refilled")
    expect(vials.locator("td").nth(1)).to_have_text("48 vials")

    # start the campaign
    page.click("nav >> text=Campaigns")
    card = page.locator("[data-campaign=approved-match]")
    card.locator("select[name=planner]").select_option("sobol")
    card.locator("input[name=trials]").fill("3")
    shot(page, "2-campaigns")
    card.locator("button:has-text('Start')").click()
    expect(page).to_have_url(f"{lab.url}/campaigns/approved-match")

    # approve the first proposal with an edit; the tab counts what waits, on every page
    expect(page.locator('nav a[href="/approvals"]')).to_have_text("Approvals (1)", timeout=30_000)
    page.click("nav >> text=Approvals")
    proposal = page.locator(".proposal[data-trial='0']")
    expect(proposal).to_be_visible(timeout=30_000)
    proposal.locator("input[name=cyan]").fill("9 mL")  # out of bounds: refused, named
    proposal.locator("button.approve").click()
    expect(page.locator("#toast")).to_contain_text("parameters.cyan")
    assert contrast(page, "#toast") >= 4.5  # WCAG AA: an error a person can read
    expect(proposal.locator("input[name=cyan]")).to_have_class("bad")
    proposal.locator("input[name=cyan]").fill("0.5 mL")
    proposal.locator("input[name=temperature]").fill("320 K")  # another unit: stored in degC
    shot(page, "3-approvals")
    proposal.locator("button.approve").click()
    expect(page.locator("#toast")).to_contain_text("approved with your edits")

    # progress updates live on the campaign page; pause holds the next trial
    page.goto(f"{lab.url}/campaigns/approved-match")
    expect(page.locator("#trials tr[data-trial='1'] .badge")).to_have_text(
        "completed", timeout=30_000
    )
    expect(page.locator("#progress-count")).to_have_text("1 / 3")
    # the proposal approved with edits lives on as trial 1: not shown as turned down
    expect(page.locator("#trials tr[data-trial='0'] .badge")).to_have_text("edited")
    expect(page.locator("#trials tr[data-trial='1']")).to_contain_text("46.85 °C")
    page.click("button#pause")
    expect(page.locator("#control")).to_have_attribute("data-state", "paused")
    # one state in every place: the header, the campaign's badge, the controls offered
    expect(page.locator("#summary .badge").first).to_have_text("paused")
    expect(page.locator("button#pause")).to_be_disabled()
    expect(page.locator("button#resume")).to_be_enabled()
    next_one = page.locator("#trials tr[data-trial='2'] .badge")
    expect(next_one).to_have_text("awaiting approval", timeout=30_000)
    approval = page.request.post(
        f"{lab.url}/api/campaigns/approved-match/proposals/2/approve",
        headers={"X-CSRF-Token": page.locator("body").get_attribute("data-csrf") or ""},
        data={},
    )
    assert approval.ok, approval.text()
    expect(next_one).to_have_text("running")
    page.wait_for_timeout(1500)  # 1500 s of lab time: held, it does not move
    expect(next_one).to_have_text("running")
    # the Lab page shows each station's trial, and the trial held by the pause
    page.click("nav >> text=Lab")
    # diagnostics and a plan by hand need the devices to themselves: not while paused
    expect(page.locator("button#diagnose")).to_be_disabled()
    expect(page.locator("button#run-plan")).to_be_disabled()
    expect(page.locator("#stations tr[data-station=station]")).to_contain_text("idle")
    expect(page.locator("#station-queue")).to_have_text(
        "waiting for a station: approved-match #2 (waiting to start)"
    )
    shot(page, "3b-stations")
    page.goto(f"{lab.url}/campaigns/approved-match")
    page.click("button#resume")
    expect(next_one).to_have_text("completed", timeout=30_000)
    expect(page.locator("#progress-count")).to_have_text("2 / 3")
    expect(page.locator("#objective-plot .main-svg").first).to_be_visible()
    expect(page.locator("#spectrum-plot")).to_contain_text("target")
    timeline = page.locator("#timeline-plot")
    for device in ("arm", "station", "spectrometer"):  # the Gantt chart's rows
        expect(timeline).to_contain_text(device)
    label = timeline.locator(".ytick text", has_text="spectrometer").bounding_box()
    plot = timeline.bounding_box()
    assert label and plot and label["x"] >= plot["x"], (label, plot)  # the label is whole
    # where the lab time went: a bar per device, the bottleneck named in words
    expect(page.locator("#time-use-summary")).to_contain_text("Bottleneck: ")
    time_use = page.locator("#time-use-plot")
    for words in ("busy", "waiting for its next trial", "share of the lab time (%)", "station"):
        expect(time_use).to_contain_text(words)
    parameters = page.locator("#parameter-plot")
    for axis in ("cyan (mL)", "temperature (°C)"):  # every axis with its unit
        expect(parameters).to_contain_text(axis)
    shot(page, "4-campaign")
    page.locator("#trials tr[data-trial='1'] a").click()  # the run, one click away
    summary = page.locator("#run-summary")
    expect(summary.locator(".badge")).to_have_text("success")
    expect(page.locator("#run-protocol")).to_contain_text("dispense reagent cyan, volume 0.5 mL")
    expect(page.locator("#run-protocol")).to_contain_text("heat temperature 46.85 °C")
    expect(page.locator("#run-spectrum .main-svg").first).to_be_visible()  # the spectrum drawn
    conditions = page.locator("[data-stream=conditions]")
    expect(conditions.locator("th", has_text="vial volume (mL)")).to_be_visible()
    # no float noise anywhere: a person reads at most six significant digits
    assert not re.search(r"\d\.\d{7,}", page.locator("main").inner_text())
    shot(page, "4b-run")
    summary.locator("a", has_text="trial 1").click()  # back to the trial, its row marked
    expect(page).to_have_url(f"{lab.url}/campaigns/approved-match#trial-1")
    expect(page.locator("#trials tr#trial-1")).to_have_class(re.compile("chosen"))

    # the emergency stop, from any page: every device safe, latched until reset
    page.click("nav >> text=Lab")
    page.click("button#estop")
    expect(page.locator("#estop-banner")).to_be_visible()
    expect(page.locator("#control")).to_have_attribute("data-state", "emergency stop")
    expect(page.locator("#estop-text")).to_contain_text(
        "arm: safe, station: safe, spectrometer: safe"
    )
    for device in ("arm", "station", "spectrometer"):
        expect(page.locator(f"[data-device={device}] .badge")).to_have_text("estopped")
    station = page.locator("[data-device=station]")
    expect(station.locator("tr", has_text="stirrer speed")).to_contain_text("0")
    expect(station.locator("tr", has_text="heater setpoint")).to_contain_text("25")
    shot(page, "5-emergency-stop")
    page.goto(f"{lab.url}/campaigns/approved-match")
    expect(page.locator("#summary .badge").first).to_have_text("stopped", timeout=30_000)
    expect(page.locator("#summary")).to_contain_text("emergency stop by demo")
    page.click("#estop-banner button#reset")
    expect(page.locator("#estop-banner")).to_be_hidden()
    expect(page.locator("#control")).to_have_attribute("data-state", "idle")
    expect(page.locator("button#stop")).to_be_disabled()  # nothing runs to stop
    page.click("nav >> text=Campaigns")  # a campaign stopped short is offered to continue
    card = page.locator("[data-campaign=approved-match]")
    expect(card.locator("button.primary")).to_have_text("Continue")
    expect(card.locator("select[name=planner]")).to_have_value("sobol")  # as it ran
    page.click("nav >> text=Lab")
    for device in ("arm", "station", "spectrometer"):
        expect(page.locator(f"[data-device={device}] .badge")).not_to_have_text("estopped")

    # staff run the diagnostics from the dashboard; every device's latest result shows
    page.click("button#diagnose")
    expect(page.locator("#diagnosis-status")).to_contain_text("running")
    for device in ("arm", "station", "spectrometer"):
        card = page.locator(f"[data-diagnosis={device}]")
        expect(card.locator("tr[data-check=identity] .badge")).to_have_text("pass", timeout=60_000)
    expect(page.locator("#diagnosis-status")).to_have_text("", timeout=60_000)
    expect(page.locator("[data-diagnosis=arm] tr[data-check=repeatability]")).to_contain_text("mm")
    shot(page, "5b-diagnostics")

    # the audit log tells who did what, refusals included
    page.click("nav >> text=Audit log")
    audit = page.locator("#audit")
    for action in (
        "diagnose",
        "reset",
        "emergency stop",
        "pause",
        "resume",
        "approve",
        "campaign start",
        "refill",
    ):
        expect(audit).to_contain_text(action)
    expect(audit).to_contain_text("refused (422)")
    told = page.locator("#notifications")  # and what the lab told people, and how it went
    expect(told.locator("tr[data-event=emergency_stop]")).to_contain_text("sent")
    expect(told.locator("tr[data-event=consumable_low]").first).to_contain_text("cyan is low")
    expect(told.locator("tr[data-event=approval_waiting]").first).to_contain_text(
        "waits for approval"
    )
    shot(page, "6-audit")
    page.fill("#audit-filter input[name=action]", "pause")  # one action, say
    page.click("#audit-filter button.primary")
    expect(audit.locator("tbody tr")).to_have_count(1)
    expect(audit.locator("tbody tr")).to_contain_text("demo")
    page.click("nav >> text=Users")
    expect(page.locator("#users")).to_contain_text("demo")
    # an AI agent's user, granted one campaign to run unattended
    page.fill("input[name=username]", "bot")
    page.fill("input[name=password]", "an agent's passphrase")
    page.check("input[name=agent]")
    page.click("form >> button.primary")
    bot = page.locator("#users tr[data-user=bot]")
    expect(bot).to_contain_text("AI agent")
    bot.locator("select[name=campaign]").select_option("approved-match")
    bot.locator("button", has_text="Grant").click()
    expect(bot.locator("[data-grant=approved-match]")).to_be_visible()
    channel = page.locator("#channels tr[data-channel=ops]")
    expect(channel).to_contain_text("webhook")
    expect(channel).to_contain_text("127.0.0.1")
    expect(channel).to_contain_text("consumable_low")
    shot(page, "7-users")
    assert errors == []


def test_the_api_docs_try_a_change_as_the_logged_in_user(lab: LabProcess, browser: Browser):
    """Swagger UI at /docs offers Authorize (a script's bearer token), and its "Try it
    out" on a POST passes the CSRF check as the logged-in browser: the lab answers the
    request itself (409, nothing paused), not 403."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{lab.url}/login?next=/docs")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", demo_password(lab))
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{lab.url}/docs")
    expect(page.locator("button.authorize")).to_be_visible(timeout=30_000)
    operation = page.locator("[id^='operations-run_control-resume']")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_contain_text("409", timeout=30_000)
    expect(status).not_to_contain_text("Undocumented")  # every refusal is documented
    expect(operation.locator(".live-responses-table")).to_contain_text("not paused")
    page.close()


def test_a_long_idle_stretch_is_cut_from_the_timeline(lab: LabProcess, browser: Browser):
    """A campaign continued the next day: its timeline cuts the night to a short stretch
    marked with how long it was, instead of squeezing the work into the plot's edges."""
    spans = [
        {
            "trial": t,
            "device": d,
            "station": "station",
            "reached": start,
            "began": start,
            "ended": start + 120.0,
        }
        for t in range(4)
        for d, start in (("arm", t * 600.0 + (72000 if t >= 2 else 0)),)
    ]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.route(f"{lab.url}/api/campaigns/approved-match/timeline", lambda r: r.fulfill(json=spans))
    page.goto(f"{lab.url}/login?next=/campaigns/approved-match")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", demo_password(lab))
    page.click("button[type=submit]")
    timeline = page.locator("#timeline-plot")
    expect(timeline).to_contain_text("20 h idle")
    expect(timeline).to_contain_text("long idle stretches cut")
    ticks = [float(t) for t in timeline.locator(".xtick text").all_text_contents() if t]
    assert max(ticks) < 60, ticks  # 4 trials' work in minutes, not 20 hours of night
    page.close()


PAGES = ("/", "/campaigns", "/campaigns/approved-match", "/approvals", "/audit", "/users")


@pytest.mark.parametrize("width", [1440, 390])
def test_no_page_scrolls_sideways(lab: LabProcess, browser: Browser, width: int):
    """On a desktop and on a phone, every page fits its width: a wide table scrolls inside
    its panel, never the page."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{lab.url}/login")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", demo_password(lab))
    page.click("button[type=submit]")
    expect(page.locator("#link")).to_have_text("live")
    wide = {}
    runs = page.request.get(f"{lab.url}/api/runs?limit=1").json()
    for path in (*PAGES, *(f"/runs/{r['uid']}" for r in runs)):
        page.goto(f"{lab.url}{path}")
        expect(page.locator("#link")).to_have_text("live")
        page.wait_for_timeout(300)  # the page has drawn what the server sent
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide[path] = scroll
        parts = path.strip("/").split("/")  # a campaign's page, a run's page: by kind
        name = parts[0].rstrip("s") if len(parts) > 1 else parts[0] or "lab"
        shot(page, f"{width}-{name}")
    assert wide == {}, f"pages wider than {width} px: {wide}"
    page.close()


def test_a_script_drives_the_same_lab_with_the_client(lab: LabProcess, tmp_path: Path):
    """What a scientist's script does: log in with a token, start, approve, watch, stop."""
    from lab.client import LabClient, RemoteError
    from tests.system.lab_process import lab_command

    with pytest.raises(RemoteError, match="401: wrong user name or password"):
        LabClient.login(lab.url, "demo", "not the password")
    with LabClient.login(lab.url, "demo", demo_password(lab)) as client:
        assert client.me().role == "staff"
        assert {d["name"] for d in client.state().snapshot["devices"]} == {
            "arm",
            "station",
            "spectrometer",
        }
        done = next(c for c in client.campaigns() if c.name == "approved-match").trials
        client.start("approved-match", trials=done + 2)
        with pytest.raises(RemoteError, match="409: campaign 'approved-match' is"):
            client.start("approved-match", trials=done + 3)
        seen = []
        for topic, data in client.events():  # pushed, not polled
            seen.append(topic)
            if topic == "proposals" and data:
                break
        proposal = client.proposals()[0]
        with pytest.raises(RemoteError, match=r"422: parameters\.temperature"):
            client.approve("approved-match", proposal.trial, {"temperature": "200 degC"})
        client.approve("approved-match", proposal.trial, {"temperature": "30 degC"})
        client.stop("approved-match")
        session = client.wait("approved-match", timeout_s=120)
        assert session is not None and session.state == "stopped"
        assert session.stopped is not None and "stopped by demo" in session.stopped
        trials = client.campaign("approved-match").trial_list
        edited = trials[-1]
        assert edited.parameters["temperature"] == "30.0 degree_Celsius"
        assert edited.status in ("completed", "failed") and edited.run_uid
        assert client.documents(edited.run_uid)[0][0] == "start"
        # the command line on the same client
        env = {"LAB_URL": lab.url, "LAB_TOKEN": client.token, "HOME": str(tmp_path)}
        status = lab_command("remote", "status", "--json", cwd=tmp_path, env=env)
        assert status.returncode == 0, status.stderr
        assert '"executor": "idle"' in status.stdout
        listed = lab_command("remote", "campaigns", cwd=tmp_path, env=env)
        assert "approved-match" in listed.stdout and "stopped" in listed.stdout
        refused = lab_command(
            "remote", "reject", "approved-match", "99", "--reason", "x", cwd=tmp_path, env=env
        )
        assert refused.returncode == 2 and "no proposal for trial 99" in refused.stderr
        home = {"HOME": str(tmp_path / "home")}  # a script logs in with the password piped in
        logged_in = lab_command(
            "remote", "login", lab.url, "--user", "demo", "--password-stdin",
            cwd=tmp_path, env=home, input=demo_password(lab) + "\n",
        )  # fmt: skip
        assert logged_in.returncode == 0, logged_in.stderr
        again = lab_command("remote", "status", cwd=tmp_path, env=home)  # with the saved token
        assert again.returncode == 0 and "sim-colour-lab" in again.stdout, again.stderr
