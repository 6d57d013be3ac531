"""A plate reader (BMG CLARIOstar, Byonoy, Molecular Devices, or a simulator) through PyLabRobot."""

from devices.plate_reader._device import PlateReader

__all__ = ["PlateReader"]
