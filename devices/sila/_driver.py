"""A SiLA 2 server as an instrument: the ``sila2`` library's dynamic client (features
read from the server at connect, nothing generated), its blocking gRPC calls run off the
event loop, and SiLA's errors carried as our typed device errors."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from devices._errors import (
    DeviceDisconnected,
    DeviceError,
    DeviceFault,
    DeviceRefused,
    LimitViolation,
)

T = TypeVar("T")


class SilaDriver:
    """The link to one SiLA 2 server over TLS, and the lab's instrument questions
    (identity from its ``SiLAService``, state, emergency stop) answered by ``feature``.

    Args:
        name: the device's name, for errors.
        address: ``host:port`` of the server.
        feature: the feature the device needs (refused at connect if the server lacks it).
        root_certificate: PEM of the certificate authority the server's certificate must
            chain to; None: the system's trusted authorities.
        timeout: how long (real seconds) one call may take.
    """

    def __init__(
        self,
        name: str,
        address: str,
        feature: str,
        root_certificate: Path | bytes | None,
        timeout: float,
    ) -> None:
        self.name = name
        self.address = address
        self.feature_name = feature
        self.root_certificate = root_certificate
        self.timeout = timeout
        self._client: Any = None
        self._busy = 0

    @property
    def busy(self) -> bool:
        """A command is in flight (gRPC calls run side by side: a read never waits)."""
        return self._busy > 0

    @property
    def link(self) -> str:
        """SiLA 2 over TLS, and the server's address."""
        return f"SiLA 2 (TLS) {self.address}"

    @property
    def feature(self) -> Any:
        """The server's feature this device uses (the dynamic client's)."""
        if self._client is None:
            raise DeviceDisconnected(self.name, f"{self.link}: not connected")
        return getattr(self._client, self.feature_name)

    async def connect(self) -> None:
        """Open the channel and check the server offers :attr:`feature_name`."""
        host, _, port = self.address.rpartition(":")
        certificate = self.root_certificate
        if isinstance(certificate, Path):
            path = certificate
            try:
                certificate = path.read_bytes()
            except OSError as err:
                raise DeviceRefused(
                    self.name, f"cannot read the server's certificate {path}: {err.strerror}"
                ) from None

        def open_client() -> Any:
            from sila2.client import SilaClient

            return SilaClient(host, int(port), root_certs=certificate)

        try:
            client = await asyncio.wait_for(asyncio.to_thread(open_client), self.timeout)
        except Exception as err:
            # gRPC says only UNAVAILABLE: ask the TLS handshake itself what went wrong
            refused = await asyncio.to_thread(_tls_refusal, host, int(port), certificate)
            if refused is not None:
                raise DeviceRefused(
                    self.name,
                    f"{self.link}: the server's certificate was refused ({refused}); is the "
                    "certificate in the lab file the one the server's chains to?",
                    "connect",
                ) from None
            raise self._connection_error(err) from None
        if not hasattr(client, self.feature_name):
            offered = sorted(
                str(f).split("/")[-2] for f in client.SiLAService.ImplementedFeatures.get()
            )
            raise DeviceRefused(
                self.name,
                f"{self.link} does not offer the SiLA feature {self.feature_name!r}"
                + (f" (it offers {', '.join(offered)})" if offered else ""),
                "connect",
            )
        self._client = client

    def _connection_error(self, err: BaseException, command: str = "connect") -> DeviceError:
        text = str(err) or type(err).__name__
        if "certificate" in text.lower() or "ssl" in text.lower() or "handshake" in text.lower():
            return DeviceRefused(
                self.name,
                f"{self.link}: the TLS handshake failed ({_first_line(text)}); is the "
                "certificate in the lab file the one the server's chains to?",
                command,
            )
        return DeviceDisconnected(
            self.name, f"{self.link}: no SiLA 2 server answers ({_first_line(text)})", command
        )

    async def close(self) -> None:
        """Forget the client (its channel closes with it)."""
        self._client = None

    async def call(self, command: str, work: Callable[[], T]) -> T:
        """``work()`` (a blocking call of the dynamic client) in a thread, within the
        timeout; SiLA's errors as device errors naming ``command``."""
        from sila2.framework import (
            DefinedExecutionError,
            SilaConnectionError,
            UndefinedExecutionError,
            ValidationError,
        )

        self._busy += 1
        try:
            return await asyncio.wait_for(asyncio.to_thread(work), self.timeout)
        except TimeoutError:
            raise DeviceDisconnected(
                self.name, f"{self.link} did not answer within {self.timeout:g} s", command
            ) from None
        except ValidationError as err:
            raise LimitViolation(
                self.name, f"refused by the server: {err.message}", command
            ) from None
        except DefinedExecutionError as err:
            raise DeviceFault(self.name, f"{err.identifier}: {err.message}", command) from None
        except UndefinedExecutionError as err:
            raise DeviceFault(self.name, err.message, command) from None
        except SilaConnectionError as err:
            raise self._connection_error(err, command) from None
        except Exception as err:  # gRPC's own (the server went away mid-call)
            raise DeviceDisconnected(
                self.name, f"{self.link}: {_first_line(str(err) or type(err).__name__)}", command
            ) from None
        finally:
            self._busy -= 1

    async def identify(self) -> str:
        """``maker,model,serial,firmware`` from the server's ``SiLAService``: its vendor
        URL, type, UUID and version."""
        service = self._service()

        def ask() -> str:
            parts = (
                service.ServerVendorURL.get(),
                service.ServerType.get(),
                service.ServerUUID.get(),
                service.ServerVersion.get(),
            )
            return ",".join(str(p).replace(",", " ") for p in parts)

        return await self.call("identify", ask)

    def _service(self) -> Any:
        if self._client is None:
            raise DeviceDisconnected(self.name, f"{self.link}: not connected")
        return self._client.SiLAService

    async def state(self) -> str:
        """``estop`` while its emergency stop is latched, else ``idle``."""
        feature = self.feature
        stopped = await self.call("state", feature.EmergencyStopped.get)
        return "estop" if stopped else "idle"

    async def emergency_stop(self) -> None:
        """The server's ``EmergencyStop``, then its latch read back."""
        feature = self.feature
        await self.call("emergency stop", feature.EmergencyStop)
        if not await self.call("emergency stop", feature.EmergencyStopped.get):
            raise DeviceFault(self.name, "the emergency stop did not latch", "EmergencyStop")

    async def reset(self) -> None:
        """The server's ``Reset``."""
        await self.call("reset", self.feature.Reset)


def _tls_refusal(host: str, port: int, certificate: bytes | None) -> str | None:
    """Why a TLS handshake with ``host:port`` trusting ``certificate`` fails verification,
    or None (it succeeds, or nothing answers: not a certificate's fault)."""
    if certificate is not None:
        context = ssl.create_default_context(cadata=certificate.decode("ascii", "replace"))
    else:
        context = ssl.create_default_context()
    try:
        with (
            socket.create_connection((host, port), timeout=2.0) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as err:
        return str(err.verify_message)
    except (OSError, ValueError):
        return None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= 200 else line[:197] + "..."
