"""The ``weigh`` protocol step: the vial on the balance's pan, weighed once it is stable,
into the run's ``weighing`` stream; optionally tared first, or checked against the mass
a protocol expects (a gravimetric check of a dispense)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bluesky.plan_stubs as bps
from bluesky.utils import MsgGenerator
from pydantic import Field

from devices import Capability, DeviceFault, InstrumentDevice
from protocols.fields import Mass
from protocols.step_kinds import StepFields, StepKind


class WeighFields(StepFields):
    """What a weigh step says."""

    tare: bool = Field(False, description="tare with the vial on the pan: later weighings are net")
    expected: Mass | None = Field(None, description="the mass it should weigh")
    tolerance: Mass = Field("10 mg", validate_default=True, description="how far it may be off")


class Weigh(StepKind):
    """Weigh the vial on the balance's pan (``{step: weigh, tare: true}`` before a
    dispense, ``{step: weigh, expected: "{dose}"}`` after it)."""

    fields = WeighFields
    needs = Capability.WEIGHS

    def problems(self, fields: WeighFields, device: Mapping[str, Any]) -> list[tuple[str, str]]:
        """An expected mass the balance cannot weigh is refused before anything moves."""
        limits = device["limits"].get("mass")
        if fields.expected is None or limits is None:
            return []
        grams = float(fields.expected.m_as("g"))
        if not limits.low <= grams <= limits.high:
            return [("expected", f"{grams:g} g is beyond what the balance weighs ({limits})")]
        return []

    def plan(self, fields: WeighFields, device: InstrumentDevice) -> MsgGenerator[None]:
        """Tare if asked, weigh, and check against the expected mass."""
        balance: Any = device
        if fields.tare:
            yield from bps.trigger(balance.tare, wait=True)
        yield from bps.trigger_and_read([balance], name="weighing")
        if fields.expected is not None:
            grams = yield from bps.rd(balance.mass)
            want, off = float(fields.expected.m_as("g")), float(fields.tolerance.m_as("g"))
            if abs(grams - want) > off:
                raise DeviceFault(
                    balance.name,
                    f"weighed {grams:.4g} g, expected {want:.4g} g within {off:.3g} g: the "
                    "dispense before it delivered the wrong amount (check the pump's "
                    "calibration and tubing)",
                    "S",
                )
