"""Shared resources of trials running at once: one holder at a time, nothing kept by a run
that ends while it waits."""

from __future__ import annotations

import asyncio

import bluesky.plan_stubs as bps
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop

from devices import WallClock
from protocols.resources import Claims, Resources


async def test_a_run_aborted_while_it_waits_keeps_nothing():
    resources = Resources(WallClock())
    first, second = Claims(resources), Claims(resources)
    await first._acquire("arm")
    waiting = asyncio.ensure_future(second._acquire("arm"))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the arm is the first run's
    waiting.cancel()  # the second run is aborted while it waits
    await asyncio.gather(waiting, return_exceptions=True)
    assert second.held == []
    first.give("arm")
    assert resources.held() == []  # free for the next run, not lost to the aborted one
    third = Claims(resources)
    await asyncio.wait_for(third._acquire("arm"), 1)
    assert third.held == ["arm"] and resources.held() == ["arm"]


async def test_giving_everything_back_frees_each_lock_once():
    resources = Resources(WallClock())
    claims = Claims(resources)
    for name in ("spectrometer", "arm"):
        await claims._acquire(name)
    claims.give("arm")
    claims.give("arm")  # given twice: the second is a no-op, not a release of someone else's
    assert resources.held() == ["spectrometer"]
    list(claims.give_all())
    assert resources.held() == [] and claims.held == []


def test_a_cleanup_leaves_alone_what_another_run_holds():
    """A run's cleanup makes safe a heating block its vial visited only if no other run
    holds that place now: another trial's vial may stand in it, at that trial's heat."""
    engine = RunEngine({}, context_managers=[])
    resources = Resources(WallClock())
    other, mine = Claims(resources), Claims(resources)
    stopped: list[str] = []

    def make_safe(place: str):
        stopped.append(place)
        yield from bps.null()

    def cleanup():
        for place in ("block_a", "block_b"):
            yield from mine.if_free(place, make_safe(place))

    call_in_bluesky_event_loop(other._acquire("block_a"))  # another trial's vial is there
    engine(cleanup())
    assert stopped == ["block_b"]
    assert resources.held() == ["block_a"] and other.held == ["block_a"] and mine.held == []
