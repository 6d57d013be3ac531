"""Codec of the spectrometer's ASCII command set (docs/protocols/README.md)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from devices._errors import ProtocolError
from devices._instrument import InstrumentDriver
from devices._line_protocol import AsciiDriver
from devices._transport import Transport


class SpectrometerDriver(InstrumentDriver, Protocol):
    """What a :class:`Spectrometer` needs from an instrument, whatever the wire."""

    async def wavelengths(self) -> np.ndarray:
        """The wavelength axis (nm)."""

    async def set_integration(self, ms: float) -> None:
        """Set the integration time (ms)."""

    async def integration(self) -> float:
        """The integration time (ms)."""

    async def acquire(self) -> np.ndarray:
        """Acquire and return the absorbance spectrum of the sample in the holder."""

    async def saturated(self) -> int:
        """Points of the last spectrum at full scale or beyond the photometric range."""

    async def vial(self) -> str | None:
        """The vial in the holder, or None."""

    async def raw(self, source: str) -> np.ndarray:
        """Raw counts of a service acquisition: ``dark``, ``ref`` or ``lamp``."""

    async def full_scale(self) -> float:
        """The detector's full scale (counts)."""


class AsciiSpectrometerDriver(AsciiDriver):
    """The spectrometer's ASCII protocol: ``acquire_timeout`` bounds an acquisition, ``timeout`` every other command."""

    def __init__(
        self, transport: Transport, device: str, acquire_timeout: float = 60.0, timeout: float = 5.0
    ) -> None:
        super().__init__(transport, device, timeout)
        self._acquire_timeout = acquire_timeout

    async def wavelengths(self) -> np.ndarray:
        """The wavelength axis (nm), from ``WL?``."""
        reply = await self._io.call("WL?")
        try:
            start, step, n = reply.split(",")
            return float(start) + float(step) * np.arange(int(n))
        except ValueError:
            raise ProtocolError(self._device, f"bad wavelength axis {reply!r}", "WL?") from None

    async def set_integration(self, ms: float) -> None:
        """Set the integration time (ms)."""
        await self._io.call(f"INT {ms:.3f}")

    async def integration(self) -> float:
        """The integration time (ms)."""
        return await self._io.number("INT?")

    async def acquire(self) -> np.ndarray:
        """``ACQ`` then ``DATA?``: the absorbance spectrum, its length checked."""
        await self._io.call("ACQ", timeout=self._acquire_timeout)
        return await self._block("DATA?")

    async def raw(self, source: str) -> np.ndarray:
        """Raw detector counts of a service acquisition: ``dark`` (shutter closed), ``ref``
        (lamp through the empty path) or ``lamp`` (the mercury calibration lamp)."""
        if source not in ("dark", "ref", "lamp"):
            raise ValueError(f"unknown raw source {source!r}")
        await self._io.call(source.upper(), timeout=self._acquire_timeout)
        return await self._block("RAW?")

    async def full_scale(self) -> float:
        """The detector's full scale, counts."""
        return await self._io.number("FS?")

    async def _block(self, query: str) -> np.ndarray:
        reply = await self._io.call(query)
        try:
            count, values = reply.split(" ", 1)
            data = np.array([float(v) for v in values.split(",")])
        except ValueError:
            raise ProtocolError(self._device, "malformed data block", query) from None
        if data.size != int(count):
            raise ProtocolError(
                self._device, f"data block says {count} points, carries {data.size}", query
            )
        return data

    async def saturated(self) -> int:
        """Points of the last spectrum at the detector's full scale or beyond its
        photometric range: their values mean nothing."""
        return int(await self._io.number("SAT?"))

    async def vial(self) -> str | None:
        """The vial in the cuvette holder."""
        reply = await self._io.call("VIAL?")
        return None if reply == "NONE" else reply
