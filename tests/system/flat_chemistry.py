"""A drop-in ground truth for tests: every sample absorbs 0.3 AU everywhere, whatever the
recipe, so a test can tell that the lab used it instead of the default dye model."""

import numpy as np


def flat(composition, conditions, wavelengths):
    assert all(q.check("[volume]") for q in composition.values())
    assert conditions["temperature"].check("[temperature]")
    return np.full(len(wavelengths), 0.3)


def broken(composition, conditions, wavelengths):
    """A detector that returns no number: every measurement is NaN, every trial fails."""
    return np.full(len(wavelengths), np.nan)
