"""The simulated chemistry and instruments behave like the physics they stand for."""

from __future__ import annotations

import importlib.util

import numpy as np
import pint
import pytest

from simulators import (
    WAVELENGTHS_NM,
    ArmFirmware,
    DyeChemistry,
    Reservoir,
    SimClock,
    SpectrometerFirmware,
    StationFirmware,
)
from tests.conftest import EXAMPLES, small_workcell

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")
ureg = pint.get_application_registry()
WL = WAVELENGTHS_NM * ureg.nm
WARM = {"temperature": ureg.Quantity(25.0, "degC"), "stir_time": 0 * ureg.s}


def mix(**ml: float) -> dict[str, pint.Quantity]:
    return {k: v * ureg.mL for k, v in ml.items()}


def test_dilute_mixing_is_nearly_beer_lambert():
    chem = DyeChemistry()
    a1 = chem(mix(cyan=0.05, water=5.0), WARM, WL)
    a2 = chem(mix(cyan=0.10, water=5.0), WARM, WL)
    peak = np.argmax(a1)
    assert 600 < WAVELENGTHS_NM[peak] < 630  # main band at 625 nm, pulled by its shoulder
    assert a2[peak] / a1[peak] == pytest.approx(2.0, rel=0.05)


def test_concentrated_dye_saturates():
    chem = DyeChemistry()
    strong = chem(mix(cyan=5.0), WARM, WL)
    assert strong.max() < chem.saturation
    assert strong.max() < DyeChemistry.dyes[0].strength  # sub-linear at full strength


def test_complex_forms_with_stirring_and_heat():
    chem = DyeChemistry()
    band = np.argmin(abs(WAVELENGTHS_NM - 560))
    still = chem(mix(cyan=1, yellow=1), WARM, WL)[band]
    stirred = chem(mix(cyan=1, yellow=1), {**WARM, "stir_time": 120 * ureg.s}, WL)[band]
    hot = chem(
        mix(cyan=1, yellow=1),
        {"temperature": ureg.Quantity(70.0, "degC"), "stir_time": 120 * ureg.s},
        WL,
    )[band]
    assert still < stirred < hot


def test_target_spectrum_matches_its_hidden_recipe():
    spec = importlib.util.spec_from_file_location("make_target", EXAMPLES / "make_target.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = np.loadtxt(EXAMPLES / "target_spectrum.csv", delimiter=",")
    np.testing.assert_allclose(stored[:, 1], module.target(), atol=1e-5)


def test_clock_runs_faster_than_the_wall():
    clock = SimClock(speed=1000)
    t0 = clock.now()
    assert clock.now() - t0 < 5  # virtual seconds, with no sleep in between
    with pytest.raises(ValueError):
        SimClock(speed=0)


async def test_arm_moves_vials_and_reports_errors():
    clock, cell = small_workcell()
    arm = ArmFirmware(clock, cell, home="rack")
    assert await arm.handle("RELEASE") == "ERR gripper is empty"
    assert await arm.handle("GRIP") == "OK"
    assert (await arm.handle("HELD?")).startswith("OK V")
    assert await arm.handle("MOVE moon") == "ERR unknown location moon"
    assert await arm.handle("MOVE slot") == "OK"
    assert await arm.handle("RELEASE") == "OK"
    assert cell.vials_at["slot"] is not None
    assert await arm.handle("MOVE") == "ERR wrong number of arguments for MOVE"
    assert (await arm.handle("DANCE")).startswith("ERR unknown command")


async def test_station_refuses_overflow_and_tracks_conditions():
    clock, cell = small_workcell()
    station = StationFirmware(clock, cell, "slot", {1: Reservoir("cyan", 3.0)})
    assert await station.handle("DISP 1 1 10") == "ERR no vial in slot"
    cell.put("slot", cell.take("rack"))
    assert (await station.handle("DISP 1 4 10")).startswith("ERR reservoir cyan holds only")
    assert await station.handle("DISP 1 2.5 10") == "OK"
    assert await station.handle("LEVEL? 1") == "OK 0.5000"
    assert await station.handle("DISP 7 1 10") == "ERR no pump 7"
    assert await station.handle("DISP 1 x 10") == "ERR bad arguments for DISP: '1 x 10'"
    await station.handle("TEMP 60")
    await clock.sleep(600)  # ten time constants
    assert float((await station.handle("TEMP?")).split()[1]) == pytest.approx(60, abs=0.01)
    await station.handle("STIR 500")
    await clock.sleep(30)
    await station.handle("STIR 0")
    vial = cell.vials_at["slot"]
    assert vial.temperature_c == 60  # settled: booked at its setpoint, to the last bit
    assert vial.stir_time_s >= 30


async def test_a_timed_stir_stops_itself_and_stirs_exactly_its_run_time():
    clock, cell = small_workcell()
    station = StationFirmware(clock, cell, "slot", {1: Reservoir("cyan", 3.0)})
    cell.put("slot", cell.take("rack"))
    assert await station.handle("STIR 500 -1") == "ERR run time must be >= 0 (0: until told)"
    # a day and a bit of lab time: a tenth of a second on this clock
    assert await station.handle("STIR 500 100000.125") == "OK"
    assert await station.handle("STIR?") == "OK 500.0"
    await clock.sleep(200_000)  # the command to stop comes late: the timer has stopped it
    assert await station.handle("STIR?") == "OK 0.0"
    assert await station.handle("STIR 0") == "OK"
    assert cell.vials_at["slot"].stir_time_s == 100000.125  # not a hair more


async def test_spectrometer_measures_the_sample_in_its_holder():
    clock, cell = small_workcell()
    spec = SpectrometerFirmware(clock, cell, "holder", DyeChemistry(), seed=3)
    assert await spec.handle("ACQ") == "ERR no sample in holder"
    vial = cell.take("rack")
    vial.contents_ml = {"magenta": 0.5, "water": 4.0}
    cell.put("holder", vial)
    assert await spec.handle("INT 0") == "ERR integration time 0.0 ms outside 1..10000 ms"
    assert await spec.handle("ACQ") == "OK"
    reply = await spec.handle("DATA?")
    count, values = reply.removeprefix("OK ").split(" ", 1)
    data = np.array([float(v) for v in values.split(",")])
    assert data.size == int(count) == WAVELENGTHS_NM.size
    assert WAVELENGTHS_NM[np.argmax(data)] == pytest.approx(530, abs=12)
    # the instrument's noise is real: a second acquisition differs a little
    await spec.handle("ACQ")
    again = np.array([float(v) for v in (await spec.handle("DATA?")).split(" ", 2)[2].split(",")])
    assert 0 < np.abs(again - data).max() < 0.05


async def test_a_firmware_bug_faults_the_instrument_instead_of_silencing_it():
    """A ground truth that raises (any exception, ValueError included) is an instrument
    fault, reported as such and latched until a reset; malformed arguments stay the host's
    error."""
    clock, cell = small_workcell()

    def broken(composition, conditions, wavelengths):
        raise ValueError("model diverged")

    spec = SpectrometerFirmware(clock, cell, "holder", broken, seed=3)
    cell.put("holder", cell.take("rack"))
    assert await spec.handle("INT abc") == "ERR bad arguments for INT: 'abc'"
    assert await spec.handle("INT nan") == "ERR bad arguments for INT: 'nan'"
    reply = await spec.handle("ACQ")
    assert reply == "ERR internal fault in ACQ: ValueError: model diverged"
    assert (
        await spec.handle("STATE?") == "OK ERROR internal fault in ACQ: ValueError: model diverged"
    )
    assert (await spec.handle("INT 10")).startswith("ERR internal fault")
    assert await spec.handle("RESET") == "OK"
    assert await spec.handle("INT 10") == "OK"


async def test_a_hardware_error_outlives_a_reset():
    clock, cell = small_workcell()
    station = StationFirmware(clock, cell, "slot", {1: Reservoir("cyan", 3.0)})
    station.error_state = "pump 1 jammed"
    assert await station.handle("RESET") == "ERR pump 1 jammed"
    assert await station.handle("STIR 100") == "ERR pump 1 jammed"
