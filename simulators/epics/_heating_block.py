"""A simulated heating block: the IOC's records are its controller (they ramp the
block's temperature); this twin is its physics with the workcell, so the vial that
stands in the block sees the block's temperature and the block's sensor sees the vial."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

from simulators.clock import SimClock
from simulators.epics._ioc import SoftIoc
from simulators.workcell import Workcell

#: the records of a heating block's controller
HEATING_BLOCK_DB = Path(__file__).with_name("heating_block.db")

#: how often (real seconds) the twin reads the block and its vial
FOLLOW_PERIOD_S = 0.05


class HeatingBlockTwin:
    """A heating block on a soft IOC of its own, at ``place`` in the workcell.

    Args:
        clock: the simulation's clock (its speed sets how fast the records ramp).
        workcell: where the vials are.
        place: the location of the block.
        prefix: the PV prefix the lab file names; the IOC serves it behind a prefix of
            its own (:attr:`served_prefix`), so two simulations never answer for each
            other's PVs.
        ambient_c: where the block starts and cools to.
        serial: the serial number it reports.
    """

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        place: str,
        prefix: str,
        ambient_c: float = 25.0,
        serial: str = "HB-0001",
    ) -> None:
        self.workcell = workcell
        self.place = place
        self.served_prefix = f"SIM{secrets.token_hex(4).upper()}:{prefix}"
        macros = {
            "P": self.served_prefix,
            "AMBIENT": f"{ambient_c:g}",
            "SPEED": f"{clock.speed:g}",
            "SERIAL": serial,
        }
        self.ioc = SoftIoc([(HEATING_BLOCK_DB, macros)])
        self._follow: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve the records, then follow the block and its vial."""
        await self.ioc.start()
        self._follow = asyncio.ensure_future(self._follow_block())

    async def stop(self) -> None:
        """Stop following and stop the IOC, closing this process's Channel Access
        channels first (the simulation is over): an IOC that goes away under open
        channels is a "virtual circuit disconnect" warning on the terminal."""
        from aioca import purge_channel_caches

        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
            self._follow = None
        purge_channel_caches()
        await self.ioc.stop()

    async def _follow_block(self) -> None:
        from aioca import caget, caput  # the CA client, loaded once a block is simulated

        temperature, occupied = f"{self.served_prefix}T", f"{self.served_prefix}VIAL"
        told: bool | None = None
        while True:
            await asyncio.sleep(FOLLOW_PERIOD_S)
            vial = self.workcell.vials_at.get(self.place)
            try:
                if vial is not None:
                    now = float(await caget(temperature, timeout=1.0))
                    vial.temperature_c = max(vial.temperature_c, now)
                if told is not (vial is not None):
                    await caput(occupied, int(vial is not None), timeout=1.0)
                    told = vial is not None
            except Exception:  # the IOC stopped (a fault a test injects): try again
                told = None
