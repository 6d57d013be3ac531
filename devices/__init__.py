"""ophyd-async devices for the lab's instruments, and the transports that reach them.

Device classes hold logic and limits; drivers are the codecs of each instrument's
protocol; transports move bytes. Swap the transport in the lab config, not the device.
"""

import importlib
from typing import TYPE_CHECKING, Any

from devices._capability import Capability
from devices._clock import Clock, WallClock
from devices._errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceFault,
    DeviceRefused,
    DeviceTimeout,
    LimitViolation,
    ProtocolError,
    UnitError,
    UnsafeState,
    explain,
)
from devices._quantity import (
    DeviceValue,
    Range,
    format_quantity,
    magnitude,
    parse_quantity,
    quantity_text,
    unit_symbol,
)
from devices._resource_lock import ResourceLock, lock_directory
from devices._serial_transport import SerialTransport
from devices._transport import InProcessTransport, Transport

if TYPE_CHECKING:
    from devices._block import BlockHeater, HeatingBlock
    from devices._instrument import (
        Identity,
        InputState,
        InstrumentDevice,
        InstrumentDriver,
        signal_paths,
    )
    from devices._movable import ChoiceMove, InstrumentMovable, RangeMove
    from devices._signals import (
        SharedQuery,
        instrument_action,
        instrument_command,
        instrument_r,
        instrument_rw,
    )
    from devices.analyser import Analyser, AnalyserDriver, AsciiAnalyserDriver
    from devices.robotic_arm import ArmDriver, AsciiArmDriver, Gripper, RoboticArm
    from devices.spectrometer import AsciiSpectrometerDriver, Spectrometer, SpectrometerDriver
    from devices.synthesis_station import (
        AsciiStationDriver,
        Heater,
        OpcuaSecurity,
        OpcuaStationDriver,
        Pump,
        StationDriver,
        Stirrer,
        SynthesisStation,
    )
    from devices.timer import Timer

#: the devices and drivers (ophyd-async, asyncua) load when first asked for, so that the
#: errors and quantities above cost a command line nothing
_HOMES = {
    **dict.fromkeys(
        ("Identity", "InputState", "InstrumentDevice", "InstrumentDriver", "signal_paths"),
        "devices._instrument",
    ),
    **dict.fromkeys(("Analyser", "AnalyserDriver", "AsciiAnalyserDriver"), "devices.analyser"),
    **dict.fromkeys(
        ("ArmDriver", "AsciiArmDriver", "Gripper", "RoboticArm"), "devices.robotic_arm"
    ),
    **dict.fromkeys(
        ("AsciiSpectrometerDriver", "Spectrometer", "SpectrometerDriver"), "devices.spectrometer"
    ),
    **dict.fromkeys(
        (
            "AsciiStationDriver",
            "Heater",
            "OpcuaSecurity",
            "OpcuaStationDriver",
            "Pump",
            "StationDriver",
            "Stirrer",
            "SynthesisStation",
        ),
        "devices.synthesis_station",
    ),
    "Timer": "devices.timer",
    **dict.fromkeys(("BlockHeater", "HeatingBlock"), "devices._block"),
    **dict.fromkeys(("ChoiceMove", "InstrumentMovable", "RangeMove"), "devices._movable"),
    **dict.fromkeys(
        ("SharedQuery", "instrument_action", "instrument_command", "instrument_r", "instrument_rw"),
        "devices._signals",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'devices' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "Analyser",
    "AnalyserDriver",
    "ArmDriver",
    "AsciiAnalyserDriver",
    "AsciiArmDriver",
    "AsciiSpectrometerDriver",
    "AsciiStationDriver",
    "BlockHeater",
    "Capability",
    "ChoiceMove",
    "Clock",
    "DeviceBusy",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceFault",
    "DeviceRefused",
    "DeviceTimeout",
    "DeviceValue",
    "Gripper",
    "Heater",
    "HeatingBlock",
    "Identity",
    "InProcessTransport",
    "InputState",
    "InstrumentDevice",
    "InstrumentDriver",
    "InstrumentMovable",
    "LimitViolation",
    "OpcuaSecurity",
    "OpcuaStationDriver",
    "ProtocolError",
    "Pump",
    "Range",
    "RangeMove",
    "ResourceLock",
    "RoboticArm",
    "SerialTransport",
    "SharedQuery",
    "Spectrometer",
    "SpectrometerDriver",
    "StationDriver",
    "Stirrer",
    "SynthesisStation",
    "Timer",
    "Transport",
    "UnitError",
    "UnsafeState",
    "WallClock",
    "explain",
    "format_quantity",
    "instrument_action",
    "instrument_command",
    "instrument_r",
    "instrument_rw",
    "lock_directory",
    "magnitude",
    "parse_quantity",
    "quantity_text",
    "signal_paths",
    "unit_symbol",
]
