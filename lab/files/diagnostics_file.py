"""The diagnostics part of a lab file: what each device is expected to be, and the warn and
fail levels of every diagnostic figure, with units and defaults a new lab can start from.

The levels are data, not code, because they belong to the instrument on the bench: a
facility tightens them for a new arm and loosens them for an old lamp.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pint
from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices import format_quantity
from protocols._quantity_field import (
    CountRate,
    Counts,
    Duration,
    Fraction,
    HeatingRate,
    Length,
    Mass,
    Speed,
    Temperature,
    TemperatureSpan,
    Volume,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Levels(_Model):
    """Where a figure turns from pass to warn, and from warn to fail."""

    #: True where a larger figure is worse (noise, error); False where smaller is (intensity)
    larger_is_worse: ClassVar[bool] = True
    warn: Any
    fail: Any

    @model_validator(mode="after")
    def _ordered(self) -> _Levels:
        warn, fail = delta(self.warn), delta(self.fail)
        if (fail < warn) if self.larger_is_worse else (fail > warn):
            word = "above" if self.larger_is_worse else "below"
            raise ValueError(
                f"fail ({format_quantity(self.fail)}) must be {word} warn "
                f"({format_quantity(self.warn)}) or equal to it"
            )
        return self


def delta(q: pint.Quantity) -> pint.Quantity:
    """A temperature span written in degC means a difference, not a point on the scale.

    Args:
        q: a temperature, or any other quantity (returned as it is).
    """
    ureg = pint.get_application_registry()
    if q.units == ureg.degC:
        return ureg.Quantity(q.magnitude, "delta_degC")
    return q


class LengthLevels(_Levels):
    """Warn and fail levels of a length (a position error), larger is worse."""

    warn: Length
    fail: Length


class MassLevels(_Levels):
    """Warn and fail levels of a mass (a balance's repeatability, drift or error)."""

    warn: Mass
    fail: Mass


class FractionLevels(_Levels):
    """Warn and fail levels of a fraction (an error in %), larger is worse."""

    warn: Fraction
    fail: Fraction


class CountLevels(_Levels):
    """Warn and fail levels of detector counts, larger is worse."""

    warn: Counts
    fail: Counts


class DurationLevels(_Levels):
    """Warn and fail levels of a duration, longer is worse."""

    warn: Duration
    fail: Duration


class TemperatureSpanLevels(_Levels):
    """Warn and fail levels of a temperature span (K, or degC as a difference), larger is worse."""

    warn: TemperatureSpan
    fail: TemperatureSpan


class VolumeFloor(_Levels):
    """Warn and fail floors of a volume: less is worse."""

    larger_is_worse = False
    warn: Volume
    fail: Volume


class CountRateFloor(_Levels):
    """Warn and fail floors of a count rate: less light is worse."""

    larger_is_worse = False
    warn: CountRate
    fail: CountRate


class HeatingRateFloor(_Levels):
    """Warn and fail floors of a heating rate: slower is worse."""

    larger_is_worse = False
    warn: HeatingRate
    fail: HeatingRate


class ExpectedIdentity(_Model):
    """What the instrument must report itself as; a field left out is not checked."""

    model: str | None = Field(None, description="the model it must report")
    firmware: str | None = Field(
        None, description="the firmware version it must run (the version validated here)"
    )


class ArmDiagnostics(_Model):
    """Levels for the arm's checks. Moves go only between configured locations."""

    moves: int = Field(5, ge=2, le=100, description="moves into each location for repeatability")
    repeatability: LengthLevels = Field(
        LengthLevels(warn="0.05 mm", fail="0.1 mm"),
        description="spread of the arrival points at one location (largest distance "
        "from their mean)",
    )
    accuracy: LengthLevels = Field(
        LengthLevels(warn="0.5 mm", fail="1 mm"),
        description="distance of the mean arrival point from the taught coordinates",
    )
    gripper_cycle: DurationLevels = Field(
        DurationLevels(warn="4 s", fail="6 s"), description="time to close and open the gripper"
    )


class SpectrometerDiagnostics(_Model):
    """Levels for the spectrometer's checks, at one integration time."""

    integration_time: Duration = Field(
        "100 ms", validate_default=True, description="integration time of the checks"
    )
    dark_level: CountLevels = Field(
        CountLevels(warn="1000 count", fail="5000 count"),
        description="mean dark counts (shutter closed)",
    )
    dark_noise: CountLevels = Field(
        CountLevels(warn="50 count", fail="100 count"),
        description="standard deviation of the dark counts",
    )
    lamp_intensity: CountRateFloor = Field(
        CountRateFloor(warn="250 count/ms", fail="150 count/ms"),
        description="median reference counts per ms of integration (an aging lamp falls)",
    )
    wavelength_error: LengthLevels = Field(
        LengthLevels(warn="0.5 nm", fail="1.5 nm"),
        description="largest offset of a calibration-lamp line from its known wavelength",
    )
    linearity: FractionLevels = Field(
        FractionLevels(warn="2 %", fail="5 %"),
        description="largest deviation of counts from proportional to integration time",
    )
    saturation: FractionLevels = Field(
        FractionLevels(warn="80 %", fail="95 %"),
        description="peak reference counts as a fraction of full scale (headroom)",
    )


class StationDiagnostics(_Model):
    """Levels for the synthesis station's checks; they pump, heat and stir within its
    limits and leave it in its safe state."""

    prime_volume: Volume = Field(
        "0.5 mL", validate_default=True, description="pumped to the drain to prime each line"
    )
    reference_volume: Volume = Field(
        "2 mL", validate_default=True, description="pumped to the drain to check each pump"
    )
    volume_error: FractionLevels = Field(
        FractionLevels(warn="2 %", fail="5 %"),
        description="delivered (reservoir level fall) against commanded volume",
    )
    test_temperature: Temperature = Field(
        "40 degC", validate_default=True, description="setpoint of the heater checks"
    )
    hold: Duration = Field(
        "60 s", validate_default=True, description="how long stability is watched at it"
    )
    ramp_rate: HeatingRateFloor = Field(
        HeatingRateFloor(warn="3 K/min", fail="1.5 K/min"),
        description="mean heating rate from 10 % to 90 % of the step",
    )
    stability: TemperatureSpanLevels = Field(
        TemperatureSpanLevels(warn="0.3 K", fail="1 K"),
        description="peak-to-peak temperature once settled",
    )
    stir_speed: Speed = Field(
        "500 rpm", validate_default=True, description="speed of the stirrer check"
    )
    stir_error: FractionLevels = Field(
        FractionLevels(warn="3 %", fail="10 %"), description="measured against set speed"
    )
    reservoir_level: VolumeFloor = Field(
        VolumeFloor(warn="20 mL", fail="5 mL"), description="what each reservoir holds"
    )


#: simulated faults a lab file may ask for, to see the diagnostics catch them
Degradation = Literal[
    "aged_lamp", "noisy_detector", "drifting_pump", "slow_heater", "arm_offset", "wrong_firmware"
]

__all__ = [
    "ArmDiagnostics",
    "Degradation",
    "ExpectedIdentity",
    "SpectrometerDiagnostics",
    "StationDiagnostics",
    "delta",
]
