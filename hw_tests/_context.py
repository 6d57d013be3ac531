"""What a check is given: the connected lab, its device, that device's lab-file entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from devices import Clock, InstrumentDevice
from lab.files.device_kinds import DeviceSettings
from lab.runtime.lab import Lab

D = TypeVar("D", bound=InstrumentDevice)
C = TypeVar("C", bound=DeviceSettings)


@dataclass
class CheckContext(Generic[D, C]):
    """A check's view of the lab. ``saved`` keeps what a check changed and the suite's
    ``leave_safe`` puts back (e.g. the spectrometer's integration time)."""

    lab: Lab
    device: D
    config: C
    saved: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The device's name."""
        return self.device.name

    @property
    def clock(self) -> Clock:
        """Lab time (the simulation's clock, or the wall)."""
        return self.lab.clock
