"""Typed device errors: each names the device and, where there is one, the command."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error a device raises. ``advice`` says what a person should check."""

    advice = ""

    def __init__(self, device: str, message: str, command: str | None = None) -> None:
        self.device = device
        self.command = command
        self.message = message
        where = f"{device}" + (f" (command {command!r})" if command else "")
        super().__init__(f"{where}: {message}")


class DeviceTimeout(DeviceError):
    """The instrument did not answer within the command's timeout."""

    advice = (
        "is it powered on and out of its error state, and are the baud rate and line ending right?"
    )


class DeviceDisconnected(DeviceError):
    """The link to the instrument is gone (port vanished, server down, not connected)."""

    advice = "check the cable or network, the port name or endpoint in the lab file, and power"


class DeviceBusy(DeviceError):
    """Another process owns the instrument's port."""

    advice = (
        "a campaign or the lab server is using it: stop that, or work through the lab "
        "server (dashboard or `lab remote`)"
    )


class DeviceRefused(DeviceError):
    """The instrument refused the connection: security policy, certificate or credentials."""

    advice = (
        "check that the server trusts this lab's certificate and offers the security mode "
        "asked for, the user name, and the password environment variable"
    )


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


def explain(err: DeviceError) -> str:
    """The error and what to check, in one line (for a command's last word)."""
    return f"{err}; {err.advice}" if err.advice else str(err)
