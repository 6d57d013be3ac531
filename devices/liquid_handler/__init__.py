"""A liquid handler (Hamilton STAR, Opentrons, Tecan EVO, or a simulator) through PyLabRobot."""

from devices.liquid_handler._device import Labware, LiquidHandler, Reservoirs, deck_limits

__all__ = ["Labware", "LiquidHandler", "Reservoirs", "deck_limits"]
