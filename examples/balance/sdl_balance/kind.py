"""How the lab builds, simulates and checks an MT-SICS balance: the device kind
``mt_sics_balance`` (an entry point of this package), and its settings in a lab file."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices import Capability, InstrumentDevice, Range
from lab.files.device_kinds import DeviceKind, DeviceSettings, SimulatedParts, Wire
from lab.files.diagnostics_file import MassLevels
from protocols.fields import Duration, Mass, Name, Timeout
from sdl_balance._device import Balance
from sdl_balance._mt_sics import MtSicsDriver
from sdl_balance._simulator import BalanceFirmware


class BalanceDiagnostics(BaseModel):
    """What `lab diagnose` judges a balance by."""

    model_config = ConfigDict(extra="forbid")

    repeatability: MassLevels = Field(
        MassLevels(warn="0.2 mg", fail="0.5 mg"),
        description="standard deviation of ten weighings of the same load",
    )
    drift: MassLevels = Field(
        MassLevels(warn="0.3 mg", fail="1 mg"),
        description="how far the zero moves over drift_window",
    )
    drift_window: Duration = Field("10 min", validate_default=True)
    linearity: MassLevels = Field(
        MassLevels(warn="0.5 mg", fail="2 mg"),
        description="the largest error on a check weight",
    )
    check_weights: dict[Name, Mass] = Field(
        {},
        description="place -> nominal mass of the check weight standing there, which the "
        "arm carries to the pan for the linearity check (none: it is skipped)",
    )


class BalanceSettings(DeviceSettings):
    """An analytical balance whose pan is a place of the lab the arm reaches; on a
    serial port MT-SICS ends lines with CR LF (``terminator: "\r\n"``)."""

    pan: Name = Field(description="the location of its weighing pan")
    capacity: Mass = Field(description="the heaviest load it weighs, e.g. '220 g'")
    readability: Mass = Field("0.1 mg", validate_default=True, description="its smallest step")
    empty_below: Mass = Field(
        "1 g", validate_default=True, description="a lighter load is an empty pan, not a vial"
    )
    stable_timeout: Timeout = Field(
        "30 s", validate_default=True, description="how long a weighing may wait to settle"
    )
    diagnostics: BalanceDiagnostics = Field(BalanceDiagnostics())

    @model_validator(mode="after")
    def _readable(self) -> BalanceSettings:
        if self.readability.m_as("g") <= 0 or self.readability >= self.capacity:
            raise ValueError(
                f"readability {self.readability:~P} must be above 0 and below the capacity"
            )
        return self


class BalanceKind(DeviceKind):
    """A Mettler Toledo balance on MT-SICS: it weighs the vial on its pan."""

    settings = BalanceSettings
    device = Balance
    capabilities = frozenset({Capability.HOLDS_VIAL, Capability.WEIGHS})
    checks = "sdl_balance.checks"

    def place(self, settings: BalanceSettings) -> str:
        """Its weighing pan."""
        return settings.pan

    def limits(self, settings: BalanceSettings) -> dict[str, Range]:
        """What it can weigh."""
        return {"mass": Range(0.0, float(settings.capacity.m_as("g")), "g")}

    def build(self, name: str, settings: BalanceSettings, wire: Wire, lab: Any) -> InstrumentDevice:
        """The balance on its line."""
        assert wire.line is not None
        stable = wire.lab_seconds(float(settings.stable_timeout.m_as("s")))
        driver = MtSicsDriver(wire.line, name, wire.timeout_s, stable)
        return Balance(driver, float(settings.empty_below.m_as("g")), name=name)

    def simulator(
        self, name: str, settings: BalanceSettings, parts: SimulatedParts
    ) -> BalanceFirmware:
        """An XPR-like balance whose pan is its place in the simulated workcell."""
        return BalanceFirmware(
            parts.clock,
            parts.workcell,
            settings.pan,
            capacity_g=float(settings.capacity.m_as("g")),
            readability_g=float(settings.readability.m_as("g")),
            check_weights={
                p: float(m.m_as("g")) for p, m in settings.diagnostics.check_weights.items()
            },
            seed=parts.settings.noise_seed,
        )


__all__ = ["BalanceDiagnostics", "BalanceKind", "BalanceSettings"]
