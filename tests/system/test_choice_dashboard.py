"""A campaign with choices on the dashboard, in a real browser against a real ``lab serve
--demo``: an operator picks another amine from a dropdown at approval, the trial runs
with it, and the campaign page shows the choice by name on a categorical axis."""

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
def amine_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    root = tmp_path_factory.mktemp("choice-dashboard")
    folder = root / "amine_choice"
    shutil.copytree(EXAMPLES.parent / "amine_choice", folder)
    edit_yaml(folder / "lab.yaml", lambda lab: lab["simulation"].update(clock_speed=4000))
    edit_yaml(
        folder / "campaign.yaml",
        lambda c: c.update(trials=3, approval="required", planner={"name": "sobol", "seed": 1}),
    )
    process = start_lab(
        "--demo",
        "--lab",
        folder / "lab.yaml",
        "--store",
        root / "s.sqlite",
        "--start",
        "amine-choice",
        cwd=root,
    )
    yield process
    assert process.stop() in (0, -15), process.output()


def test_an_operator_picks_another_choice_from_the_list_and_it_runs(
    amine_lab: LabProcess,
    browser: Browser,  # noqa: F811 (the fixture imported above)
):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{amine_lab.url}/login?next=/approvals")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", demo_password(amine_lab))
    page.click("button[type=submit]")
    card = page.locator(".proposal[data-trial='0']")
    amine = card.locator("select[name=amine]")
    expect(amine).to_be_visible(timeout=60_000)
    options = amine.locator("option").all_inner_texts()
    assert options == ["pyrrolidine", "piperidine", "morpholine"]
    assert card.locator("select[name=amine_volume] option").all_inner_texts() == [
        "1 mL",
        "2 mL",
        "3 mL",
    ]
    other = next(o for o in options if o != amine.input_value())
    amine.select_option(other)
    card.locator("select[name=amine_volume]").select_option("3 mL")
    shot(page, "choice-approval")
    card.locator("button.approve").click()
    expect(page.locator("#toast")).to_contain_text("approved with your edits")
    # the edit runs as the next trial, with the amine picked
    for _ in range(2):
        nxt = page.locator(".proposal button.approve").first
        expect(nxt).to_be_visible(timeout=60_000)
        nxt.click()
    page.goto(f"{amine_lab.url}/campaigns/amine-choice")
    edited = page.locator('#trials tr[data-trial="1"]')
    expect(edited).to_contain_text("completed", timeout=60_000)
    expect(edited).to_contain_text(other)
    expect(edited).to_contain_text("3 mL")
    # the parameter plot has a categorical axis: the amines by name
    expect(page.locator("#parameter-plot .ytick").filter(has_text=other).first).to_be_visible()
    shot(page, "choice-campaign")
    assert errors == []
