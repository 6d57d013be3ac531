"""The lab as a SiLA 2 server (``lab serve --sila PORT``): its campaigns and devices as
the ``LabControl`` feature (lab/server/LabControl.sila.xml), behind SiLA's own
``AuthenticationService`` and ``AuthorizationService``, checked against the lab's users
and roles, every change written to the audit log, over TLS. A SiLA 2 orchestrator drives
the lab as it drives any instrument."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices import DeviceError
from lab.accounts.roles import ROLES
from lab.accounts.users import authenticate
from lab.errors import LabError
from lab.runtime.lab import Lab

if TYPE_CHECKING:
    from lab.server._lab_process import LabServer

log = logging.getLogger(__name__)

FEATURE_FILE = Path(__file__).with_name("LabControl.sila.xml")
#: how long a SiLA login lasts
TOKEN_LIFETIME = timedelta(hours=8)
#: the audit log's name for calls that came over SiLA 2
CLIENT = "SiLA 2"


@dataclass(frozen=True)
class SilaIdentity:
    """The server's lasting identity: its UUID, and the certificate (with its key) that
    clients pin, kept in ``folder`` so they survive a restart."""

    server_uuid: uuid.UUID
    certificate: bytes
    private_key: bytes
    certificate_path: Path

    @classmethod
    def in_folder(cls, folder: Path, host: str) -> SilaIdentity:
        """The identity kept in ``folder``; made there the first time."""
        from sila2.server.encryption import generate_self_signed_certificate

        folder.mkdir(parents=True, exist_ok=True)
        id_file, cert_file, key_file = (folder / n for n in ("uuid", "server.pem", "server.key"))
        if not (id_file.exists() and cert_file.exists() and key_file.exists()):
            server_uuid = uuid.uuid4()
            key, certificate = generate_self_signed_certificate(server_uuid, host)
            id_file.write_text(str(server_uuid))
            key_file.touch(mode=0o600)
            key_file.write_bytes(key)
            cert_file.write_bytes(certificate)
        return cls(
            uuid.UUID(id_file.read_text().strip()),
            cert_file.read_bytes(),
            key_file.read_bytes(),
            cert_file,
        )


class LabSilaServer:
    """Serves ``server`` (the lab server's lab, campaigns and users) over SiLA 2.

    Args:
        server: the lab server whose lab this exposes.
        port: the TCP port to listen on.
        folder: where the SiLA identity (UUID, certificate, key) is kept.
        host: the address to listen on (its certificate names it).
    """

    def __init__(self, server: LabServer, port: int, folder: Path, host: str = "127.0.0.1") -> None:
        self.lab_server = server
        self.port = port
        self.host = host
        self.identity = SilaIdentity.in_folder(folder, host)
        self._sila: Any = None

    def start(self) -> None:
        """Serve (gRPC runs in its own threads)."""
        from sila2.features.authenticationservice import AuthenticationServiceFeature
        from sila2.features.authorizationservice import AuthorizationServiceFeature
        from sila2.framework import Feature
        from sila2.server import SilaServer
        from sila2.server.default_feature_implementations.authorizationservice_impl import (
            AuthorizationServiceImpl,
        )

        config = self.lab_server.config
        sila = SilaServer(
            server_name=config.name[:255],
            server_type="SelfDrivingLab",
            server_description=f"The self-driving lab {config.name}",
            server_version="0.1",
            server_vendor_url="https://sdl-lab.example",
            server_uuid=self.identity.server_uuid,
        )
        authentication = _authentication(sila, self.lab_server)
        sila.set_feature_implementation(AuthenticationServiceFeature, authentication)
        sila.set_feature_implementation(AuthorizationServiceFeature, AuthorizationServiceImpl(sila))
        feature = Feature(FEATURE_FILE.read_text())
        sila.set_feature_implementation(
            feature, _lab_control(sila, feature, self.lab_server, authentication)
        )
        sila.start(
            self.host,
            self.port,
            private_key=self.identity.private_key,
            cert_chain=self.identity.certificate,
            enable_discovery=False,
        )
        self._sila = sila
        log.info(
            "SiLA 2 server at %s:%d (certificate %s)",
            self.host,
            self.port,
            self.identity.certificate_path,
        )

    def stop(self) -> None:
        """Stop serving."""
        sila, self._sila = self._sila, None
        if sila is not None:
            sila.stop(grace_period=1.0)


def _authentication(sila: Any, lab_server: LabServer) -> Any:
    from sila2.features.authenticationservice import AuthenticationFailed, Login_Responses
    from sila2.framework import FullyQualifiedIdentifier
    from sila2.server.default_feature_implementations.authenticationservice_impl import (
        AccessToken,
        AuthenticationServiceImpl,
    )

    store = lab_server.store

    class LabAuthentication(AuthenticationServiceImpl):
        """SiLA logins checked against the lab's users; each token knows its user."""

        def __init__(self, parent_server: Any) -> None:
            super().__init__(parent_server)
            #: token -> (user, role)
            self.users: dict[uuid.UUID, tuple[str, str]] = {}

        def Login(
            self,
            UserIdentification: str,
            Password: str,
            RequestedServer: str,
            RequestedFeatures: list[str],
            *,
            metadata: Any,
        ) -> Any:
            server: Any = self.parent_server
            user = authenticate(store, UserIdentification, Password)
            if user is None or RequestedServer != str(server.server_uuid):
                store.audit.append("sila login", "refused", user=UserIdentification, client=CLIENT)
                raise AuthenticationFailed
            features = {f.fully_qualified_identifier for f in server.features.values()}
            if any(FullyQualifiedIdentifier(f) not in features for f in RequestedFeatures):
                raise AuthenticationFailed
            token = AccessToken(uuid.uuid4(), tuple(features), TOKEN_LIFETIME, datetime.now())
            self.active_tokens[token.token] = token
            self.users[token.token] = (user.name, user.role)
            store.audit.append("sila login", "ok", user=user.name, role=user.role, client=CLIENT)
            return Login_Responses(str(token.token), int(TOKEN_LIFETIME.total_seconds()))

        def who(self, metadata: Any) -> tuple[str, str]:
            """The user and role behind a call's access token (the authorization service
            has checked the token before the call reaches the lab)."""
            from sila2.features.authorizationservice import AuthorizationServiceFeature

            raw = metadata[AuthorizationServiceFeature["AccessToken"]]
            return self.users[uuid.UUID(raw)]

    return LabAuthentication(sila)


def _lab_control(sila: Any, feature: Any, lab_server: LabServer, authentication: Any) -> Any:
    from sila2.framework import DefinedExecutionError
    from sila2.server import FeatureImplementationBase

    manager, store = lab_server.manager, lab_server.store

    def error(identifier: str, message: str) -> DefinedExecutionError:
        return DefinedExecutionError(feature.defined_execution_errors[identifier], message=message)

    def act(metadata: Any, action: str, need: str, target: str | None, do: Any) -> Any:
        """``do()`` as the caller, if their role allows, with the outcome in the audit log."""
        user, role = authentication.who(metadata)
        if ROLES.index(role) < ROLES.index(need):
            store.audit.append(
                action, "refused: not permitted", user=user, role=role, client=CLIENT, target=target
            )
            raise error("NotPermitted", f"{user} is {role}: {action} needs {need}")
        try:
            result = do(user)
        except (LabError, DeviceError, ValueError) as err:
            store.audit.append(
                action, f"refused: {err}", user=user, role=role, client=CLIENT, target=target
            )
            raise error("Refused", str(err)) from None
        store.audit.append(action, "ok", user=user, role=role, client=CLIENT, target=target)
        return result

    def answers(report: Any) -> str:
        return "\n".join(f"{d}: {a}" for d, a in report.items())

    class LabControl(FeatureImplementationBase):
        def get_State(self, *, metadata: Any) -> str:
            return manager.lab_state()

        def get_ActiveCampaign(self, *, metadata: Any) -> str:
            active = manager.active()
            return active.name if active else ""

        def get_Devices(self, *, metadata: Any) -> list[str]:
            return list(lab_server.config.devices)

        def StartCampaign(self, Campaign: str, *, metadata: Any) -> str:
            act(
                metadata,
                "campaign start",
                "operator",
                Campaign,
                lambda by: manager.start(Campaign, by),
            )
            return manager.lab_state()

        def Pause(self, *, metadata: Any) -> str:
            act(metadata, "pause", "operator", None, manager.pause)
            return manager.lab_state()

        def Resume(self, *, metadata: Any) -> str:
            act(metadata, "resume", "operator", None, manager.resume)
            return manager.lab_state()

        def StopCampaign(self, Campaign: str, *, metadata: Any) -> str:
            act(
                metadata,
                "campaign stop",
                "operator",
                Campaign,
                lambda by: manager.stop(Campaign, by),
            )
            return manager.lab_state()

        def EmergencyStop(self, Reason: str, *, metadata: Any) -> str:
            report = act(
                metadata, "emergency stop", "operator", Reason or None, manager.emergency_stop
            )
            return answers(report.devices)

        def ResetEmergencyStop(self, *, metadata: Any) -> str:
            return answers(act(metadata, "emergency stop reset", "staff", None, manager.reset))

        def ReadDevice(self, Device: str, *, metadata: Any) -> str:
            authentication.who(metadata)  # any logged-in user reads
            lab = lab_server.lab
            if not isinstance(lab, Lab) or Device not in lab_server.config.devices:
                raise error(
                    "Refused",
                    f"no device {Device!r}; devices are {sorted(lab_server.config.devices)}",
                )
            try:
                status = lab.status(skip=set(lab_server.config.devices) - {Device})[Device]
            except DeviceError as err:
                raise error("Refused", str(err)) from None
            return json.dumps(status["readings"], default=_jsonable)

    return LabControl(sila)


def _jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)
