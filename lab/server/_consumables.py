"""The lab's consumables as the server shows them (levels, and how long each lasts for
the campaign that runs), and the staff's refill: recorded in the store and the audit log,
and, in a simulated lab, done by the simulator's hands."""

from __future__ import annotations

import math

from devices import DeviceError, parse_quantity
from lab.campaigns.manager import CampaignManager
from lab.campaigns.runner import LabSide
from lab.errors import Conflict, NotFound
from lab.files.lab_file import LabConfig
from lab.records.consumables import VIALS, Supply, supplies
from lab.runtime.simulated_world import SimulatedWorld
from lab.store import Refill, Store


class ConsumablesDesk:
    """Reads the consumables and takes the staff's refills.

    Args:
        config: the lab file (reagents, racks).
        store: where refills are recorded (and vials counted).
        lab: the lab's limits (the reservoirs' levels, as their sensors read them).
        manager: the campaigns (what the running one takes per trial).
        world: the simulated lab, whose reservoirs and racks a refill fills; None for
            instruments (a person fills them).
    """

    def __init__(
        self,
        config: LabConfig,
        store: Store,
        lab: LabSide,
        manager: CampaignManager,
        world: SimulatedWorld | None,
    ) -> None:
        self._config, self._store, self._lab = config, store, lab
        self._manager, self._world = manager, world

    def now(self) -> list[Supply]:
        """Each consumable: a reagent at its lowest reservoir over the stations."""
        levels: dict[str, float] = {}
        try:
            for station, _ in self._config.stations:
                for reagent, ml in self._lab.limits(station).stock_ml.items():
                    levels[reagent] = min(ml, levels.get(reagent, math.inf))
        except DeviceError as err:
            raise Conflict(f"cannot read the reservoirs' levels: {err}") from None
        # what the latest campaign takes per trial, running or ended (the morning after)
        started = [s for s in self._manager.sessions.values() if s.runner is not None]
        latest = max(started, key=lambda s: s.started, default=None)
        use = latest.runner.expected_use if latest and latest.runner else {}
        return supplies(self._config, self._store, levels, use)

    def refill(self, name: str, level: str, by: str) -> Refill:
        """Record that ``by`` refilled ``name`` to ``level`` (``250 mL``; vials: ``48``).

        Raises:
            NotFound: no such reagent, or no rack that counts its vials.
            ValueError: a level that is not one (the wrong unit, negative, not a count).
        """
        if name == VIALS:
            racks = [n for n, loc in self._config.locations.items() if loc.vials is not None]
            if not racks:
                raise NotFound("no rack counts its vials: give a rack vials: in the lab file")
            count = level.removesuffix("vials").strip()
            if not count.isdigit():
                raise ValueError(f"vials: {level!r} is not a number of vials, e.g. 48")
            text, amount = f"{int(count)} vials", float(count)
        else:
            if name not in self._config.reagents:
                raise NotFound(f"no reagent {name!r}; the lab has {sorted(self._config.reagents)}")
            volume = parse_quantity(level)
            if not volume.check("[volume]"):
                raise ValueError(f"{name}: {level!r} is not a volume; write e.g. '250 mL'")
            amount = float(volume.m_as("mL"))
            if amount < 0:
                raise ValueError(f"{name}: a level cannot be negative ({level!r})")
            text = f"{amount:g} mL"
        if self._world is not None:
            self._world.refill(name, amount)
        return self._store.refills.append(name, text, by)
