"""Codec of the analyser's ASCII command set (docs/protocols/README.md)."""

from __future__ import annotations

from typing import Protocol

from devices._errors import ProtocolError
from devices._instrument import InstrumentDriver
from devices._line_protocol import AsciiDriver
from devices._transport import Transport


class AnalyserDriver(InstrumentDriver, Protocol):
    """What an :class:`Analyser` needs from an instrument, whatever the wire."""

    async def fields(self) -> dict[str, str]:
        """What a result holds: field name -> unit."""

    async def run(self) -> dict[str, float]:
        """Analyse the vial in the holder: field name -> value, in the field's unit."""

    async def vial(self) -> str | None:
        """The vial in the holder, or None."""


class AsciiAnalyserDriver(AsciiDriver):
    """The analyser's ASCII protocol: ``run_timeout`` bounds one analysis (a
    chromatographic run takes minutes), ``timeout`` every other command."""

    def __init__(
        self, transport: Transport, device: str, run_timeout: float = 900.0, timeout: float = 5.0
    ) -> None:
        super().__init__(transport, device, timeout)
        self._run_timeout = run_timeout

    async def fields(self) -> dict[str, str]:
        """``FIELDS?``: ``name:unit,...``."""
        return dict(self._pairs(await self._io.call("FIELDS?"), ":", "FIELDS?"))

    async def run(self) -> dict[str, float]:
        """``RUN`` then ``RESULT?``: ``name=value,...``."""
        await self._io.call("RUN", timeout=self._run_timeout)
        pairs = self._pairs(await self._io.call("RESULT?"), "=", "RESULT?")
        try:
            return {name: float(value) for name, value in pairs}
        except ValueError:
            raise ProtocolError(self._device, "a result value is not a number", "RESULT?") from None

    async def vial(self) -> str | None:
        """The vial in the holder."""
        reply = await self._io.call("VIAL?")
        return None if reply == "NONE" else reply

    def _pairs(self, reply: str, separator: str, query: str) -> list[tuple[str, str]]:
        pairs = [item.split(separator, 1) for item in reply.split(",") if item]
        if not pairs or any(len(p) != 2 or not p[0] for p in pairs):
            raise ProtocolError(self._device, f"malformed reply {reply!r}", query)
        return [(name.strip(), value.strip()) for name, value in pairs]
