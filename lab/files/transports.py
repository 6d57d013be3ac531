"""How a lab-file device reaches its instrument: the simulator in this process, a serial
port, an OPC UA server, an EPICS IOC's process variables, a SiLA 2 server, or a PyLabRobot backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from protocols._quantity_field import Timeout


def _beside_the_file(value: Path, info: ValidationInfo) -> Path:
    """A path written in a file is relative to that file's folder."""
    return Path((info.context or {}).get("base_dir", Path("."))) / value


#: a file named in a lab file, relative to the lab file
FilePath = Annotated[Path, AfterValidator(_beside_the_file)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SimTransport(_Model):
    """The instrument's simulator, in this process."""

    type: Literal["sim"] = "sim"


class SerialTransportConfig(_Model):
    """An ASCII line protocol on a serial port. In a simulated lab the simulator provides
    the port (a pseudo-terminal) and ``port`` may be left out."""

    type: Literal["serial"]
    port: str | None = None
    baudrate: int = Field(115200, gt=0, le=10_000_000, description="bits per second")
    terminator: str = Field("\n", min_length=1, description="end of each line, both ways")
    retries: int = Field(2, ge=0, le=100, description="retries of idempotent queries only")
    timeout: Timeout = Field("5 s", validate_default=True, description="per-command reply timeout")


class OpcuaSecurityConfig(_Model):
    """Basic256Sha256 message security plus user/password. In a simulated lab the
    simulator makes the certificates and the password."""

    mode: Literal["SignAndEncrypt", "Sign", "None"] = Field(
        "SignAndEncrypt", description="message security; None needs allow_insecure"
    )
    certificate: FilePath | None = Field(None, description="this lab's client certificate")
    private_key: FilePath | None = Field(None, description="the client certificate's key (PEM)")
    server_certificate: FilePath | None = Field(None, description="pin the server's certificate")
    username: str | None = Field(None, description="user name of the session")
    password_env: str | None = Field(None, description="environment variable with the password")
    allow_insecure: bool = Field(False, description="allow mode None (logged as a warning)")

    @model_validator(mode="after")
    def _secure_unless_allowed(self) -> OpcuaSecurityConfig:
        if self.mode == "None" and not self.allow_insecure:
            raise ValueError(
                "mode None sends everything in clear; set allow_insecure: true "
                "to accept that, or use Sign / SignAndEncrypt"
            )
        return self


class OpcuaTransportConfig(_Model):
    """An OPC UA server (a PLC). In a simulated lab the simulator provides the endpoint."""

    type: Literal["opcua"]
    endpoint: str | None = Field(
        None, pattern=r"^opc\.tcp://", description="opc.tcp://host:port/path of the PLC"
    )
    security: OpcuaSecurityConfig = OpcuaSecurityConfig()
    timeout: Timeout = Field("5 s", validate_default=True, description="per-request timeout")


class EpicsTransportConfig(_Model):
    """Process variables of an EPICS IOC, over Channel Access or PV Access, named by the
    device's ``prefix``. Which IOCs answer is EPICS's own business: the facility's
    ``EPICS_CA_ADDR_LIST`` / ``EPICS_PVA_ADDR_LIST`` as usual. In a simulated lab the
    simulator runs the IOC on this machine."""

    type: Literal["epics"]
    protocol: Literal["ca", "pva"] = Field(
        "ca", description="ca: Channel Access; pva: PV Access (EPICS 7)"
    )
    timeout: Timeout = Field(
        "5 s", validate_default=True, description="how long a PV may take to connect or answer"
    )


class SilaTransportConfig(_Model):
    """A SiLA 2 server, over TLS. In a simulated lab the simulator runs the server on this
    machine and gives its address and certificate."""

    type: Literal["sila2"]
    address: str | None = Field(
        None, pattern=r"^[^\s:]+:\d{1,5}$", description="host:port of the SiLA 2 server"
    )
    certificate: FilePath | None = Field(
        None,
        description="PEM of the authority the server's certificate chains to (a self-signed "
        "server's own certificate); none: the system's trusted authorities",
    )
    timeout: Timeout = Field("5 s", validate_default=True, description="per-call timeout")


class PylabrobotTransportConfig(_Model):
    """A PyLabRobot backend, which reaches its machine its own way (USB, serial, HTTP):
    its class and the arguments it is made with, e.g. ``backend:
    pylabrobot.liquid_handling.backends:STARBackend`` or ``backend:
    pylabrobot.liquid_handling.backends:OpentronsOT2Backend`` with ``options: {host:
    192.168.1.40}``."""

    type: Literal["pylabrobot"]
    backend: str = Field(
        pattern=r"^[\w.]+:\w+$", description="package.module:Class of the PyLabRobot backend"
    )
    options: dict[str, str | int | float | bool] = Field(
        {}, description="the backend's keyword arguments"
    )
    timeout: Timeout = Field(
        "120 s", validate_default=True, description="how long one operation may take"
    )


Transport = Annotated[
    SimTransport
    | SerialTransportConfig
    | OpcuaTransportConfig
    | EpicsTransportConfig
    | SilaTransportConfig
    | PylabrobotTransportConfig,
    Field(discriminator="type"),
]
