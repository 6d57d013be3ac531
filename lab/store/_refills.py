"""The refill log: each time a person refilled a consumable, its new level, and how many
samples (vials taken from the racks) the store held then."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select

from lab.store._schema import refills, samples


@dataclass(frozen=True)
class Refill:
    """One refill: what, to which level, by whom, when."""

    id: int
    time: float
    consumable: str
    level: str
    samples: int
    user: str


class RefillLog:
    """Appends refills and reads the latest of each consumable."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, consumable: str, level: str, user: str) -> Refill:
        """Record that ``user`` refilled ``consumable`` to ``level`` (a quantity's text)."""
        with self._engine.begin() as c:
            taken = int(c.execute(select(func.count()).select_from(samples)).scalar_one())
            now = time.time()
            values = dict(time=now, consumable=consumable, level=level, samples=taken, user=user)
            key = c.execute(insert(refills).values(**values)).inserted_primary_key
        assert key is not None
        return Refill(key[0], now, consumable, level, taken, user)

    def latest(self) -> dict[str, Refill]:
        """Consumable -> its last refill."""
        with self._engine.connect() as c:
            rows = [Refill(**r._mapping) for r in c.execute(select(refills).order_by(refills.c.id))]
        return {r.consumable: r for r in rows}

    def samples_taken(self) -> int:
        """Samples in the store now: each took one fresh vial from a rack."""
        with self._engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(samples)).scalar_one())
