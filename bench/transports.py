"""Read latency of one signal through each transport the lab speaks, side by side in one
run: a serial line (a pty), OPC UA (SignAndEncrypt), EPICS Channel Access and EPICS PV
Access (a real soft IOC on this machine), and SiLA 2 (TLS, the sila2 library's server).
Each read asks the instrument afresh (``get_value(cached=False)``), through the device's
own signal. Then the emergency stop of a lab that holds the EPICS and SiLA 2 blocks,
devices only (goal: p95 <= 200 ms).

    python -m bench.transports [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._lab import with_facility_devices
from bench._report import percentiles, publish
from devices import HeatingBlock, InstrumentDevice
from lab.files.lab_file import load_lab_config
from lab.runtime.lab import build_lab
from lab.runtime.process import LabProcess

ROOT = Path(__file__).resolve().parent.parent


def _setpoint(block: InstrumentDevice) -> Any:
    """A heating block's setpoint signal (the lab file's ``others`` are typed as any
    instrument)."""
    assert isinstance(block, HeatingBlock)
    return block.heater.setpoint


def _lab(folder: Path) -> Path:
    """The colour-matching lab (arm and spectrometer on ptys, station over OPC UA) with a
    heating block over EPICS CA, one over PVA and one on a SiLA 2 server."""
    shutil.copytree(ROOT / "examples" / "colour_match", folder)
    return with_facility_devices(folder / "lab.yaml")


def main(quick: bool) -> dict[str, Any]:
    reads = 50 if quick else 500
    stops = 5 if quick else 30
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sdl-bench-") as tmp:
        lab = build_lab(load_lab_config(_lab(Path(tmp) / "lab")))
        try:
            d = lab.devices
            signals = {
                "serial (pty), the spectrometer's integration time": d.spectrometer.integration.setpoint,
                "OPC UA SignAndEncrypt, the station's setpoint": d.station.heater.setpoint,
                "EPICS Channel Access, the block's setpoint": _setpoint(d.others["block"]),
                "EPICS PV Access, the block's setpoint": _setpoint(d.others["block_pva"]),
                "SiLA 2 (TLS), the block's setpoint": _setpoint(d.others["block_sila"]),
            }
            for label, signal in signals.items():
                for _ in range(5):  # the first reads open what they need
                    lab.call(signal.get_value(cached=False))
                times = []
                for _ in range(reads):
                    start = time.perf_counter()
                    lab.call(signal.get_value(cached=False))
                    times.append(time.perf_counter() - start)
                results[label] = percentiles(times)
            process = LabProcess.of(lab)
            try:
                times = []
                for _ in range(stops):
                    start = time.perf_counter()
                    report = process.emergency_stop("bench")
                    times.append(time.perf_counter() - start)
                    assert all(a == "safe" for a in report.devices.values()), report.devices
                    process.safety.reset()
                results["emergency stop, the EPICS and SiLA 2 blocks in the lab"] = percentiles(
                    times
                )
            finally:
                process.close()
        finally:
            lab.close()
    table = "\n".join(
        [
            "## Transports: one read, and the emergency stop with EPICS and SiLA 2 devices",
            "",
            "| through | p50 (ms) | p95 (ms) | max (ms) | n |",
            "|---|---|---|---|---|",
            *(
                f"| {label} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['n']} |"
                for label, r in results.items()
            ),
        ]
    )
    notes = (
        "Each read is one `get_value(cached=False)` of a device's own signal, timed from the "
        "bench's thread (so the hop onto the devices' event loop is in it): a query and its "
        "reply on the serial line; an OPC UA Read in a SignAndEncrypt session; a CA get and "
        "a PVA get from EPICS base's soft IOC (epicscorelibs) on loopback; a SiLA 2 property "
        "get over TLS (the dynamic client's blocking call, in a thread). The emergency stop "
        "is the lab's own (every device at once, each confirming), with the lab idle, the "
        "two EPICS blocks latching their stop PV and reading it back, the SiLA 2 block calling "
        "EmergencyStop and reading EmergencyStopped back; goal p95 <= 200 ms."
    )
    publish("transports", results, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fifty reads each, not five hundred")
    main(parser.parse_args().quick)
