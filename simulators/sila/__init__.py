"""Simulated SiLA 2 instruments: the ``sila2`` library's own server on this machine, over
TLS, serving the features the lab's SiLA devices use."""

from simulators.sila._heating_block import BlockPhysics, SilaHeatingBlockServer

__all__ = ["BlockPhysics", "SilaHeatingBlockServer"]
