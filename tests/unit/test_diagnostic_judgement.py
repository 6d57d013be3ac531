"""How a diagnostic figure is judged: levels in any unit, floors and ceilings, temperature
spans, line centres found to a fraction of a pixel, identities parsed."""

from __future__ import annotations

import numpy as np
import pint
import pytest
from pydantic import ValidationError

from devices import Identity
from hw_tests._result import judged
from hw_tests.spectrometer import _line_centre
from hw_tests.station import ramp_rate
from lab.files.diagnostics_file import (
    CountRateFloor,
    LengthLevels,
    StationDiagnostics,
    TemperatureSpanLevels,
)

ureg = pint.get_application_registry()


@pytest.mark.parametrize(
    ("measured", "status"),
    [(40 * ureg.um, "pass"), (0.07 * ureg.mm, "warn"), (150 * ureg.um, "fail")],
)
def test_a_ceiling_is_judged_in_the_levels_unit(measured, status):
    result = judged(
        "arm", "repeatability", measured, LengthLevels(warn="0.05 mm", fail="100 um"), "hint"
    )
    assert result.status == status
    assert result.unit == "mm" and result.fail == "0.1 mm"  # both levels in one unit
    assert (result.hint == "") == (status == "pass")


def test_a_floor_fails_below_its_level():
    levels = CountRateFloor(warn="250 count/ms", fail="150 count/ms")
    assert judged("s", "lamp", 120 * ureg.count / ureg.ms, levels, "h").status == "fail"
    assert judged("s", "lamp", 200000 * ureg.count / ureg.s, levels, "h").status == "warn"


def test_levels_in_the_wrong_order_or_dimension_are_refused():
    with pytest.raises(ValidationError, match="must be above warn"):
        LengthLevels(warn="1 mm", fail="0.5 mm")
    with pytest.raises(ValidationError, match="must be below warn"):
        CountRateFloor(warn="100 count/ms", fail="200 count/ms")
    with pytest.raises(ValidationError, match="wrong dimension"):
        StationDiagnostics(reference_volume="2 s")


def test_a_temperature_span_in_degc_is_a_difference():
    levels = TemperatureSpanLevels(warn="0.3 degC", fail="1 degC")
    assert judged("station", "stability", 0.5 * ureg.K, levels, "h").status == "warn"


def test_a_line_centre_is_found_between_pixels():
    wavelengths = 380.0 + 4.0 * np.arange(101)
    sigma = 6.0 / 2.3548
    counts = 1000 * np.exp(-0.5 * ((wavelengths - 546.074) / sigma) ** 2)
    assert _line_centre(wavelengths, counts, 546.074) == pytest.approx(546.074, abs=1e-6)
    assert _line_centre(wavelengths, np.zeros(101), 546.074) is None  # no line there


def test_ramp_rate_between_10_and_90_percent():
    samples = [(t, 25.0 + 15.0 * min(t / 60.0, 1.0)) for t in range(0, 120, 2)]  # 15 K/min
    assert ramp_rate(samples, 25.0, 40.0) == pytest.approx(15.0, rel=0.05)


def test_identity_is_parsed_from_an_idn_reply():
    identity = Identity.parse("SDL-Sim,UVVis,SN3001,1.0")
    assert (identity.model, identity.serial_number, identity.firmware) == ("UVVis", "SN3001", "1.0")
    assert Identity.parse("Acme Pump v2").model == "Acme Pump v2"  # another convention, kept
