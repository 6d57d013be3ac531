"""A simulated UV-Vis spectrometer with a CCD: integration time, dark current, noise."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pint

from simulators.chemistry import WAVELENGTHS_NM, GroundTruth
from simulators.clock import SimClock
from simulators.firmware._base import FirmwareError, LineFirmware
from simulators.workcell import Workcell

ureg = pint.get_application_registry()


class SpectrometerFirmware(LineFirmware):
    """Commands: ``INT <ms>``, ``INT?``, ``WL?``, ``ACQ``, ``DATA?``, ``SAT?``, ``VIAL?``,
    the service acquisitions ``DARK`` (shutter closed), ``REF`` (lamp through the empty
    path) and ``LAMP`` (the built-in mercury calibration lamp), whose raw counts ``RAW?``
    returns, ``FS?`` (the detector's full scale), and the common ``STATE?``, ``RESET``,
    ``ESTOP``.

    ``ACQ`` integrates the vial in the cuvette holder for the set time; ``DATA?`` returns
    the absorbance spectrum as ``<n> <a1>,<a2>,...``. Counts follow the sample's true
    transmittance plus stray light, dark current, shot and read noise, and saturate at the
    detector's full scale, so too long an integration gives a wrong spectrum, as it would.
    """

    model, serial_number = "UVVis", "SN3001"
    full_scale = 65535.0
    #: the calibration lamp's emission lines (Hg, nm) and their width (FWHM, nm)
    lamp_lines_nm = (404.656, 435.833, 546.074, 576.960)
    lamp_line_fwhm_nm = 6.0
    #: above this absorbance too little light passes for the reading to mean anything
    photometric_max_au = 2.0

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        holder: str,
        ground_truth: GroundTruth,
        wavelengths_nm: np.ndarray = WAVELENGTHS_NM,
        counts_per_ms: float = 400.0,
        dark_counts_per_ms: float = 2.0,
        read_noise: float = 15.0,
        stray_light: float = 0.002,
        seed: int = 0,
    ) -> None:
        super().__init__(clock)
        self.workcell = workcell
        self.holder = holder
        self.ground_truth = ground_truth
        self.wavelengths_nm = np.asarray(wavelengths_nm, dtype=float)
        self.counts_per_ms = counts_per_ms
        self.dark_counts_per_ms = dark_counts_per_ms
        self.read_noise = read_noise
        self.stray_light = stray_light
        self.integration_ms = 100.0
        #: degradation: the lamp's output relative to new (an aged lamp gives less light)
        self.lamp_output = 1.0
        self.raw: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)
        self.data: np.ndarray | None = None
        self.saturated = 0
        self.commands.update(
            {
                "SAT?": self._saturated,
                "INT": self._set_int,
                "INT?": self._int,
                "WL?": self._wl,
                "ACQ": self._acquire,
                "DATA?": self._data,
                "VIAL?": self._vial,
                "DARK": self._dark,
                "REF": self._ref,
                "LAMP": self._lamp,
                "RAW?": self._raw,
                "FS?": self._full_scale,
            }
        )

    async def _set_int(self, ms: float) -> None:
        if not 1.0 <= ms <= 10000.0:
            raise FirmwareError(f"integration time {ms} ms outside 1..10000 ms")
        self.integration_ms = ms

    async def _int(self) -> str:
        return f"{self.integration_ms:.3f}"

    async def _wl(self) -> str:
        wl = self.wavelengths_nm
        return f"{wl[0]:.3f},{wl[1] - wl[0]:.3f},{wl.size}"

    def _counts(self, transmittance: np.ndarray) -> np.ndarray:
        signal = self.counts_per_ms * self.lamp_output * self.integration_ms
        mean = signal * (transmittance + self.stray_light) / (1 + self.stray_light)
        return self._detector(mean)

    def _detector(self, light: np.ndarray) -> np.ndarray:
        """Counts for ``light`` (mean counts per pixel): dark current, shot and read
        noise, clipped at full scale."""
        mean = light + self.dark_counts_per_ms * self.integration_ms
        noisy = mean + self.rng.normal(0.0, np.sqrt(mean) + self.read_noise)
        return np.clip(noisy, 0.0, self.full_scale)

    async def _dark(self) -> None:
        await self.busy_for(self.integration_ms / 1000.0)
        self.raw = self._detector(np.zeros_like(self.wavelengths_nm))

    async def _ref(self) -> None:
        await self.busy_for(self.integration_ms / 1000.0)
        self.raw = self._counts(np.ones_like(self.wavelengths_nm))

    async def _lamp(self) -> None:
        await self.busy_for(self.integration_ms / 1000.0)
        sigma = self.lamp_line_fwhm_nm / (2 * np.sqrt(2 * np.log(2)))
        peak = 0.5 * self.counts_per_ms * self.integration_ms
        light = sum(
            peak * np.exp(-0.5 * ((self.wavelengths_nm - line) / sigma) ** 2)
            for line in self.lamp_lines_nm
        )
        self.raw = self._detector(np.asarray(light))

    async def _raw(self) -> str:
        if self.raw is None:
            raise FirmwareError("no raw data: DARK, REF or LAMP first")
        return f"{self.raw.size} " + ",".join(f"{c:.1f}" for c in self.raw)

    async def _full_scale(self) -> str:
        return f"{self.full_scale:.0f}"

    async def _acquire(self) -> None:
        vial = self.workcell.vials_at.get(self.holder)
        if vial is None:
            raise FirmwareError("no sample in holder")
        await self.busy_for(2 * self.integration_ms / 1000.0)  # reference + sample
        composition = {k: v * ureg.mL for k, v in vial.contents_ml.items()}
        conditions = vial.conditions()
        truth = self.ground_truth(composition, conditions, self.wavelengths_nm * ureg.nm)
        if isinstance(truth, Mapping):
            raise FirmwareError("the lab's chemistry gives named quantities, not a spectrum")
        absorbance = np.asarray(truth, dtype=float)
        dark = self.dark_counts_per_ms * self.integration_ms
        raw_reference = self._counts(np.ones_like(absorbance))
        raw_sample = self._counts(10.0 ** (-absorbance))
        reference, sample = raw_reference - dark, raw_sample - dark
        ratio = np.clip(sample, 1.0, None) / np.clip(reference, 1.0, None)
        self.data = -np.log10(ratio)
        full = (raw_reference >= self.full_scale) | (raw_sample >= self.full_scale)
        self.saturated = int(np.sum(full | (self.data > self.photometric_max_au)))

    async def _data(self) -> str:
        if self.data is None:
            raise FirmwareError("no data: acquire first")
        return f"{self.data.size} " + ",".join(f"{a:.5f}" for a in self.data)

    async def _saturated(self) -> str:
        return str(self.saturated)

    async def _vial(self) -> str:
        vial = self.workcell.vials_at.get(self.holder)
        return "NONE" if vial is None else vial.id
