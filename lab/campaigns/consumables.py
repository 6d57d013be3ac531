"""A campaign and its consumables: what a trial is expected to take (the protocol filled
across the search space), whether the budget will run a reagent or the racks dry (told
before the campaign starts), and the check before each trial that it can finish: a trial
the lab cannot finish waits, never half-dispensed, until someone refills and resumes."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from lab.files.lab_file import LabConfig
from lab.records.consumables import VIALS, Supply, supplies
from lab.store import Store
from planners import Objective, SearchSpace, planner_class
from protocols import LabLimits
from protocols import Protocol as LabProtocol

#: how many points of the search space the expected use is averaged over
_SAMPLES = 64


def expected_use(
    space: SearchSpace, protocol: LabProtocol, sources: frozenset[str]
) -> dict[str, float]:
    """Consumable -> what one trial takes of it on average (mL, or vials), over a
    space-filling sample of the search space: the planner's budget times this is what
    a campaign will use, whatever part of the space it ends up in.

    Args:
        space: the campaign's search space.
        protocol: its protocol template.
        sources: the lab's racks.
    """
    sample = planner_class("sobol")(space, [Objective("use")], seed=0).ask(_SAMPLES)
    total: dict[str, float] = {}
    filled = 0
    for s in sample:
        try:
            concrete = protocol.fill(s.parameters)
        except ValidationError:
            continue  # a point the protocol refuses never runs: it takes nothing
        filled += 1
        for reagent, volume in concrete.reagent_volumes().items():
            total[reagent] = total.get(reagent, 0.0) + float(volume.m_as("mL"))
        total[VIALS] = total.get(VIALS, 0.0) + concrete.fresh_vials(sources)
    return {name: used / filled for name, used in total.items()} if filled else {}


@dataclass
class Consumables:
    """What one session of a campaign tells of its consumables.

    Args:
        config: the lab file (reagents' warn levels, racks).
        store: the lab's store (vials counted against samples).
        per_trial: what a trial is expected to take of each consumable.
    """

    config: LabConfig
    store: Store
    per_trial: dict[str, float]
    #: the consumables already told to be low (told again only after a refill)
    _told_low: set[str] = field(default_factory=set)

    def now(self, limits: LabLimits) -> list[Supply]:
        """Each consumable as the lab reads it now (a reagent: the lowest of its
        reservoirs on the station ``limits`` were read for)."""
        return supplies(self.config, self.store, limits.stock_ml, self.per_trial)

    def forecast(self, limits: LabLimits, trials: int) -> list[str]:
        """What will run out before ``trials`` more trials are done, in words (empty
        if everything lasts)."""
        told = []
        for s in self.now(limits):
            left = s.trials_left()
            if left is not None and left < trials:
                told.append(
                    f"{s.name} will run out after about {left} of the {trials} trials left "
                    f"({s.amount(s.level)} now, about {s.amount(s.per_trial or 0)} a "
                    "trial): refill it before then, or the campaign pauses before the "
                    "trial it cannot finish"
                )
        return told

    def check(self, protocol: LabProtocol, limits: LabLimits) -> tuple[str | None, list[str]]:
        """Whether the trial of ``protocol`` can finish with what the lab holds: why
        not (None if it can), and the consumables newly below their warn level.

        Args:
            protocol: the trial's concrete protocol.
            limits: the lab's limits, read for the trial's station just now.
        """
        now = {s.name: s for s in self.now(limits)}
        needs = {r: float(v.m_as("mL")) for r, v in protocol.reagent_volumes().items()}
        needs[VIALS] = protocol.fresh_vials(limits.sources)
        short = None
        for name, need in needs.items():
            s = now.get(name)
            if s is not None and need > s.level + 1e-9:
                short = (
                    f"{name} runs short: the next trial needs {s.amount(need)} and "
                    f"{'the racks hold' if name == VIALS else 'its reservoir holds'} "
                    f"{s.amount(s.level)}; refill it, then resume"
                )
                break
        low = []
        for s in now.values():
            if not s.is_low:
                self._told_low.discard(s.name)
            elif s.name not in self._told_low:
                self._told_low.add(s.name)
                lasts = s.trials_left()
                low.append(
                    f"{s.name} is low: {s.amount(s.level)} left (warn below "
                    f"{s.amount(s.low or 0)})"
                    + ("" if lasts is None else f", about {lasts} trials' worth")
                )
        return short, low
