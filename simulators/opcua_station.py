"""The synthesis station as a PLC-style OPC UA server (asyncua) on loopback.

Address space, under ``Objects/SynthesisStation`` in namespace ``urn:sdl:synthesis-station``:
``Identity``, ``Status`` (idle | busy | error | estop), ``Error``, ``Temperature`` and
``TemperatureSetpoint`` (degC), ``StirSpeed`` (rpm), ``VialId``, ``VialVolume`` (mL),
``Pumps/Pump<n>/{Reagent, Level}`` (mL), ``Results``, the interlock inputs ``DoorOpen``
and ``Leak`` with the rising edges latched on each (``DoorTrips``, ``LeakTrips``), and methods ``Dispense(pump, mL, mL/min)``, ``Prime(pump, mL, mL/min)`` (to
the drain), ``SetTemperature(degC)``, ``SetStirSpeed(rpm)``, ``StirFor(rpm, s)`` (stopped by the
station's own timer), ``Stop()``,
``EmergencyStop()`` and ``Reset()``. ``Status`` is ``estop`` while an emergency stop is
latched; until ``Reset()`` every method but ``Stop`` answers with the latch as its error.

Methods return an error text (empty on success) and an operation number, as PLC function
blocks do. A pump operation only starts in the call: when it ends, its outcome appears in
``Results`` as ``"<number>:<error>"``, so a client waits on a subscription for its own
operation, never on a blocked call. A scan loop publishes readings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.user_managers import UserManager
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from simulators.firmware import ESTOP_LATCHED, StationFirmware

NAMESPACE = "urn:sdl:synthesis-station"
SERVER_URI = "urn:sdl:sim:synthesis-station"
#: how many recent operations ``Results`` keeps
RESULTS = 64
CLIENT_URI = "urn:sdl:lab-client"
_POLICIES = {
    "SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    "Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "None": ua.SecurityPolicyType.NoSecurity,
}


def _argument(name: str, kind: ua.VariantType) -> ua.Argument:
    """A named method argument, so that a client browsing the PLC sees what each is."""
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = ua.NodeId(ua.Int32(kind.value))
    argument.ValueRank = -1
    return argument


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as files."""

    certificate: Path  # DER
    private_key: Path  # PEM


async def make_key_pair(directory: Path, name: str, app_uri: str, server: bool) -> KeyPair:
    """A self-signed certificate for a server or client application.

    Args:
        directory: where to write the key and certificate.
        name: the files' stem.
        app_uri: the application URI the certificate names (OPC UA checks it).
        server: a server certificate (else a client's).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # a private key lives here: its owner's only
    pair = KeyPair(directory / f"{name}.der", directory / f"{name}.pem")
    await setup_self_signed_certificate(
        pair.private_key,
        pair.certificate,
        app_uri,
        "localhost",
        [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": name},
    )
    pair.private_key.chmod(0o600)
    return pair


class _Sessions(UserManager):
    """Who may open a session, checked as a real PLC checks it. asyncua accepts an
    unsecured channel for discovery whatever the endpoints say, and a client may then try
    to activate a session over it; so every session must come over a channel that carries a
    client certificate from the trust list (unless mode None is offered), and, if users are
    configured, with a right password. ``None`` rejects the session."""

    def __init__(self, users: dict[str, str] | None, trusted: list[bytes] | None) -> None:
        self.users = users
        self.trusted = trusted

    def get_user(
        self,
        iserver: object,
        username: str | None = None,
        password: str | None = None,
        certificate: object = None,
    ) -> User | None:
        if self.trusted is not None:
            der = certificate
            if der is not None and not isinstance(der, bytes):
                der = der.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]
            if der is None or der not in self.trusted:
                return None
        if self.users is None:
            return User(role=UserRole.User)
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


@dataclass
class StationServerSecurity:
    """What the simulated PLC accepts: message security modes, users, trusted clients."""

    modes: list[str] = field(default_factory=lambda: ["SignAndEncrypt"])
    users: dict[str, str] | None = None  # None: anonymous sessions allowed
    server_keys: KeyPair | None = None
    trusted_clients: Path | None = None  # folder of trusted client certificates (DER)


class OpcuaStationServer:
    """The simulated station's PLC: a real OPC UA server on loopback with its own certificate, trust list and user, serving the station firmware.

    Args:
        station: the station's firmware it serves.
        port: the TCP port on 127.0.0.1 (0 picks a free one).
        security: certificates, trust list and user; None serves without security.
        scan_s: how often the PLC copies the firmware's state to its nodes (lab seconds).
    """

    def __init__(
        self,
        station: StationFirmware,
        port: int,
        security: StationServerSecurity | None = None,
        scan_s: float = 0.05,
    ) -> None:
        self.station = station
        self.port = port
        self.security = security or StationServerSecurity(modes=["None"])
        self.scan_s = scan_s
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/sdl/station"
        #: fault injection: seconds every method call is held before it runs
        self.method_delay_s = 0.0
        self._server: Server | None = None
        self._scan: asyncio.Task[None] | None = None
        self._nodes: dict[str, object] = {}
        self._operation = 0
        self._running: set[asyncio.Task[None]] = set()
        self._done: list[tuple[int, str]] = []
        self._results: list[str] = []

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        # the simulated PLC's own chatter is not the lab's; the client's logs stay as they are
        """Start the PLC on its endpoint with its security, user and address space."""
        logging.getLogger("asyncua.server").setLevel(logging.ERROR)
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("SDL simulated synthesis station")
        await server.set_application_uri(SERVER_URI)
        server.set_security_policy([_POLICIES[m] for m in self.security.modes])
        if self.security.server_keys is not None:
            await server.load_certificate(str(self.security.server_keys.certificate))
            await server.load_private_key(str(self.security.server_keys.private_key))
        trusted = None
        if "None" not in self.security.modes:
            folder = self.security.trusted_clients
            trusted = [] if folder is None else [f.read_bytes() for f in folder.glob("*.der")]
        server.iserver.set_user_manager(_Sessions(self.security.users, trusted))
        if self.security.users is not None:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        if self.security.trusted_clients is not None:
            store = TrustStore([self.security.trusted_clients], [])
            await store.load()
            server.set_certificate_validator(
                CertificateValidator(
                    CertificateValidatorOptions.TIME_RANGE
                    | CertificateValidatorOptions.URI
                    | CertificateValidatorOptions.TRUSTED
                    | CertificateValidatorOptions.PEER_CLIENT,
                    store,
                )
            )
        await self._build(server)
        await server.start()
        self._server = server
        self._scan = asyncio.create_task(self._scan_loop(), name="opcua-station-scan")

    async def stop(self) -> None:
        """Stop the PLC (its sessions end)."""
        for task in list(self._running):  # a PLC that goes down stops what it was doing
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        if self._scan is not None:
            self._scan.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scan
            self._scan = None
        if self._server is not None:
            # a rebooting PLC drops its sessions; asyncua 2.1's stop() leaves the loops of
            # still-open sessions running, so close them first
            for session in list(self._server.iserver._external_sessions.values()):
                await session.close_session()
            await self._server.stop()
            self._server = None

    async def restart(self, downtime_s: float = 0.5) -> None:
        """Fault injection: the PLC reboots (same endpoint, new sessions).

        Args:
            downtime_s: how long the server is gone (wall seconds).
        """
        await self.stop()
        await asyncio.sleep(downtime_s)
        await self.start()

    # --- address space ---------------------------------------------------------------
    async def _build(self, server: Server) -> None:
        ns = await server.register_namespace(NAMESPACE)
        station = await server.nodes.objects.add_object(ns, "SynthesisStation")
        readings = {
            "Identity": self.station.identity,
            "Status": "idle",
            "Error": "",
            "Temperature": self.station.temperature(),
            "TemperatureSetpoint": self.station.setpoint_c,
            "StirSpeed": self.station.rpm,
            "VialId": "",
            "VialVolume": 0.0,
            # the outcome of each recent operation, "<number>:<error>" (empty: success),
            # oldest first: every operation gets its own result, whoever reads it when
            "Results": ua.Variant([], ua.VariantType.String),
            "DoorOpen": False,  # interlock inputs, as a PLC wires them
            "Leak": False,
            # and the rising edges the PLC has latched on each, so that a client
            # subscribed to them sees a pulse shorter than its own sampling
            "DoorTrips": 0.0,
            "LeakTrips": 0.0,
        }
        self._nodes = {k: await station.add_variable(ns, k, v) for k, v in readings.items()}
        pumps = await station.add_folder(ns, "Pumps")
        for n, reservoir in self.station.pumps.items():
            pump = await pumps.add_object(ns, f"Pump{n}")
            await pump.add_variable(ns, "Reagent", reservoir.reagent)
            self._nodes[f"Pump{n}.Level"] = await pump.add_variable(
                ns, "Level", reservoir.volume_ml
            )
        string, double, int32 = ua.VariantType.String, ua.VariantType.Double, ua.VariantType.Int32
        started = [_argument("Error", string), _argument("Operation", ua.VariantType.UInt32)]
        operations = {
            "Dispense": (
                self._method("DISP", self._dispense),
                [
                    _argument("Pump", int32),
                    _argument("Volume_mL", double),
                    _argument("Rate_mL_min", double),
                ],
            ),
            "Prime": (
                self._method("PRIME", self.station.prime),
                [
                    _argument("Pump", int32),
                    _argument("Volume_mL", double),
                    _argument("Rate_mL_min", double),
                ],
            ),
            "SetTemperature": (
                self._method("TEMP", self._set_temperature),
                [_argument("Setpoint_degC", double)],
            ),
            "SetStirSpeed": (
                self._method("STIR", self._set_stir),
                [_argument("Speed_rpm", double)],
            ),
            "StirFor": (
                self._method("STIR", self._stir_for),
                [_argument("Speed_rpm", double), _argument("RunTime_s", double)],
            ),
            "Stop": (self._method("STOP", self._stop, when_latched=True), []),
        }
        for name, (call, inputs) in operations.items():
            await station.add_method(ns, name, call, inputs, started)
        for name, call in (
            ("EmergencyStop", self._emergency_stop),
            ("Reset", self._reset),
            ("Heartbeat", self._heartbeat),
        ):
            await station.add_method(ns, name, call, [], [_argument("Error", string)])

    async def _emergency_stop(self, parent: ua.NodeId) -> list[ua.Variant]:
        """Hard-wired in a real PLC: no delay, no error state, no queue in front of it."""
        self.station.emergency_stop()
        await self._publish()
        return [ua.Variant("", ua.VariantType.String)]

    async def _heartbeat(self, parent: ua.NodeId) -> list[ua.Variant]:
        """The controller is alive: a PLC's watchdog stops the station when these stop."""
        self.station.notice("HEARTBEAT")
        return [ua.Variant("", ua.VariantType.String)]

    async def _reset(self, parent: ua.NodeId) -> list[ua.Variant]:
        await self.station.handle("RESET")
        await self._publish()
        return [ua.Variant("", ua.VariantType.String)]

    def _method(
        self,
        name: str,
        op: Callable[..., Coroutine[Any, Any, None]],
        when_latched: bool = False,
    ) -> Callable[..., Awaitable[list]]:
        async def call(parent: ua.NodeId, *args: ua.Variant) -> list[ua.Variant]:
            self.station.notice(name)
            if self.method_delay_s:
                await asyncio.sleep(self.method_delay_s)
            self._operation += 1
            number = self._operation
            error = self.station.error_state or ""
            if self.station.estopped and not when_latched:
                error = ESTOP_LATCHED
            if not error:
                task = asyncio.create_task(op(*(a.Value for a in args)))
                self._running.add(task)  # from now on, a reboot of the PLC ends it
                await asyncio.sleep(0)  # checks run before the operation's first wait
                if task.done() and not task.cancelled() and task.exception() is not None:
                    self._running.discard(task)
                    error = str(task.exception())
                else:
                    await self._write("Status", "busy")
                    task.add_done_callback(lambda t: self._finished(t, number))
            await self._publish()  # what the call changed is readable when it returns
            return [
                ua.Variant(error, ua.VariantType.String),
                ua.Variant(number, ua.VariantType.UInt32),
            ]

        return call

    def _finished(self, task: asyncio.Task[None], number: int) -> None:
        self._running.discard(task)
        error = ""
        if task.cancelled():
            error = "operation aborted"
        elif task.exception() is not None:
            error = str(task.exception())
        self._done.append((number, error))

    async def _dispense(self, pump: int, ml: float, ml_min: float) -> None:
        await self.station.dispense(pump, ml, ml_min)

    async def _set_temperature(self, celsius: float) -> None:
        self.station.set_temperature(celsius)

    async def _set_stir(self, rpm: float) -> None:
        self.station.set_stir(rpm)

    async def _stir_for(self, rpm: float, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("run time must be > 0 s")
        self.station.set_stir(rpm, seconds)

    async def _stop(self) -> None:
        self.station.stop()

    # --- the scan cycle --------------------------------------------------------------
    async def _write(self, name: str, value: object) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # every number in this address space is a Double
        node = self._nodes[name]
        if await node.read_value() != value:  # type: ignore[attr-defined]
            await node.write_value(value)  # type: ignore[attr-defined]

    async def _publish(self) -> None:
        if self._done:  # each finished operation joins the window of recent results
            self._results = (self._results + [f"{n}:{e}" for n, e in self._done])[-RESULTS:]
            self._done.clear()
            await self._nodes["Results"].write_value(  # type: ignore[attr-defined]
                ua.Variant(self._results, ua.VariantType.String)
            )
        if not self._running and self.station.error_state is None and not self.station.estopped:
            await self._write("Status", "idle")
        s = self.station
        vial = s.vial()
        await self._write("Temperature", round(s.temperature(), 3))
        await self._write("TemperatureSetpoint", s.setpoint_c)
        await self._write("StirSpeed", s.rpm)
        await self._write("VialId", vial.id if vial else "")
        await self._write("VialVolume", vial.volume_ml if vial else 0.0)
        for n, reservoir in s.pumps.items():
            await self._write(f"Pump{n}.Level", reservoir.volume_ml)
        await self._write("DoorOpen", s.door_open)
        await self._write("Leak", s.leak)
        await self._write("DoorTrips", s.inputs["door"].trips)
        await self._write("LeakTrips", s.inputs["leak"].trips)
        await self._write("Error", s.error_state or "")
        if s.error_state is not None:
            await self._write("Status", "error")
        if s.estopped:
            await self._write("Status", "estop")

    async def _scan_loop(self) -> None:
        while True:
            self.station.tick()
            await self._publish()
            await asyncio.sleep(self.scan_s)
