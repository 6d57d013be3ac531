"""An analytical balance for the SDL lab, as a package of its own: a Mettler Toledo
balance speaking MT-SICS over serial (``S``, ``SI``, ``Z``, ``T``, ``I2``-``I4``, ``@``),
its wire simulator, its diagnostics and a ``weigh`` protocol step.

Nothing in the lab names it: installing it registers the device kind
``mt_sics_balance`` and the step ``weigh`` (see pyproject.toml).
"""

from sdl_balance._device import Balance
from sdl_balance._mt_sics import MtSicsDriver, MtSicsError

__all__ = ["Balance", "MtSicsDriver", "MtSicsError"]
