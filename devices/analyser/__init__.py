from devices.analyser._device import Analyser
from devices.analyser._driver import AnalyserDriver, AsciiAnalyserDriver

__all__ = ["Analyser", "AnalyserDriver", "AsciiAnalyserDriver"]
