"""The in-process executor: plans by name on a RunEngine thread, paused only between steps."""

from __future__ import annotations

import random
import time

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest

from lab.runtime.executor import InProcessExecutor, PlanRequest
from lab.runtime.lab import threaded_run_engine


def stepped(devices, steps: int, seconds: float, md=None):
    """A run of ``steps`` steps, each after a checkpoint; ``devices`` logs what ran."""

    @bpp.run_decorator(md=md)
    def body():
        for i in range(steps):
            yield from bps.checkpoint()
            devices.append(("begin", i))
            yield from bps.sleep(seconds)
            devices.append(("end", i))

    return (yield from body())


def broken(devices, md=None):
    yield from bps.open_run(md=md)
    raise ValueError("a step went wrong")


class Log(list):
    """What the test plans get as their devices: a record of what ran (and no stations)."""

    stations = ()


@pytest.fixture
def executor():
    log = Log()
    refusal: list[str] = []
    ex = InProcessExecutor(
        [threaded_run_engine()],
        log,  # type: ignore[arg-type]
        {"stepped": stepped, "broken": broken},
        refusal=lambda: refusal[0] if refusal else None,
    )
    yield ex, log, refusal
    ex.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_pause_lands_between_steps_and_resume_finishes_the_run(executor):
    ex, log, _ = executor
    future = ex.submit(PlanRequest("stepped", {"steps": 3, "seconds": 0.3}))
    wait_for(lambda: ("begin", 0) in log)
    ex.pause()
    assert ex.state == "pausing"  # step 0 is still going
    wait_for(lambda: ex.state == "paused")
    assert log == [("begin", 0), ("end", 0)]  # step 0 finished; step 1 not begun
    time.sleep(0.4)
    assert log == [("begin", 0), ("end", 0)]
    ex.resume()
    outcome = future.result(timeout=10)
    assert outcome.exit_status == "success" and len(outcome.run_uids) == 1
    assert log == [(e, i) for i in range(3) for e in ("begin", "end")]  # nothing repeated


def test_pause_while_idle_holds_the_next_plan(executor):
    ex, log, _ = executor
    ex.pause()
    future = ex.submit(PlanRequest("stepped", {"steps": 1, "seconds": 0.0}))
    time.sleep(0.3)
    assert not future.done() and ex.state == "paused" and log == []
    ex.resume()
    assert future.result(timeout=10).exit_status == "success"


def test_a_pause_asked_as_a_plan_starts_holds_it_before_its_first_step():
    """The lab pauses just as a plan starts: its RunEngine is not running yet, so not asked
    to pause; the plan must still stop before its first step (it once ran to its end)."""
    log = Log()
    started: list[InProcessExecutor] = []

    def pause_now() -> None:  # asked as the worker starts a plan: the moment of the race
        started[0].pause()

    ex = InProcessExecutor(
        [threaded_run_engine()],
        log,  # type: ignore[arg-type]
        {"stepped": stepped},
        refusal=lambda: pause_now(),
    )
    started.append(ex)
    try:
        future = ex.submit(PlanRequest("stepped", {"steps": 2, "seconds": 0.0}))
        wait_for(lambda: ex._workers[0].re.state == "paused")
        time.sleep(0.3)
        assert log == [] and not future.done()
        ex.resume()
        assert future.result(timeout=10).exit_status == "success"
        assert log == [(e, i) for i in range(2) for e in ("begin", "end")]
    finally:
        ex.close()


def test_abort_ends_a_running_or_paused_plan(executor):
    ex, log, _ = executor
    running = ex.submit(PlanRequest("stepped", {"steps": 50, "seconds": 0.1}))
    wait_for(lambda: ("begin", 1) in log)
    ex.abort("operator said so")
    outcome = running.result(timeout=10)
    assert (outcome.exit_status, outcome.reason) == ("abort", "operator said so")
    assert len(log) < 10
    log.clear()
    paused = ex.submit(PlanRequest("stepped", {"steps": 5, "seconds": 0.1}))
    wait_for(lambda: ("begin", 0) in log)
    ex.pause()
    wait_for(lambda: ex.state == "paused")
    ex.abort("changed my mind")
    assert paused.result(timeout=10).exit_status == "abort"
    assert ex.state == "paused"  # still held: nothing new starts until a resume
    ex.resume()
    assert ex.state == "idle"


def test_failures_and_refusals_come_back_as_outcomes(executor):
    ex, log, refusal = executor
    failed = ex.submit(PlanRequest("broken")).result(timeout=10)
    assert failed.exit_status == "fail" and isinstance(failed.error, ValueError)
    assert len(failed.run_uids) == 1
    refusal.append("emergency stop latched")
    refused = ex.submit(PlanRequest("stepped", {"steps": 1, "seconds": 0})).result(timeout=10)
    assert (refused.exit_status, refused.reason, refused.run_uids) == (
        "abort",
        "emergency stop latched",
        (),
    )
    assert log == []
    with pytest.raises(ValueError, match="unknown plan 'nope'"):
        ex.submit(PlanRequest("nope"))


def test_a_resume_before_a_pause_has_landed_is_kept(executor):
    """Pause and resume 100 times at random moments (many resumes come before their pause
    has reached a checkpoint): the run never stays paused, and every step runs once."""
    ex, log, _ = executor
    rng = random.Random(7)
    future = ex.submit(PlanRequest("stepped", {"steps": 30, "seconds": 0.1}))
    wait_for(lambda: ("begin", 0) in log)
    for _ in range(100):
        ex.pause()
        time.sleep(rng.uniform(0, 0.01))
        ex.resume()
        time.sleep(rng.uniform(0, 0.01))
    outcome = future.result(timeout=60)
    assert outcome.exit_status == "success"
    assert log == [(e, i) for i in range(30) for e in ("begin", "end")]
    assert ex.state == "idle"
