"""Regenerate target_spectrum.csv: the true spectrum of a hidden recipe under the demo's
default chemistry. Run: python examples/colour_match/make_target.py"""

from pathlib import Path

import numpy as np
import pint

from simulators import WAVELENGTHS_NM, DyeChemistry

ureg = pint.get_application_registry()

HIDDEN_RECIPE = {"cyan": 1.2, "magenta": 0.6, "yellow": 1.8, "water": 2.0}  # mL
CONDITIONS = {
    "temperature": ureg.Quantity(55.0, "degC"),
    "stir_time": 60 * ureg.s,
    "stir_speed": 600 * ureg.rpm,
}


def target() -> np.ndarray:
    composition = {k: v * ureg.mL for k, v in HIDDEN_RECIPE.items()}
    return DyeChemistry()(composition, CONDITIONS, WAVELENGTHS_NM * ureg.nm)


if __name__ == "__main__":
    out = Path(__file__).with_name("target_spectrum.csv")
    rows = np.column_stack([WAVELENGTHS_NM, target()])
    np.savetxt(out, rows, delimiter=",", fmt="%.6f", header="wavelength_nm,absorbance")
    print(f"wrote {out}")
