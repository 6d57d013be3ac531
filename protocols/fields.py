"""Field types of files and protocol steps: a quantity written with its unit (``"2.5 mL"``)
or a ``{placeholder}`` in a protocol template, each bounded to the range any lab would
use, and a name (``NameOrChoice``: or a ``{placeholder}`` a campaign's choice fills, such
as a named method of an instrument). A package's own step or device settings use these,
so its files read and fail like ours."""

from protocols._name_field import Name, NameOrChoice
from protocols._quantity_field import (
    Duration,
    Fraction,
    Length,
    Mass,
    Speed,
    Temperature,
    Timeout,
    Volume,
    VolumeRate,
)

__all__ = [
    "Duration",
    "Fraction",
    "Length",
    "Mass",
    "Name",
    "NameOrChoice",
    "Speed",
    "Temperature",
    "Timeout",
    "Volume",
    "VolumeRate",
]
