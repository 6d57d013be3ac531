"""The base of devices that stand for one instrument reached through a driver."""

from __future__ import annotations

from typing import Any, Protocol

from ophyd_async.core import DEFAULT_TIMEOUT, StandardReadable


class InstrumentDriver(Protocol):
    """What every instrument's driver offers, whatever the instrument and the wire."""

    @property
    def busy(self) -> bool:
        """A command is in flight: a poll now would wait behind it."""
        ...

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def identify(self) -> str: ...

    async def state(self) -> str:
        """``idle``, ``busy``, ``estop`` or ``error <text>``, as the instrument reports it."""
        ...

    async def emergency_stop(self) -> None:
        """Stop at once, past anything in progress; returns once the instrument confirms."""
        ...

    async def reset(self) -> None:
        """Clear a latched emergency stop."""
        ...


class InstrumentDevice(StandardReadable):
    """Connecting opens the driver, then ``_on_connect`` checks that the instrument
    matches its configuration. In mock mode the driver is left alone."""

    driver: Any

    async def connect(  # type: ignore[override]
        self, mock: bool = False, timeout: float = DEFAULT_TIMEOUT, force_reconnect: bool = False
    ) -> None:
        await super().connect(mock=mock, timeout=timeout, force_reconnect=force_reconnect)
        if not mock:
            await self.driver.connect()
            await self._on_connect()

    async def _on_connect(self) -> None:
        """Read the instrument's state and refuse a mismatch with the configuration."""

    async def refresh(self) -> None:
        """Read the instrument into this device's signals."""

    async def emergency_stop(self) -> None:
        await self.driver.emergency_stop()

    async def reset(self) -> None:
        """Clear the latched emergency stop, then read the instrument afresh."""
        await self.driver.reset()
        await self.refresh()
