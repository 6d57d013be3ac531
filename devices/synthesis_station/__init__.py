from devices.synthesis_station._device import Heater, Pump, Stirrer, SynthesisStation
from devices.synthesis_station._driver import AsciiStationDriver, StationDriver

__all__ = ["AsciiStationDriver", "Heater", "Pump", "StationDriver", "Stirrer", "SynthesisStation"]
