"""The diagnostics suite as a pytest run, for facility staff: each device of the lab file
given with ``--hardware-lab`` must pass (warnings are printed, not failed).

    pytest -m hardware --hardware-lab /etc/sdl/lab.yaml

Without the option it runs against the simulated example lab, as CI does.
"""

from __future__ import annotations

import pytest

from hw_tests import diagnose
from lab.files.lab_file import load_lab_config
from lab.runtime.lab import build_lab

pytestmark = pytest.mark.hardware


@pytest.fixture(scope="module")
def diagnosis(hardware_lab):
    running = build_lab(load_lab_config(hardware_lab), connect=False)
    try:
        yield diagnose(running)
    finally:
        running.close()


@pytest.mark.parametrize("device", ["arm", "station", "spectrometer"])
def test_device_passes_its_diagnostics(diagnosis, device: str):
    results = [r for r in diagnosis.results if r.device == device]
    assert results, f"no device {device!r} in the lab file"
    for r in results:
        if r.status == "warn":
            print(f"warn {device} {r.check}: {r.value} (warn {r.warn}). {r.hint}")
    failed = [f"{r.check}: {r.value} ({r.hint})" for r in results if r.status == "fail"]
    assert not failed, failed
