"""A planner in a process of its own: the same proposals as in the lab's process, results
told while a proposal is being made, and its failures in words."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab.campaigns.planning import make_planner
from lab.files.campaign_file import load_campaign
from planners import Objective, Parameter, PlannerError, SearchSpace
from planners.base import Observation, Suggestion
from planners.baselines import SobolPlanner
from planners.process import PlannerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "colour_match" / "campaign.yaml"
SPACE = SearchSpace([Parameter("x", "mL", 0.0, 1.0)])


@dataclass
class GatedSobol(SobolPlanner):
    """Sobol's proposals, held while the file ``gate`` exists; refuses a negative result;
    says which results it holds (what the lab's side cannot see of the child)."""

    gate: str = ""
    name: str = field(init=False, default="gated")

    def _propose(self, n: int) -> list[Suggestion]:
        while Path(self.gate).exists():
            time.sleep(0.01)
        return super()._propose(n)

    def _observe(self, observation: Observation) -> None:
        if observation.outcomes is not None and observation.outcomes["y"] < 0:
            raise PlannerError(f"trial {observation.index}: y below zero")

    def told(self) -> list[int]:
        return sorted(self.history)

    def own_lock(self) -> object:
        return self._lock  # a lock cannot be sent to another process


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[PlannerProcess, Path]]:
    gate = tmp_path / "gate"
    planner = PlannerProcess(GatedSobol, SPACE, [Objective("y")], options={"gate": str(gate)})
    yield planner, gate
    planner.close()


def _steps(planner, rounds: int) -> list[tuple[int, str, dict[str, float]]]:
    made = []
    for _ in range(rounds):
        [s] = planner.ask(1)
        values = {
            k: q.m_as("mL" if k != "temperature" else "degC") for k, q in s.parameters.items()
        }
        made.append((s.index, s.generator, values))
        planner.tell(s.index, {"colour_error": sum(values.values()) / 100})
    return made


def test_the_same_proposals_as_in_the_labs_process_model_ones_included():
    campaign = load_campaign(EXAMPLE)  # 6 space-filling trials, then Ax's model
    here = make_planner(campaign, "ax", 3)
    there = make_planner(campaign, "ax", 3, own_process=True)
    try:
        assert isinstance(there, PlannerProcess) and there.name == "ax"
        made = _steps(there, 8)
        assert made == _steps(here, 8)
        assert [g for _, g, _ in made][-2:] == ["ax:MBM", "ax:MBM"]
        assert there.best_rule == here.best_rule == "model"
        assert [o.index for o in there.best()] == [o.index for o in here.best()]
        # Ax's own analyses, asked of it in its process
        assert list(there.summary()["trial_index"]) == list(range(8))
        # should its process end, what was measured decides the best, and says so
        there._channel.process.kill()
        measured = min(there.history.values(), key=lambda o: o.outcomes["colour_error"])
        assert [o.index for o in there.best()] == [measured.index]
        assert there.best_rule == "observed"
    finally:
        there.close()


def test_a_result_is_told_while_a_proposal_is_being_made(gated):
    planner, gate = gated
    [first] = planner.ask(1)
    gate.touch()  # the next proposal waits for the gate
    asked: list[Suggestion] = []
    asking = threading.Thread(target=lambda: asked.extend(planner.ask(1)))
    asking.start()
    planner.tell(first.index, {"y": 1.0})  # does not wait for the proposal
    assert asking.is_alive() and planner.history[first.index].outcomes == {"y": 1.0}
    gate.unlink()
    asking.join(timeout=30)
    assert [s.index for s in asked] == [first.index + 1]
    assert planner.told() == [first.index]  # reached the planner, after the proposal
    assert planner.pending.keys() == {asked[0].index}


def test_a_result_the_planner_refuses_stops_the_next_proposal_with_why(gated):
    planner, _ = gated
    [s] = planner.ask(1)
    planner.tell(s.index, {"y": -1.0})
    with pytest.raises(
        PlannerError, match=r"gated refused what it was told: trial 0: y below zero"
    ):
        planner.ask(1)


def test_a_planner_process_that_ended_is_named_not_waited_for(gated):
    planner, _ = gated
    planner.ask(1)
    planner._channel.process.kill()
    with pytest.raises(
        PlannerError, match=r"the planner's process ended unexpectedly \(killed by signal 9\)"
    ):
        planner.ask(1)


def test_an_answer_that_cannot_cross_is_refused_in_words_and_the_planner_goes_on(gated):
    planner, _ = gated
    with pytest.raises(PlannerError, match="own_lock: its answer cannot be sent: cannot pickle"):
        planner.own_lock()
    assert planner.ask(1)


def test_ctrl_c_at_the_terminal_is_the_labs_to_answer_not_the_planners(gated):
    planner, _ = gated
    planner.ask(1)  # built and serving
    os.kill(planner._channel.process.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches it
    assert planner.ask(1)


def test_a_planner_that_cannot_be_built_says_why_on_first_use():
    planner = PlannerProcess(GatedSobol, SPACE, [Objective("y")], options={"colour": "red"})
    try:
        with pytest.raises(PlannerError, match=r"the planner could not be built: .*colour"):
            planner.ask(1)
    finally:
        planner.close()


def test_closing_ends_the_process(gated):
    planner, _ = gated
    planner.ask(1)
    planner.close()
    assert not planner._channel.process.is_alive()
    with pytest.raises(PlannerError, match="the planner's process was closed"):
        planner.ask(1)


def test_a_planner_that_models_measurements_is_given_them_from_this_side():
    planner = make_planner(load_campaign(EXAMPLE), "spectral", 0, own_process=True)
    try:
        assert planner.name == "spectral" and planner.wants_measurements
        [s] = planner.ask(1)
        with pytest.raises(PlannerError, match="spectral needs the measurement itself"):
            planner.tell(s.index, {"colour_error": 0.1})  # refused here, at once
    finally:
        planner.close()
