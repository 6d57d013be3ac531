"""Typed device errors: each names the device and, where there is one, the command."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error a device raises."""

    def __init__(self, device: str, message: str, command: str | None = None) -> None:
        self.device = device
        self.command = command
        self.message = message
        where = f"{device}" + (f" (command {command!r})" if command else "")
        super().__init__(f"{where}: {message}")


class DeviceTimeout(DeviceError):
    """The instrument did not answer within the command's timeout."""


class DeviceDisconnected(DeviceError):
    """The link to the instrument is gone (port vanished, server down, not connected)."""


class DeviceBusy(DeviceError):
    """Another process owns the instrument's port."""


class DeviceRefused(DeviceError):
    """The instrument refused the connection: security policy, certificate or credentials."""


class ProtocolError(DeviceError):
    """The instrument answered something the protocol does not allow."""


class DeviceFault(DeviceError):
    """The instrument answered, and reported an error of its own."""


class UnsafeState(DeviceFault):
    """The device could not be brought to its safe state, or it could not be confirmed:
    nobody may take it for safe until someone has looked."""


class LimitViolation(DeviceError, ValueError):
    """A request outside the device's limits, refused before anything was sent."""


class UnitError(DeviceError, ValueError):
    """A value without units, or with units of the wrong dimension."""
