"""A plate campaign on the dashboard, in a real browser against a real ``lab serve
--demo``: the plate fills live, each well coloured by its outcome, and a click on a
well shows its trial (desktop and phone width)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import EXAMPLES, edit_yaml
from tests.system.lab_process import LabProcess, demo_password, start_lab
from tests.system.test_dashboard_browser import browser, shot  # noqa: F401 (a fixture)

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def plate_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    root = tmp_path_factory.mktemp("plate-dashboard")
    folder = root / "plate_colour"
    shutil.copytree(EXAMPLES.parent / "plate_colour", folder)
    (root / "colour_match").mkdir()
    shutil.copy(EXAMPLES / "target_spectrum.csv", root / "colour_match")
    edit_yaml(folder / "lab.yaml", lambda lab: lab["simulation"].update(clock_speed=1000))
    edit_yaml(
        folder / "campaign.yaml",
        lambda c: c.update(trials=8, batch=4, planner={"name": "sobol", "seed": 2}),
    )
    process = start_lab(
        "--demo",
        "--lab",
        folder / "lab.yaml",
        "--store",
        root / "s.sqlite",
        "--start",
        "plate-colour",
        cwd=root,
    )
    yield process
    assert process.stop() in (0, -15), process.output()


@pytest.mark.parametrize("width", [1400, 390])
def test_the_plate_fills_live_and_a_well_shows_its_trial(
    plate_lab: LabProcess,
    browser: Browser,  # noqa: F811 (the fixture imported above)
    width: int,
):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{plate_lab.url}/login?next=/campaigns/plate-colour")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", demo_password(plate_lab))
    page.click("button[type=submit]")
    expect(page.locator("#plate h2")).to_contain_text("plate · 8 of 96 wells used", timeout=60_000)
    done = page.locator("#plate button.well.completed")
    expect(done).to_have_count(8, timeout=60_000)
    # coloured by outcome: eight mixtures, more than one colour; the rest of the plate empty
    colours = {done.nth(i).evaluate("el => getComputedStyle(el).backgroundColor") for i in range(8)}
    assert len(colours) > 1
    expect(page.locator("#plate .well.empty[title]")).to_have_count(88)
    page.click("#plate button.well[data-well=B1]")
    expect(page.locator("#well-detail")).to_contain_text("plate B1: trial 1")
    expect(page.locator("#well-detail")).to_contain_text("colour_error")
    expect(page.locator("#well-detail a")).to_have_text("its run")
    expect(page.locator('tr[data-trial="1"]')).to_have_class("chosen")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"plate-{width}")
    assert errors == []
