"""A simulated chromatograph (HPLC/GC-like analyser): injects the vial in its holder and
reports named quantities (e.g. yield and purity, in %) with measurement noise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
import pint

from simulators.clock import SimClock
from simulators.firmware._base import FirmwareError, LineFirmware
from simulators.workcell import Workcell

ureg = pint.get_application_registry()


class ScalarTruth(Protocol):
    """A ground truth that gives named quantities for a sample (see
    ``simulators.chemistry.GroundTruth`` for the arguments)."""

    def __call__(
        self,
        composition: Mapping[str, pint.Quantity],
        conditions: Mapping[str, pint.Quantity],
        wavelengths: pint.Quantity | None = None,
    ) -> Mapping[str, pint.Quantity]: ...


class AnalyserFirmware(LineFirmware):
    """Commands: ``FIELDS?`` (``name:unit,...``, what a result holds), ``RUN`` (inject and
    run the method, ``run_time_s`` of lab time), ``RESULT?`` (``name=value,...`` in the
    units of ``FIELDS?``), ``VIAL?``, and the common ``STATE?``, ``RESET``, ``ESTOP``.

    Each reported value is the truth plus Gaussian noise of ``noise`` in the field's unit.
    """

    model, serial_number = "Chromatograph", "SN4001"

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        holder: str,
        ground_truth: ScalarTruth,
        fields: Mapping[str, str],
        run_time_s: float = 300.0,
        noise: float = 0.5,
        seed: int = 0,
    ) -> None:
        super().__init__(clock)
        self.workcell = workcell
        self.holder = holder
        self.ground_truth = ground_truth
        self.fields = dict(fields)
        self.run_time_s = run_time_s
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.result: dict[str, float] | None = None
        self.commands.update(
            {
                "FIELDS?": self._fields,
                "RUN": self._run,
                "RESULT?": self._result,
                "VIAL?": self._vial,
            }
        )

    async def _fields(self) -> str:
        return ",".join(f"{name}:{unit}" for name, unit in self.fields.items())

    async def _run(self) -> None:
        vial = self.workcell.vials_at.get(self.holder)
        if vial is None:
            raise FirmwareError("no sample in holder")
        await self.busy_for(self.run_time_s)
        composition = {k: v * ureg.mL for k, v in vial.contents_ml.items()}
        conditions = vial.conditions()
        truth = self.ground_truth(composition, conditions)
        if not isinstance(truth, Mapping):
            raise FirmwareError("the lab's chemistry gives a spectrum, not named quantities")
        missing = set(self.fields) - set(truth)
        if missing:
            raise FirmwareError(f"the method reports no {sorted(missing)}")
        self.result = {
            name: float(truth[name].m_as(unit)) + self.rng.normal(0.0, self.noise)
            for name, unit in self.fields.items()
        }

    async def _result(self) -> str:
        if self.result is None:
            raise FirmwareError("no result: RUN first")
        return ",".join(f"{name}={value:.4f}" for name, value in self.result.items())

    async def _vial(self) -> str:
        vial = self.workcell.vials_at.get(self.holder)
        return "NONE" if vial is None else vial.id
