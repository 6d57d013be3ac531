"""Sobol and uniform-random baselines behind the planner interface.

Both draw a deterministic stream of points in the unit cube from the seed, each
coordinate standing for one parameter's value (a choice or a discrete value takes an equal
share of its axis), and keep points that satisfy the constraints, so resuming after ``k``
trials continues the same stream, never repeats it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import qmc

from planners.base import InfeasibleSpaceError, ParameterValue, Planner, Suggestion

_MAX_REJECTIONS = 100_000


@dataclass
class _StreamPlanner(Planner):
    _stream: Iterator[dict[str, float | str]] | None = field(init=False, default=None)
    _next_index: int = field(init=False, default=0)

    def _unit_points(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def _feasible_points(self) -> Iterator[dict[str, float | str]]:
        rejected = 0
        for u in self._unit_points():
            values = {
                p.name: p.from_unit(float(x)) for p, x in zip(self.space.parameters, u, strict=True)
            }
            if self.space.feasible(values):
                rejected = 0
                yield values
            else:
                rejected += 1
                if rejected > _MAX_REJECTIONS:
                    raise InfeasibleSpaceError(
                        f"{self.name}: no feasible point in {_MAX_REJECTIONS} draws; check the "
                        f"constraints {[str(c) for c in self.space.constraints]}"
                    )

    def _propose(self, n: int) -> list[Suggestion]:
        if self._stream is None:
            self._stream = self._feasible_points()
            for _ in range(self._next_index):  # skip what earlier sessions already used
                next(self._stream)
        out = []
        for _ in range(n):
            values = next(self._stream)
            params = {p.name: p.value(values[p.name]) for p in self.space.parameters}
            out.append(Suggestion(self._next_index, params, self.name))
            self._next_index += 1
        return out

    def _attach(self, parameters: dict[str, ParameterValue]) -> int:
        index = self._next_index
        self._next_index += 1
        return index


@dataclass
class RandomPlanner(_StreamPlanner):
    """Uniform random proposals within the bounds and constraints: the baseline any planner must beat."""

    name: str = field(init=False, default="random")

    def _unit_points(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        while True:
            yield rng.random(len(self.space.parameters))


@dataclass
class SobolPlanner(_StreamPlanner):
    """Scrambled Sobol proposals within the bounds and constraints: space-filling, the baseline of choice."""

    name: str = field(init=False, default="sobol")

    def _unit_points(self) -> Iterator[np.ndarray]:
        sobol = qmc.Sobol(d=len(self.space.parameters), scramble=True, seed=self.seed)
        while True:
            yield from sobol.random(64)
