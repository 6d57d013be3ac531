"""Codec of Mettler Toledo's Standard Interface Command Set (MT-SICS), the subset every
MT-SICS balance answers: weighing (``S`` stable, ``SI`` immediate), ``Z`` zero, ``T``
tare, identity (``I2`` model, ``I3`` software, ``I4`` serial number) and ``@`` reset.

A reply starts with the command's name and a status letter: ``S S  12.3456 g``
(stable), ``S D ...`` (dynamic, ``SI`` only), ``A`` done, ``I`` not executable now (the
weight would not settle, the balance is busy), ``+``/``-`` beyond the balance's range.
``ES``, ``ET`` and ``EL`` are the balance's syntax, transmission and logical errors.
"""

from __future__ import annotations

import pint

from devices import DeviceFault, LimitViolation, ProtocolError, Transport

ureg = pint.get_application_registry()

#: what each status letter means, for a command that could not be done
_REFUSALS = {
    "I": "not executable now (the weight did not settle in time, or the balance is busy)",
    "+": "above the balance's range (overload, or beyond its zero or tare range)",
    "-": "below the balance's range (the pan is off, or beyond its zero range)",
    "L": "refused: wrong parameter",
}
_ERRORS = {
    "ES": "syntax error: the balance did not recognise the command",
    "ET": "transmission error: the balance received a garbled command",
    "EL": "logical error: the balance cannot execute the command now",
}


#: the name a reply starts with, where it is not the command's own
_ANSWERED_AS = {"SI": "S", "@": "I4"}


class MtSicsError(DeviceFault):
    """The balance answered a command with a refusal (``I``, ``+``, ``-``, ``L``)."""


class MtSicsDriver:
    """Talks MT-SICS over a line transport (CR LF terminated on a serial port).

    Args:
        transport: the line to the balance.
        device: the device's name, for errors.
        timeout: how long a reply may take (real seconds).
        stable_timeout: how long ``S`` may wait for the weight to settle.
    """

    def __init__(
        self, transport: Transport, device: str, timeout: float = 5.0, stable_timeout: float = 30.0
    ) -> None:
        self._transport = transport
        self._device = device
        self._timeout = timeout
        self._stable_timeout = stable_timeout

    @property
    def busy(self) -> bool:
        """A command is in flight."""
        return self._transport.busy

    @property
    def link(self) -> str:
        """The wire in use."""
        return self._transport.link

    async def connect(self) -> None:
        """Open the line."""
        await self._transport.connect()

    async def close(self) -> None:
        """Close the line."""
        await self._transport.close()

    async def _ask(self, command: str, timeout: float | None = None) -> list[str]:
        """The reply's words after the command's name; typed errors for the rest."""
        query = command in ("SI", "I2", "I3", "I4")
        reply = (
            await self._transport.request(command, timeout or self._timeout, idempotent=query)
        ).strip()
        if reply in _ERRORS:
            error = ProtocolError if reply in ("ES", "ET") else DeviceFault
            raise error(self._device, _ERRORS[reply], command)
        name, *words = reply.split(maxsplit=2)
        if name != _ANSWERED_AS.get(command, command) or not words:
            raise ProtocolError(self._device, f"unexpected reply {reply[:80]!r}", command)
        status = words[0]
        if status in _REFUSALS:
            refused = MtSicsError if status in ("I", "L") else LimitViolation
            raise refused(self._device, _REFUSALS[status], command)
        return words

    def _grams(self, words: list[str], command: str) -> float:
        """``<status> <value> <unit>`` as grams."""
        try:
            value, unit = words[1].split()
            return float(ureg.Quantity(float(value), unit).m_as("g"))
        except (IndexError, ValueError, pint.errors.PintError):
            raise ProtocolError(
                self._device, f"not a weight: {' '.join(words)!r}", command
            ) from None

    async def weigh(self) -> float:
        """``S``: the next stable weight (g), waiting up to ``stable_timeout`` for it."""
        return self._grams(await self._ask("S", self._stable_timeout + self._timeout), "S")

    async def weigh_now(self) -> tuple[float, bool]:
        """``SI``: the weight now (g), and whether it is stable."""
        words = await self._ask("SI")
        return self._grams(words, "SI"), words[0] == "S"

    async def zero(self) -> None:
        """``Z``: the present load becomes zero (waits for it to be stable)."""
        await self._ask("Z", self._stable_timeout + self._timeout)

    async def tare(self) -> float:
        """``T``: the present load is tared; returns the tare weight (g)."""
        return self._grams(await self._ask("T", self._stable_timeout + self._timeout), "T")

    async def _text(self, command: str) -> str:
        words = await self._ask(command)
        return words[-1].strip().strip('"') if len(words) > 1 else ""

    async def identify(self) -> str:
        """``maker,model,serial,firmware`` from ``I2``, ``I4`` and ``I3``."""
        model = (await self._text("I2")).split('"')[0].strip()
        return f"Mettler Toledo,{model},{await self._text('I4')},{await self._text('I3')}"

    async def state(self) -> str:
        """``idle`` if the balance answers a weighing, else ``error <why>``."""
        try:
            await self.weigh_now()
        except (MtSicsError, LimitViolation) as err:
            return f"error {err.message}"
        return "idle"

    async def emergency_stop(self) -> None:
        """A balance neither moves nor heats: nothing to stop."""

    async def reset(self) -> None:
        """Nothing latches on a balance."""
