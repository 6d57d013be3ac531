"""Devices on SiLA 2 servers, through the ``sila2`` library's dynamic client: a server's
features are read when it connects; :class:`SilaDriver` carries SiLA's errors as the
lab's typed device errors."""

from devices.sila._driver import SilaDriver
from devices.sila._heating_block import FEATURE, SilaHeatingBlock

__all__ = ["FEATURE", "SilaDriver", "SilaHeatingBlock"]
