"""Shared resources of trials running at once: one holder at a time, nothing kept by a run
that ends while it waits."""

from __future__ import annotations

import asyncio

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
