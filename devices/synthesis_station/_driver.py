"""Codec of the synthesis station's ASCII command set (docs/protocols/README.md).

Values cross this boundary in the instrument's own units: mL, mL/min, degC, rpm.
"""

from __future__ import annotations

from typing import Protocol

from devices._errors import ProtocolError
from devices._instrument import InputState, InstrumentDriver
from devices._line_protocol import AsciiDriver
from devices._signals import SharedQuery
from devices._transport import Transport


class StationDriver(InstrumentDriver, Protocol):
    """What a :class:`SynthesisStation` needs from an instrument, whatever the wire."""

    async def pumps(self) -> dict[int, str]:
        """Pump number -> the reagent it holds, as the station reports it."""

    async def dispense(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """Dispense into the vial in the slot; returns when done."""

    async def prime(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """Pump through the line into the drain; returns when done."""

    async def level(self, pump: int) -> float:
        """The pump's reservoir level (mL), from its sensor."""

    async def set_temperature(self, celsius: float) -> None:
        """Set the heater (degC)."""

    async def temperature(self) -> float:
        """The block's temperature (degC)."""

    async def setpoint(self) -> float:
        """The heater setpoint (degC)."""

    async def set_stir(self, rpm: float) -> None:
        """Set the stirrer (rpm; 0 is off)."""

    async def stir_for(self, rpm: float, seconds: float) -> None:
        """Stir at ``rpm`` for ``seconds`` by the station's own timer, which stops it."""

    async def stir(self) -> float:
        """The stirrer's speed (rpm)."""

    async def vial(self) -> tuple[str, float] | None:
        """The vial in the slot and its volume (mL), or None."""

    async def interlocks(self) -> dict[str, InputState]:
        """The interlock inputs ``door_open`` and ``leak``, on a path no command blocks."""
        ...

    async def stop(self) -> None:
        """The safe state: stirrer off, heater to ambient."""

    async def heartbeat(self) -> None:
        """Tell the station its controller is alive; a station that hears nothing for its
        heartbeat time stops itself and latches, as after an emergency stop."""


class AsciiStationDriver(AsciiDriver):
    """The synthesis station's ASCII protocol: ``dispense_timeout`` bounds a dispense or prime, ``timeout`` every other command."""

    def __init__(
        self,
        transport: Transport,
        device: str,
        dispense_timeout: float = 600.0,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(transport, device, timeout)
        self._dispense_timeout = dispense_timeout
        #: the temperature and the interlocks read at once share one ``SENSE``
        self._sense = SharedQuery(self._ask_sense)

    async def pumps(self) -> dict[int, str]:
        """``PUMPS?``: pump number -> reagent."""
        reply = await self._io.call("PUMPS?")
        try:
            pairs = (item.split("=", 1) for item in reply.split(",") if item)
            return {int(index): reagent for index, reagent in pairs}
        except ValueError:
            raise ProtocolError(self._device, f"bad pump list {reply!r}", "PUMPS?") from None

    async def dispense(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """``DISP``; returns when the station has dispensed."""
        await self._io.call(
            f"DISP {pump} {volume_ml:.4f} {rate_ml_min:.4f}", timeout=self._dispense_timeout
        )

    async def prime(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """``PRIME``: through the line into the drain."""
        await self._io.call(
            f"PRIME {pump} {volume_ml:.4f} {rate_ml_min:.4f}", timeout=self._dispense_timeout
        )

    async def level(self, pump: int) -> float:
        """``LEVEL?``: the reservoir's level (mL)."""
        return await self._io.number(f"LEVEL? {pump}")

    async def set_temperature(self, celsius: float) -> None:
        """``TEMP``: the heater setpoint (degC)."""
        await self._io.call(f"TEMP {celsius:.3f}")

    async def temperature(self) -> float:
        """The block's temperature (degC), from the real-time ``SENSE`` report: it is
        watched by an over-temperature interlock, so it never waits behind a dispense."""
        report = await self._sense()
        try:
            return float(report["temp"])
        except (KeyError, ValueError):
            raise ProtocolError(self._device, f"bad temperature in {report!r}", "SENSE") from None

    async def setpoint(self) -> float:
        """``TSET?``: the heater setpoint (degC)."""
        return await self._io.number("TSET?")

    async def set_stir(self, rpm: float) -> None:
        """``STIR``: the stirrer's speed (rpm)."""
        await self._io.call(f"STIR {rpm:.1f}")

    async def stir_for(self, rpm: float, seconds: float) -> None:
        """``STIR <rpm> <s>``: a timed stir."""
        await self._io.call(f"STIR {rpm:.1f} {seconds:.3f}")

    async def stir(self) -> float:
        """``STIR?``: the stirrer's speed (rpm)."""
        return await self._io.number("STIR?")

    async def vial(self) -> tuple[str, float] | None:
        """``VIAL?``: the vial in the slot and its volume, or None."""
        reply = await self._io.call("VIAL?")
        if reply == "NONE":
            return None
        try:
            vial_id, volume = reply.split()
            return vial_id, float(volume)
        except ValueError:
            raise ProtocolError(self._device, f"bad vial reply {reply!r}", "VIAL?") from None

    async def interlocks(self) -> dict[str, InputState]:
        """The interlock inputs ``door_open`` and ``leak`` as the station latches them,
        from the real-time ``SENSE`` report (answered past a dispense in progress)."""
        report = await self._sense()
        try:
            return {
                "door_open": InputState.parse(report["door"]),
                "leak": InputState.parse(report["leak"]),
            }
        except (KeyError, ValueError):
            raise ProtocolError(self._device, f"bad interlock report {report!r}", "SENSE") from None

    async def _ask_sense(self) -> dict[str, str]:
        """``SENSE``: the real-time report, ``door=<0|1>:<trips>,leak=...,temp=<degC>``."""
        reply = await self._io.realtime("SENSE")
        try:
            return dict(item.split("=", 1) for item in reply.split(","))
        except ValueError:
            raise ProtocolError(self._device, f"bad real-time report {reply!r}", "SENSE") from None

    async def stop(self) -> None:
        """``STOP``: the safe state."""
        await self._io.call("STOP")

    async def heartbeat(self) -> None:
        """Tell the station its controller is alive: any line it hears is, and the
        real-time ``SENSE`` passes a command in progress."""
        await self._sense()
