"""Stations handed over: a running trial whose vial has left its station, so that the
station may take its next trial while that vial is measured elsewhere.

A trial's plan holds its station's slot from the moment it prepares it for the vial until
the vial leaves, and the executor tells whose vial has left which place
(:meth:`~lab.runtime.executor.Executor.on_vacated`); a run that fails with its vial still
in the station never hands it over. Only protocols that never bring the
vial back run this way (:meth:`protocols.Protocol.frees_its_station`): the next trial's
plan then waits for nothing but the slot, and the last one never waits for it again.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Hashable
from concurrent.futures import Future

from lab.runtime.executor import Executor


class Handovers:
    """Which of a campaign's running trials have carried their vial out of their station.

    Args:
        executor: where the trials run; it tells each place given back.
        campaign: the campaign's name, as its runs' metadata give it.
        slots: the stations' slots.
    """

    def __init__(self, executor: Executor, campaign: str, slots: Collection[str]) -> None:
        self._campaign = campaign
        self._slots = frozenset(slots)
        self._left: set[int] = set()
        self._lock = threading.Lock()
        self._news: Future[None] = Future()
        self.close = executor.on_vacated(self._given)

    def _given(self, place: str, owner: Hashable) -> None:
        """``owner``'s vial left ``place`` (called in the devices' event loop)."""
        if place not in self._slots or not isinstance(owner, tuple) or len(owner) != 2:
            return
        campaign, trial = owner
        if campaign != self._campaign or not isinstance(trial, int):
            return
        with self._lock:
            self._left.add(trial)
            if not self._news.done():
                self._news.set_result(None)

    def left(self, trial: int) -> bool:
        """Trial ``trial``'s vial has left its station."""
        with self._lock:
            return trial in self._left

    def next_one(self) -> Future[None]:
        """A future done at the next handover from now: the runner takes it before it
        looks for a free station, and waits on it with the trials' runs."""
        with self._lock:
            if self._news.done():
                self._news = Future()
            return self._news
