from devices.synthesis_station._device import Heater, Pump, Stirrer, SynthesisStation
from devices.synthesis_station._driver import AsciiStationDriver, StationDriver
from devices.synthesis_station._opcua import OpcuaSecurity, OpcuaStationDriver

__all__ = [
    "AsciiStationDriver",
    "Heater",
    "OpcuaSecurity",
    "OpcuaStationDriver",
    "Pump",
    "StationDriver",
    "Stirrer",
    "SynthesisStation",
]
