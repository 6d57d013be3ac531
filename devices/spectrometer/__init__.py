from devices.spectrometer._device import IntegrationTime, Spectrometer
from devices.spectrometer._driver import AsciiSpectrometerDriver, SpectrometerDriver

__all__ = ["AsciiSpectrometerDriver", "IntegrationTime", "Spectrometer", "SpectrometerDriver"]
