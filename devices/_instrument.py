"""The base of devices that stand for one instrument reached through a driver."""

from __future__ import annotations

from typing import Any

from ophyd_async.core import DEFAULT_TIMEOUT, StandardReadable


class InstrumentDevice(StandardReadable):
    """Connecting opens the driver, then ``_on_connect`` checks that the instrument
    matches its configuration. In mock mode the driver is left alone."""

    driver: Any

    async def connect(
        self, mock: bool = False, timeout: float = DEFAULT_TIMEOUT, force_reconnect: bool = False
    ) -> None:
        await super().connect(mock=mock, timeout=timeout, force_reconnect=force_reconnect)
        if not mock:
            await self.driver.connect()
            await self._on_connect()

    async def _on_connect(self) -> None:
        """Read the instrument's state and refuse a mismatch with the configuration."""
