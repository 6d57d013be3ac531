"""The synthesis station's driver over OPC UA (asyncua), for PLC-controlled stations.

Readings the heater and the interlocks wait on arrive by subscription (the interlock
inputs with the rising edges the PLC latched on each); commands are OPC UA method calls
that return an error text and an operation number. A dispense runs on the PLC after the
call returns; its own result (in ``Results``, by operation number) arrives by
subscription, so no operation is ever handed another's error. asyncua's supervisor
reconnects after the server restarts and re-creates the subscription. Security is Basic256Sha256 (Sign or SignAndEncrypt)
with certificates and user/password; an unsecured link must be allowed explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from devices._errors import DeviceDisconnected, DeviceFault, DeviceRefused, DeviceTimeout
from devices._instrument import InputState
from devices._resource_lock import ResourceLock

NAMESPACE = "urn:sdl:synthesis-station"
#: a subscribed value older than this is read again rather than trusted
FRESH_S = 0.5
log = logging.getLogger(__name__)
_MODES = {
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
    "Sign": ua.MessageSecurityMode.Sign,
}


@dataclass(frozen=True)
class OpcuaSecurity:
    """How an OPC UA session is secured: message security mode, this lab's certificate and key, the server certificate to pin, and the user's name and password."""

    mode: Literal["SignAndEncrypt", "Sign", "None"] = "SignAndEncrypt"
    certificate: Path | None = None  # this client's certificate (DER or PEM)
    private_key: Path | None = None
    server_certificate: Path | None = None  # pin the server; None: take it from the endpoint
    username: str | None = None
    password: str | None = None
    allow_insecure: bool = False
    application_uri: str = "urn:sdl:lab-client"


class OpcuaStationDriver:
    """The synthesis station as a PLC over OPC UA (asyncua): methods start operations, each with its own result; readings come from a subscription while it is fresh, else from a read."""

    def __init__(
        self,
        endpoint: str,
        device: str,
        security: OpcuaSecurity,
        timeout: float = 5.0,
        method_timeout: float = 600.0,
    ) -> None:
        self.endpoint = endpoint
        self._device = device
        self._security = security
        self._timeout = timeout
        self._method_timeout = method_timeout
        self._client: Client | None = None
        self._station: Any = None
        self._ns = 0
        self._values: dict[Any, Any] = {}
        self._received: dict[Any, float] = {}
        self._temperature_node: Any = None
        self._results_node: Any = None
        #: the subscribed interlock nodes: input -> (level node, latched rising edges node)
        self._input_nodes: dict[str, tuple[Any, Any]] = {}
        #: operation number -> its error ('' for success), the PLC's window of recent results
        self._results: dict[int, str] = {}
        self._completed = asyncio.Event()
        self._pending = 0
        self._claim = ResourceLock.for_endpoint(endpoint, device)

    # --- connection ------------------------------------------------------------------
    async def connect(self) -> None:
        """Open a secured session (certificate, user, password), browse the station and subscribe; typed errors for each way it can fail."""
        self._claim.acquire()  # held until close()
        sec = self._security
        client = Client(
            self.endpoint,
            timeout=self._timeout + 5.0,  # our own timeouts speak first, typed
            # a server silent for 1.5 intervals is declared lost: after our timeout, not before
            watchdog_intervall=max(self._timeout, 0.5),
            auto_reconnect=True,
            reconnect_max_delay=1.0,
            reconnect_request_timeout=self._timeout,
        )
        client.application_uri = sec.application_uri
        try:
            if sec.mode == "None":
                if not sec.allow_insecure:
                    raise DeviceRefused(
                        self._device,
                        f"{self.endpoint}: refusing an unsecured OPC UA link; set "
                        "security.mode to Sign or SignAndEncrypt, or allow_insecure: true",
                    )
                log.warning(
                    "%s: OPC UA link to %s is NOT secured (allow_insecure is set)",
                    self._device,
                    self.endpoint,
                )
            else:
                if sec.certificate is None or sec.private_key is None:
                    raise DeviceRefused(self._device, "security needs certificate and private_key")
                await asyncio.wait_for(
                    client.set_security(
                        SecurityPolicyBasic256Sha256,
                        str(sec.certificate),
                        str(sec.private_key),
                        server_certificate=str(sec.server_certificate)
                        if sec.server_certificate
                        else None,
                        mode=_MODES[sec.mode],
                    ),
                    self._timeout,
                )
            if sec.username is not None:
                client.set_user(sec.username)
                client.set_password(sec.password or "")
            await asyncio.wait_for(client.connect(), self._timeout)
        except DeviceRefused:
            raise
        except (ua.UaError, ValueError) as err:
            raise DeviceRefused(
                self._device, f"{self.endpoint} refused the session: {err}"
            ) from None
        except (OSError, TimeoutError) as err:
            raise DeviceDisconnected(self._device, f"cannot reach {self.endpoint}: {err}") from None
        self._client = client
        async with self._typed("browsing the address space"):
            self._ns = await client.get_namespace_index(NAMESPACE)
            self._station = await client.nodes.objects.get_child(f"{self._ns}:SynthesisStation")
            self._temperature_node = await self._child("Temperature")
            self._results_node = await self._child("Results")
            self._input_nodes = {
                name: (await self._child(level), await self._child(trips))
                for name, level, trips in (
                    ("door_open", "DoorOpen", "DoorTrips"),
                    ("leak", "Leak", "LeakTrips"),
                )
            }
            inputs = [node for pair in self._input_nodes.values() for node in pair]
            subscription = await client.create_subscription(50, self)
            await subscription.subscribe_data_change(
                [self._temperature_node, self._results_node, *inputs]
            )

    async def close(self) -> None:
        """Close the session and release the claim on the endpoint."""
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(OSError, ua.UaError, ConnectionError, TimeoutError):
                await client.disconnect()
        self._claim.release()

    @property
    def link(self) -> str:
        """The endpoint, the security policy and mode the session uses, and the user."""
        sec = self._security
        mode = sec.mode if sec.mode == "None" else f"Basic256Sha256 {sec.mode}"
        if self._client is not None:  # what the session actually uses
            policy = self._client.security_policy
            mode = f"{policy.URI.rsplit('#', 1)[-1]} {policy.Mode.name}"
        user = f", user {sec.username}" if sec.username else ""
        return f"OPC UA {self.endpoint}, {mode}{user}"

    @property
    def busy(self) -> bool:
        """An operation this driver started has not reported its completion yet."""
        return self._pending > 0

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        """asyncua subscription callback: keep the latest value of each node, and when."""
        self._values[node] = value
        self._received[node] = time.monotonic()
        if node == self._results_node:
            entries = (str(e).partition(":") for e in value or [])
            self._results = {int(number): error for number, _, error in entries}
            self._completed.set()

    # --- reads and calls -------------------------------------------------------------
    async def _child(self, *path: str) -> Any:
        return await self._station.get_child([f"{self._ns}:{p}" for p in path])

    @contextlib.asynccontextmanager
    async def _typed(self, what: str) -> AsyncIterator[None]:
        """Whatever asyncua raises becomes our typed error, naming the device and ``what``
        was being done; nothing waits longer than the driver's timeout."""
        await self._ready(what)
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError:
            raise DeviceTimeout(
                self._device, f"no answer within {self._timeout:g} s", what
            ) from None
        except ua.UaStatusCodeError as err:
            raise DeviceFault(self._device, str(err) or type(err).__name__, what) from None
        except (ConnectionError, OSError, ua.UaError) as err:
            raise DeviceDisconnected(self._device, str(err) or type(err).__name__, what) from None

    async def _ready(self, what: str) -> None:
        """Wait (up to the timeout) for a live session before sending anything.

        asyncua 2.1 holds requests back only while its state is RECONNECTING; in the
        middle of a reconnect (socket or channel open, session not yet activated) it lets
        them through, and one sent there breaks the new channel: the server closes it and
        the reconnect starts over. A lab polling its interlocks kept a rebooted PLC
        unreachable that way for longer than an emergency stop may wait.
        """
        if self._client is None:
            raise DeviceDisconnected(self._device, "not connected", what)
        link = self._client.uaclient
        async with link.subscribe_state() as changes:
            try:
                await changes.wait_for_state(UaClientState.CONNECTED, self._timeout)
            except TimeoutError:
                raise DeviceDisconnected(
                    self._device,
                    f"no session within {self._timeout:g} s ({link.state.value}); not sent",
                    what,
                ) from None

    async def _read(self, *path: str) -> Any:
        async with self._typed("/".join(path)):
            return await (await self._child(*path)).read_value()

    async def _call(self, method: str, *args: ua.Variant) -> int:
        """Call ``method``; returns the PLC's operation number, raises its error."""
        error, number = await self._invoke(method, *args)
        if error:
            raise DeviceFault(self._device, error, method)
        return int(number)

    async def _invoke(self, method: str, *args: ua.Variant) -> Any:
        """The method's outputs, or a typed error if the call itself failed."""
        await self._ready(method)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._station.call_method(f"{self._ns}:{method}", *args)
        except TimeoutError:
            raise DeviceTimeout(
                self._device,
                f"no answer within {self._timeout:g} s; not retried: the command may have "
                "taken effect",
                method,
            ) from None
        except (ConnectionError, OSError, ua.UaError) as err:
            raise DeviceDisconnected(self._device, str(err) or type(err).__name__, method) from None

    async def _completion(self, number: int, method: str) -> None:
        """Wait (on the subscription) for operation ``number``'s own result; raise its error."""
        try:
            async with asyncio.timeout(self._method_timeout):
                while number not in self._results:
                    self._completed.clear()
                    await self._completed.wait()
        except TimeoutError:
            raise DeviceTimeout(
                self._device,
                f"operation {number} not finished within {self._method_timeout:g} s",
                method,
            ) from None
        error = self._results[number]
        if error:
            raise DeviceFault(self._device, error, method)

    async def identify(self) -> str:
        """The PLC's ``Identity``."""
        return str(await self._read("Identity"))

    async def state(self) -> str:
        """``idle``, ``busy``, ``estop`` or ``error <text>``, from the PLC's Status."""
        status = str(await self._read("Status"))
        if status == "error":
            return f"error {await self._read('Error')}".strip()
        return status

    async def heartbeat(self) -> None:
        """``Heartbeat()``: the controller is alive (the PLC's watchdog stops the station
        when these stop coming)."""
        error = await self._invoke("Heartbeat")
        if error:
            raise DeviceFault(self._device, error, "Heartbeat")

    async def emergency_stop(self) -> None:
        """``EmergencyStop()``, confirmed by ``Status`` = ``estop``."""
        error = await self._invoke("EmergencyStop")
        if error:
            raise DeviceFault(self._device, error, "EmergencyStop")
        state = await self.state()
        if state != "estop":
            raise DeviceFault(
                self._device, f"did not confirm the emergency stop ({state})", "EmergencyStop"
            )

    async def reset(self) -> None:
        """``Reset()``: clear a latched emergency stop."""
        error = await self._invoke("Reset")
        if error:
            raise DeviceFault(self._device, error, "Reset")

    async def pumps(self) -> dict[int, str]:
        """Pump number -> reagent, browsed from ``Pumps``."""
        async with self._typed("Pumps"):
            folder = await self._child("Pumps")
            names = [(await pump.read_browse_name()).Name for pump in await folder.get_children()]
        return {int(n.removeprefix("Pump")): await self._read("Pumps", n, "Reagent") for n in names}

    async def dispense(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """``Dispense()``; waits for its own result."""
        await self._pumping("Dispense", pump, volume_ml, rate_ml_min)

    async def prime(self, pump: int, volume_ml: float, rate_ml_min: float) -> None:
        """``Prime()``; waits for its own result."""
        await self._pumping("Prime", pump, volume_ml, rate_ml_min)

    async def _pumping(self, method: str, pump: int, volume_ml: float, rate: float) -> None:
        """Start a pump operation, then wait for its own result."""
        number = await self._call(
            method,
            ua.Variant(int(pump), ua.VariantType.Int32),
            ua.Variant(float(volume_ml), ua.VariantType.Double),
            ua.Variant(float(rate), ua.VariantType.Double),
        )
        self._pending += 1
        try:
            await self._completion(number, method)
        finally:
            self._pending -= 1

    async def level(self, pump: int) -> float:
        """A pump's reservoir ``Level`` (mL)."""
        return float(await self._read("Pumps", f"Pump{pump}", "Level"))

    async def set_temperature(self, celsius: float) -> None:
        """``SetTemperature()`` (degC)."""
        await self._call("SetTemperature", ua.Variant(float(celsius), ua.VariantType.Double))

    async def temperature(self) -> float:
        """``Temperature`` (degC), from the subscription while it is fresh."""
        return float(await self._subscribed(self._temperature_node, "Temperature"))

    async def _subscribed(self, node: Any, what: str) -> Any:
        """A subscribed node's value while it is fresh, else a read: a value the
        subscription left behind (say, while the link is down and reconnecting) is never
        served."""
        if self._client is None:
            raise DeviceDisconnected(self._device, "not connected", what)
        age = time.monotonic() - self._received.get(node, -1e9)
        if age <= FRESH_S:
            return self._values[node]
        async with self._typed(what):
            value = await node.read_value()
        self._values[node], self._received[node] = value, time.monotonic()
        return value

    async def setpoint(self) -> float:
        """``TemperatureSetpoint`` (degC)."""
        return float(await self._read("TemperatureSetpoint"))

    async def set_stir(self, rpm: float) -> None:
        """``SetStirSpeed()`` (rpm)."""
        await self._call("SetStirSpeed", ua.Variant(float(rpm), ua.VariantType.Double))

    async def stir_for(self, rpm: float, seconds: float) -> None:
        """``StirFor()`` (rpm, s)."""
        await self._call(
            "StirFor",
            ua.Variant(float(rpm), ua.VariantType.Double),
            ua.Variant(float(seconds), ua.VariantType.Double),
        )

    async def stir(self) -> float:
        """``StirSpeed`` (rpm)."""
        return float(await self._read("StirSpeed"))

    async def vial(self) -> tuple[str, float] | None:
        """``VialId`` and ``VialVolume``, or None."""
        vial_id = await self._read("VialId")
        return (vial_id, float(await self._read("VialVolume"))) if vial_id else None

    async def interlocks(self) -> dict[str, InputState]:
        """The PLC's interlock inputs ``door_open`` and ``leak``, with the rising edges it
        latched on each: from the subscription while all are fresh, else in one read of
        the four nodes (a method call in progress never holds a read up: the PLC runs
        operations after the call returns)."""
        if self._client is None:
            raise DeviceDisconnected(self._device, "not connected", "interlock inputs")
        nodes = [node for pair in self._input_nodes.values() for node in pair]
        now = time.monotonic()
        if any(now - self._received.get(node, -1e9) > FRESH_S for node in nodes):
            async with self._typed("interlock inputs"):
                values = await self._client.read_values(nodes)
            for node, value in zip(nodes, values, strict=True):
                self._values[node], self._received[node] = value, time.monotonic()
        return {
            name: InputState(bool(self._values[level]), int(self._values[trips]))
            for name, (level, trips) in self._input_nodes.items()
        }

    async def stop(self) -> None:
        """``Stop()``: the safe state."""
        await self._call("Stop")
