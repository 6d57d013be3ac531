"""Protocol steps that packages add: a step kind names its fields, the capability of the
device it runs on, its preflight checks and its plan stub. Installed packages offer
theirs under the entry-point group ``sdl_lab.steps`` (name: the ``step:`` word of a
protocol), so a lab gains a step by installing a package, never by editing ours."""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from devices import Capability

if TYPE_CHECKING:  # the plans load only when a plan is made (see protocols/__init__.py)
    from bluesky.utils import MsgGenerator

    from devices import InstrumentDevice

#: the entry-point group where installed packages offer their step kinds
STEPS_GROUP = "sdl_lab.steps"


class StepFields(BaseModel):
    """The base of a step kind's fields (quantities as the protocol field types, e.g.
    ``protocols.fields.Volume``, so placeholders and units work as in any step)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StepKind(ABC):
    """One kind of protocol step a package adds.

    A step of this kind runs on a device that has ``needs`` (named by the step's
    ``device`` field, or the lab's only such device); when ``at_device`` is true it acts
    on the trial's vial, which must be at that device's place.
    """

    #: the step's own fields (``step`` and ``device`` are added by the lab)
    fields: ClassVar[type[StepFields]]
    #: what the device it runs on must be able to do
    needs: ClassVar[Capability]
    #: it acts on the trial's vial at the device's place
    at_device: ClassVar[bool] = True

    def problems(self, fields: Any, device: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What is wrong with a concrete step on this device, as (field, message) pairs,
        found before anything moves.

        Args:
            fields: the step's fields (an instance of :attr:`fields`).
            device: what the device declares of itself (see ``DeviceFacts``): its
                ``limits`` by name, as :class:`devices.Range`.
        """
        return []

    @abstractmethod
    def plan(self, fields: Any, device: InstrumentDevice) -> MsgGenerator[None]:
        """The plan stub of a concrete step on ``device`` (one event in the primary
        stream, if it measures).

        Args:
            fields: the step's fields (an instance of :attr:`fields`).
            device: the device it runs on.
        """


def step_kinds() -> dict[str, StepKind]:
    """Every installed step kind, by its ``step:`` word."""
    found = {}
    for point in importlib.metadata.entry_points(group=STEPS_GROUP):
        found[point.name] = load_step_kind(point.name, point)
    return found


def load_step_kind(word: str, point: importlib.metadata.EntryPoint | None = None) -> StepKind:
    """The step kind installed as ``word``; ``ValueError`` saying what to do if there is
    none or it does not load.

    Args:
        word: the ``step:`` word.
        point: its entry point, if already found.
    """
    if point is None:
        points = importlib.metadata.entry_points(group=STEPS_GROUP, name=word)
        point = next(iter(points), None)
    if point is None:
        raise ValueError(
            f"unknown step {word!r}: no installed package offers it (entry-point group "
            f"{STEPS_GROUP}); install the package of the instrument that does it"
        )
    try:
        loaded = point.load()
    except Exception as err:  # a package's code: any failure is its problem, named
        raise ValueError(
            f"step {word!r} ({point.value}) does not load: {type(err).__name__}: {err}"
        ) from None
    kind = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(kind, StepKind):
        raise ValueError(f"step {word!r} ({point.value}) is not a protocols.StepKind")
    return kind
