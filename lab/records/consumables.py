"""What the lab's consumables hold: the reagents' reservoirs (their level sensors' reading)
and the racks of fresh vials (counted: each sample in the store took one vial from a rack
since the last refill). The one place the levels, the warn level and a trial's use meet,
for the campaign's check before each trial, the forecast, the dashboard and the report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from lab.files.lab_file import LabConfig
from lab.store import Store

#: the name the racks of fresh vials go by, beside the reagents
VIALS = "vials"


@dataclass(frozen=True)
class Supply:
    """One consumable as it stands.

    Args:
        name: a reagent's name, or ``vials``.
        level: what it holds now (mL; for vials, how many).
        low: below this, people are told (the lab file's ``low``), if set.
        per_trial: what one trial is expected to take of it, if known.
    """

    name: str
    level: float
    low: float | None = None
    per_trial: float | None = None

    @property
    def unit(self) -> str:
        """``vials`` for the racks, ``mL`` for a reagent."""
        return VIALS if self.name == VIALS else "mL"

    @property
    def is_low(self) -> bool:
        """Below its warn level."""
        return self.low is not None and self.level < self.low

    def trials_left(self) -> int | None:
        """How many more trials it lasts at the expected use; None if a trial takes none."""
        if not self.per_trial or self.per_trial <= 0:
            return None
        return math.floor(self.level / self.per_trial + 1e-9)

    def amount(self, value: float) -> str:
        """``value`` in its unit, for people: ``2.5 mL``, ``1 vial``."""
        if self.name == VIALS:
            return f"{int(value)} vial" + ("" if int(value) == 1 else "s")
        return f"{value:.3g} mL"

    def text(self) -> str:
        """``water: 42 mL`` or ``vials: 12 vials``."""
        return f"{self.name}: {self.amount(self.level)}"


def tracked_vials(config: LabConfig, store: Store) -> int | None:
    """Fresh vials left in the racks: their last refill (or, before any, the lab file's
    ``vials``) less the samples recorded since; None if no rack declares ``vials``.

    Args:
        config: the lab file.
        store: the lab's store.
    """
    full = [loc.vials for loc in config.locations.values() if loc.vials is not None]
    if not full:
        return None
    refill = store.refills.latest().get(VIALS)
    level, since = (
        (sum(full), 0) if refill is None else (int(refill.level.split()[0]), refill.samples)
    )
    return max(level - (store.refills.samples_taken() - since), 0)


def supplies(
    config: LabConfig,
    store: Store,
    reagent_levels: Mapping[str, float],
    per_trial: Mapping[str, float] | None = None,
) -> list[Supply]:
    """Every consumable the lab tracks, reagents first (as the lab file lists them).

    Args:
        config: the lab file.
        store: the lab's store (the vials' count).
        reagent_levels: reagent -> what its reservoir holds (mL), as its sensor reads.
        per_trial: consumable -> what a trial is expected to take (mL, or vials).
    """
    use = per_trial or {}
    found = [
        Supply(
            name,
            reagent_levels[name],
            None if reagent.low is None else float(reagent.low.m_as("mL")),
            use.get(name),
        )
        for name, reagent in config.reagents.items()
        if name in reagent_levels
    ]
    vials = tracked_vials(config, store)
    if vials is not None:
        found.append(Supply(VIALS, vials, None, use.get(VIALS)))
    return found
