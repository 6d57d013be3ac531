"""Device kinds: how the lab builds, simulates and checks one kind of instrument.

Every device of a lab file names its kind, by an installed entry point (``kind:``, group
``sdl_lab.devices``) or by import path (``class: package.module:Kind``). The four kinds
this project ships are registered as entry points too, exactly as a package's are; a
package adds an instrument (a balance, a pH probe) without a line of ours changing.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from devices import Capability, Clock, Range
from lab.files.diagnostics_file import ExpectedIdentity
from lab.files.transports import SimTransport, Transport
from protocols._quantity_field import Timeout

if TYPE_CHECKING:
    from ophyd_async.core import Device

    from devices import InstrumentDevice, OpcuaSecurity
    from devices import Transport as LineTransport

#: the entry-point group where installed packages offer their device kinds
DEVICES_GROUP = "sdl_lab.devices"


class DeviceSettings(BaseModel):
    """What every device entry of a lab file holds; a kind's own settings extend it (and
    are refused, field by field, like any of the file's)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    transport: Transport = Field(SimTransport(), description="how the instrument is reached")
    stale_after: Timeout = Field(
        "5 s",
        validate_default=True,
        description="a reading older than this is shown as stale, never as a current value",
    )
    identity: ExpectedIdentity = Field(
        ExpectedIdentity(), description="what `lab diagnose` expects the instrument to report"
    )


@dataclass(frozen=True)
class Wire:
    """How the lab reaches one instrument, as it composed it for the device's kind.

    Args:
        name: the device's name.
        line: a line transport (a serial port, or the simulator in this process); None
            for a device reached over OPC UA.
        timeout_s: the per-command reply timeout of the transport (real seconds).
        clock: lab time (a simulation's accelerated clock, or the wall).
        opcua: the endpoint and its security, for a device reached over OPC UA.
        address: where a simulator serves what the lab file addresses (an EPICS PV
            prefix of the simulation's own, a SiLA 2 server's ``host:port``); None: the
            lab file's.
        certificate: the PEM a simulated server's TLS certificate chains to; None: the
            lab file's.
        simulator: the simulator itself, for an instrument whose wire is a library's
            backend object in this process (a PyLabRobot backend); None otherwise.
    """

    name: str
    line: LineTransport | None
    timeout_s: float
    clock: Clock
    opcua: tuple[str, OpcuaSecurity] | None = None
    address: str | None = None
    certificate: bytes | None = None
    simulator: Any = None

    def lab_seconds(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of lab time take (never below the reply
        timeout): a simulated instrument does in a second what takes 100 at 100x."""
        speed = float(getattr(self.clock, "speed", 1.0))
        return max(self.timeout_s, seconds / speed)


@dataclass(frozen=True)
class SimulatedParts:
    """What a kind's simulator is given in a simulated lab: the shared lab clock, the
    workcell where vials are (``simulators.Workcell``), the simulated chemistry (the
    ground truth), this device's simulator settings (``simulation.devices.<name>``) and
    the whole lab file."""

    clock: Any
    workcell: Any
    chemistry: Any
    settings: Any
    lab: Any


class DeviceKind(ABC):
    """One kind of instrument: its settings in a lab file, what it can do for protocols,
    how the lab builds its ophyd-async device on a wire, how it is simulated on that
    wire, and which diagnostics check it.

    Subclass it in the package of an instrument and offer the subclass as an entry point
    of group ``sdl_lab.devices`` (see docs/howto/driver.md).
    """

    #: the settings of a device of this kind (extend :class:`DeviceSettings`)
    settings: ClassVar[type[DeviceSettings]]
    #: the ophyd-async device class it builds
    device: ClassVar[type[Device]]
    #: what it does for protocol steps
    capabilities: ClassVar[frozenset[Capability]]
    #: the module of its diagnostics (``CHECKS`` and ``leave_safe``, see ``hw_tests``);
    #: None: only connection and identity are checked
    checks: ClassVar[str | None] = None
    #: the transports it speaks (``sim``, ``serial``, ``opcua``, ``epics``, ``sila2``,
    #: ``pylabrobot``)
    transports: ClassVar[frozenset[str]] = frozenset({"sim", "serial"})

    def place(self, settings: Any) -> str | None:
        """The location where it holds a vial (a slot, a holder, a pan), if any.

        Args:
            settings: the device's validated settings.
        """
        return None

    def lab_problems(self, name: str, settings: Any, lab: Any) -> list[str]:
        """What is wrong with the device in this lab (a reagent the lab does not know,
        another device it names that is not there), as ``field: message`` lines with the
        field's path from the lab file's top.

        Args:
            name: the device's name.
            settings: its validated settings.
            lab: the whole lab file (``LabConfig``).
        """
        return []

    def limits(self, settings: Any) -> dict[str, Range]:
        """Its limits by name, in their units, as the lab file declares them (protocol
        steps are checked against these before anything starts).

        Args:
            settings: the device's validated settings.
        """
        return {}

    @abstractmethod
    def build(self, name: str, settings: Any, wire: Wire, lab: Any) -> InstrumentDevice:
        """The device, not yet connected.

        Args:
            name: the device's name in the lab file.
            settings: its validated settings.
            wire: how it reaches its instrument.
            lab: the whole lab file (``LabConfig``), for what the lab shares (the vial's
                capacity, its places).
        """

    def simulator(self, name: str, settings: Any, parts: SimulatedParts) -> Any:
        """The instrument's side of its wire in a simulated lab: for a line instrument, an
        object with the methods of ``simulators.LineFirmware`` that ``PtyServer`` serves
        (``handle``, ``is_realtime``, ``answer_realtime``, ``tick``); for an EPICS
        instrument, one that serves its PVs (``start``, ``stop``, ``served_prefix``, as
        ``simulators.epics.HeatingBlockTwin``). None: it cannot be simulated.

        Args:
            name: the device's name.
            settings: its validated settings.
            parts: the simulation's clock, workcell, chemistry and this device's settings.
        """
        return None


def load_device_kind(kind: str | None, class_path: str | None) -> DeviceKind:
    """The device kind a lab-file entry names: an installed entry point (``kind``) or an
    import path (``class``, ``package.module:Name``). ``ValueError`` saying what to do if
    it cannot be found, does not load, or is not a device kind of an ophyd-async device.

    Args:
        kind: the entry point's name, or None.
        class_path: ``package.module:Name``, or None.
    """
    if (kind is None) == (class_path is None):
        raise ValueError("give the device's kind (an installed kind's name) or its class, not both")
    if class_path is not None:
        where = f"class {class_path!r}"
        loaded = _import(class_path)
    else:
        assert kind is not None
        where = f"kind {kind!r}"
        points = importlib.metadata.entry_points(group=DEVICES_GROUP, name=kind)
        point = next(iter(points), None)
        if point is None:
            known = sorted(p.name for p in importlib.metadata.entry_points(group=DEVICES_GROUP))
            raise ValueError(
                f"no installed device kind {kind!r}; installed: {', '.join(known)}. Install "
                f"the package of the instrument (it offers kinds under {DEVICES_GROUP}), or "
                "name its class: package.module:Kind"
            )
        try:
            loaded = point.load()
        except Exception as err:  # a package's code: any failure is its problem, named
            raise ValueError(
                f"kind {kind!r} ({point.value}) does not load: {type(err).__name__}: {err}"
            ) from None
    return _checked(loaded, where)


def _import(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{path!r}: write it as package.module:Kind")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a package's code: any failure is its problem, named
        raise ValueError(
            f"{path!r} does not import: {type(err).__name__}: {err}; is its package installed?"
        ) from None
    if not hasattr(module, attr):
        raise ValueError(f"{module_name} has no {attr!r}")
    return getattr(module, attr)


def _checked(loaded: Any, where: str) -> DeviceKind:
    from ophyd_async.core import Device  # loaded only once a kind is, not to read a file

    if isinstance(loaded, type) and issubclass(loaded, DeviceKind):
        loaded = loaded()
    if isinstance(loaded, type) and issubclass(loaded, Device):
        raise ValueError(
            f"{where} is an ophyd-async device class; name its DeviceKind, the class that "
            "says how the lab builds, simulates and checks it (see docs/howto/driver.md)"
        )
    if not isinstance(loaded, DeviceKind):
        raise ValueError(
            f"{where} is not a device kind (a subclass of lab.files.device_kinds.DeviceKind)"
        )
    device = getattr(loaded, "device", None)
    if not (isinstance(device, type) and issubclass(device, Device)):
        raise ValueError(f"{where}: its device {device!r} is not an ophyd-async Device class")
    return loaded
