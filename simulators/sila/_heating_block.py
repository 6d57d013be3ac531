"""A simulated heating block served over SiLA 2 (TLS, a self-signed certificate the lab is
told to trust): the ``sila2`` library's own server, with the feature the lab's SiLA
heating block uses. Its physics run on the simulation's clock, and the vial standing at
its place in the workcell sees its temperature."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from simulators.clock import SimClock
from simulators.workcell import Workcell

#: the feature definition the lab's SiLA heating block speaks (the instrument's side
#: serves the very same file)
FEATURE_FILE = (
    Path(__file__).resolve().parent.parent.parent
    / "devices"
    / "sila"
    / "HeatingBlockController.sila.xml"
)


class BlockPhysics:
    """The block's temperature: a ramp towards the target at ``rate_k_per_min`` of lab
    time (towards ambient while stopped); what the vial in the block saw."""

    def __init__(
        self, clock: SimClock, workcell: Workcell, place: str, ambient_c: float, rate: float
    ) -> None:
        self.clock = clock
        self.workcell = workcell
        self.place = place
        self.ambient_c = ambient_c
        self.rate = rate
        self.target_c = ambient_c
        self.stopped = False
        self._lock = threading.Lock()
        self._from = (clock.now(), ambient_c)

    def temperature(self) -> float:
        """Now, and recorded on the vial in the block (it keeps the highest)."""
        with self._lock:
            start_s, start_c = self._from
            target = self.ambient_c if self.stopped else self.target_c
            step = self.rate / 60.0 * (self.clock.now() - start_s)
            now = (
                target
                if abs(target - start_c) <= step
                else start_c + step * (1 if target > start_c else -1)
            )
        vial = self.workcell.vials_at.get(self.place)
        if vial is not None:
            vial.temperature_c = max(vial.temperature_c, now)
        return now

    def aim(self, target_c: float) -> None:
        """Head for ``target_c`` from where the block is now."""
        now = self.temperature()
        with self._lock:
            self._from = (self.clock.now(), now)
            self.target_c = target_c

    def stop(self) -> None:
        """Heater off, setpoint to ambient, latched."""
        now = self.temperature()
        with self._lock:
            self._from = (self.clock.now(), now)
            self.stopped = True
            self.target_c = self.ambient_c


class SilaHeatingBlockServer:
    """The simulated block's SiLA 2 server on 127.0.0.1 (a free port), over TLS with a
    self-signed certificate (:attr:`certificate`, the PEM the lab trusts).

    Args:
        physics: the block it serves.
        low_c: the lowest target it accepts.
        high_c: the highest target it accepts.
        serial: the UUID-like serial it reports (its ``ServerUUID`` is generated).
    """

    def __init__(self, physics: BlockPhysics, low_c: float, high_c: float) -> None:
        self.physics = physics
        self.low_c, self.high_c = low_c, high_c
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.certificate: bytes | None = None
        self._key: bytes | None = None
        self._server: Any = None

    async def start(self) -> None:
        """Serve (gRPC runs in its own threads); again after :meth:`stop`, as a restarted
        instrument does."""
        from sila2.framework import Feature
        from sila2.server import SilaServer
        from sila2.server.encryption import generate_self_signed_certificate

        feature = Feature(FEATURE_FILE.read_text())
        server = SilaServer(
            server_name="SimHeatingBlock",
            server_type="HeatingBlock",
            server_description="A simulated heated vial block",
            server_version="1.0",
            server_vendor_url="https://sdl-lab.example/sim",
        )
        server.set_feature_implementation(feature, _implementation(server, feature, self))
        # a certificate of its own, as a SiLA server makes one (kept across restarts, as
        # an instrument keeps its own); no discovery broadcast
        if self._key is None or self.certificate is None:
            self._key, self.certificate = generate_self_signed_certificate(
                server.server_uuid, "127.0.0.1"
            )
        server.start(
            "127.0.0.1",
            self.port,
            private_key=self._key,
            cert_chain=self.certificate,
            enable_discovery=False,
        )
        self._server = server

    async def stop(self) -> None:
        """Stop serving (a fault a test injects, or the simulation's end)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace_period=0.5)


def _implementation(server: Any, feature: Any, block: SilaHeatingBlockServer) -> Any:
    from sila2.framework import DefinedExecutionError
    from sila2.server import FeatureImplementationBase

    physics = block.physics

    def error(identifier: str, message: str) -> DefinedExecutionError:
        return DefinedExecutionError(feature.defined_execution_errors[identifier], message=message)

    class HeatingBlockController(FeatureImplementationBase):
        def get_CurrentTemperature(self, *, metadata: Any) -> float:
            return physics.temperature()

        def get_TargetTemperature(self, *, metadata: Any) -> float:
            return physics.target_c

        def get_VialPresent(self, *, metadata: Any) -> bool:
            return physics.workcell.vials_at.get(physics.place) is not None

        def get_EmergencyStopped(self, *, metadata: Any) -> bool:
            return physics.stopped

        def EmergencyStop(self, *, metadata: Any) -> None:
            physics.stop()

        def Reset(self, *, metadata: Any) -> None:
            physics.stopped = False

        def ControlTemperature(
            self, TargetTemperature: float, *, metadata: Any, instance: Any
        ) -> None:
            if physics.stopped:
                raise error("EmergencyStopLatched", "the emergency stop is latched: reset it")
            if not block.low_c <= TargetTemperature <= block.high_c:
                raise error(
                    "TemperatureOutOfRange",
                    f"{TargetTemperature:g} degC is outside {block.low_c:g}..{block.high_c:g} degC",
                )
            start = physics.temperature()
            physics.aim(TargetTemperature)
            span = abs(TargetTemperature - start) or 1.0
            while abs(physics.temperature() - TargetTemperature) > 0.01:
                if physics.stopped or physics.target_c != TargetTemperature:
                    return  # stopped, or told another target: this one is over
                instance.progress = min(
                    1.0, 1.0 - abs(TargetTemperature - physics.temperature()) / span
                )
                time.sleep(0.02)
            instance.progress = 1.0

    return HeatingBlockController(server)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
