"""The balance's side of its wire: MT-SICS answers from the simulated workcell's pan.

A vial on the pan weighs its glass (``EMPTY_VIAL_G``) plus what it holds (at
``DENSITY_G_ML``); a check weight weighs its nominal mass. Readings carry noise of a
fraction of the readability and a slow zero drift, rounded to the readability.
"""

from __future__ import annotations

import numpy as np

#: what an empty simulated vial weighs (g), and what a millilitre of any reagent does
EMPTY_VIAL_G, DENSITY_G_ML = 12.0, 1.0


class BalanceFirmware:
    """An MT-SICS balance whose pan is a place of the simulated workcell.

    Args:
        clock: lab time (a weighing settles in ``settle_s`` of it).
        workcell: where the vials are.
        pan: the place of its weighing pan.
        capacity_g: its capacity; a heavier load answers ``S +``.
        readability_g: the step its readings are rounded to.
        check_weights: place -> the nominal mass (g) of the check weight standing there.
        seed: the noise's seed.
        drift_g_per_h: how fast the zero drifts.
    """

    maker, model, serial_number, software = "Mettler Toledo", "XPR205", "B0123456", "1.10"

    def __init__(
        self,
        clock: object,
        workcell: object,
        pan: str,
        capacity_g: float,
        readability_g: float,
        check_weights: dict[str, float] | None = None,
        seed: int = 0,
        drift_g_per_h: float = 0.00005,
        settle_s: float = 2.0,
    ) -> None:
        self.clock = clock
        self.workcell = workcell
        self.pan = pan
        self.capacity_g = capacity_g
        self.readability_g = readability_g
        self.drift_g_per_h = drift_g_per_h
        self.settle_s = settle_s
        self.noise_g = readability_g / 2
        self._rng = np.random.default_rng(seed)
        self.zero_g = 0.0
        self.tare_g = 0.0
        self._zeroed_at = clock.now()  # type: ignore[attr-defined]
        #: fault injection: the weight never settles (a draught, a vibrating bench)
        self.unstable = False
        self.known_g: dict[str, float] = {}
        for place, grams in (check_weights or {}).items():
            weight_id = f"CW-{place}"
            self.known_g[weight_id] = grams
            workcell.vials_at[place] = _CheckWeight(weight_id)  # type: ignore[attr-defined]

    def _gross_g(self) -> float:
        item = self.workcell.vials_at.get(self.pan)  # type: ignore[attr-defined]
        if item is None:
            return 0.0
        if item.id in self.known_g:
            return self.known_g[item.id]
        return EMPTY_VIAL_G + DENSITY_G_ML * sum(item.contents_ml.values())

    def _net_g(self) -> float:
        hours = (self.clock.now() - self._zeroed_at) / 3600.0  # type: ignore[attr-defined]
        raw = self._gross_g() - self.zero_g - self.tare_g + self.drift_g_per_h * hours
        raw += float(self._rng.normal(0.0, self.noise_g))
        return round(raw / self.readability_g) * self.readability_g

    def _weight(self, status: str) -> str:
        if self._gross_g() - self.zero_g > self.capacity_g:
            return "+"
        if self._gross_g() - self.zero_g < -0.05 * self.capacity_g:
            return "-"
        digits = max(0, -int(np.floor(np.log10(self.readability_g))))
        return f"{status} {self._net_g():>12.{digits}f} g"

    async def handle(self, line: str) -> str:
        """One MT-SICS command in, one reply out."""
        command = line.strip()
        if command == "S":
            if self.unstable:
                await self.clock.sleep(30.0)  # type: ignore[attr-defined]
                return "S I"
            await self.clock.sleep(self.settle_s)  # type: ignore[attr-defined]
            return f"S {self._weight('S')}"
        if command == "SI":
            return f"S {self._weight('D' if self.unstable else 'S')}"
        if command == "Z":
            return self._zero()
        if command == "T":
            return self._tare()
        if command == "I2":
            return f'I2 A "{self.model}" "{self.capacity_g:g} g"'
        if command == "I3":
            return f'I3 A "{self.software}"'
        if command in ("I4", "@"):
            if command == "@":
                self.tare_g = 0.0
            return f'I4 A "{self.serial_number}"'
        return "ES"

    def _zero(self) -> str:
        if self.unstable:
            return "Z I"
        offset = self._gross_g()
        if abs(offset) > 0.02 * self.capacity_g:  # beyond a balance's zero range
            return "Z +" if offset > 0 else "Z -"
        self.zero_g, self.tare_g, self._zeroed_at = offset, 0.0, self.clock.now()  # type: ignore[attr-defined]
        return "Z A"

    def _tare(self) -> str:
        if self.unstable:
            return "T I"
        load = self._gross_g() - self.zero_g
        if load > self.capacity_g:
            return "T +"
        self.tare_g = load
        digits = max(0, -int(np.floor(np.log10(self.readability_g))))
        return f"T S {load:>12.{digits}f} g"

    # what a PtyServer asks of any firmware: MT-SICS has no real-time commands
    def is_realtime(self, line: str) -> bool:
        """No MT-SICS command bypasses the one in progress."""
        return False

    def answer_realtime(self, line: str) -> str | None:
        """Never called (see :meth:`is_realtime`)."""
        return None

    def tick(self) -> None:
        """A balance has no duties of its own between commands."""


class _CheckWeight:
    """A check weight, standing where the arm can carry it like a vial."""

    def __init__(self, weight_id: str) -> None:
        self.id = weight_id
        self.contents_ml: dict[str, float] = {}
        self.capacity_ml = 0.0
