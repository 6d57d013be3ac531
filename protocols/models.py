"""Experiment protocols: validated, unit-aware step lists read from YAML."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal

import pint
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from protocols._name_field import Name, NameOrChoice
from protocols._quantity_field import (
    PLACEHOLDER,
    Duration,
    Length,
    Placeholder,
    Speed,
    Temperature,
    Volume,
    VolumeRate,
)
from protocols.step_kinds import load_step_kind


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Transfer(_Step):
    """Carry the vial from ``source`` to ``destination`` (a rack hands out a fresh vial;
    the destination must be free)."""

    step: Literal["transfer"]
    source: NameOrChoice
    destination: NameOrChoice


class Dispense(_Step):
    """Pump ``volume`` of ``reagent`` into the vial in the station's slot (needs a vial
    there, room in it, and the reagent in stock); ``rate`` defaults to the pump's."""

    step: Literal["dispense"]
    reagent: NameOrChoice
    volume: Volume
    rate: VolumeRate | None = None


class Heat(_Step):
    """Bring the station's block to ``temperature`` and wait until it has settled there."""

    step: Literal["heat"]
    temperature: Temperature


class Stir(_Step):
    """Stir the vial in the station's slot at ``speed`` for ``duration`` (needs a vial)."""

    step: Literal["stir"]
    speed: Speed
    duration: Duration


class Wait(_Step):
    """Let ``duration`` of lab time pass."""

    step: Literal["wait"]
    duration: Duration


class Measure(_Step):
    """Acquire the spectrum of the vial in the spectrometer's holder (needs a vial)."""

    step: Literal["measure"]
    integration_time: Duration


class Analyse(_Step):
    """Analyse the vial in the analyser's holder (needs a vial): one run of the
    instrument's method, reporting the quantities the lab file declares for it."""

    step: Literal["analyse"]


class Discard(_Step):
    """Carry the vial from ``source`` to the waste."""

    step: Literal["discard"]
    source: NameOrChoice


class Pipette(_Step):
    """Move ``volume`` of ``reagent`` from the liquid handler's reservoir into the trial's
    well, with a fresh tip (a plate protocol)."""

    step: Literal["pipette"]
    reagent: NameOrChoice
    volume: Volume


class Mix(_Step):
    """Mix the trial's well: draw ``volume`` up and down ``cycles`` times with a fresh tip."""

    step: Literal["mix"]
    volume: Volume
    cycles: int = Field(3, ge=1, le=50)


class WavelengthSweep(BaseModel):
    """The wavelengths read: ``min`` to ``max`` every ``step`` (one wavelength: min = max)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    min: Length
    max: Length
    step: Length = Field("10 nm", validate_default=True)

    @model_validator(mode="after")
    def _ordered(self) -> WavelengthSweep:
        if self.min.m_as("nm") > self.max.m_as("nm") or self.step.m_as("nm") <= 0:
            raise ValueError("min must not exceed max, and step must be above 0 nm")
        return self

    def nanometres(self) -> list[float]:
        """Each wavelength read, in nm."""
        low, high, step = (float(q.m_as("nm")) for q in (self.min, self.max, self.step))
        count = int((high - low) / step + 1e-9) + 1
        return [low + i * step for i in range(count)]


class ReadPlate(_Step):
    """Read the absorbance of the plate's wells (each trial's its own event) at
    ``wavelengths``: the last step of a plate protocol, run once for the plate."""

    step: Literal["read_plate"]
    wavelengths: WavelengthSweep


#: the steps of a plate protocol (its trials are the wells of one plate, filled together)
PLATE_STEPS = ("pipette", "mix", "read_plate")


class StepProblems(ValueError):
    """What is wrong with a step's own fields, each with its path below the step.

    Args:
        problems: ``"field: message"`` lines.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PluginStep(_Step):
    """A step an installed package adds (see :mod:`protocols.step_kinds`): its own fields
    are checked by its kind, and kept as text (``"2.5 g"``, ``"{mass}"``), so a protocol
    holding it is JSON like any other."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    step: Name
    device: Name | None = Field(
        None, description="the device it runs on; default: the lab's only one that can"
    )

    @model_validator(mode="after")
    def _its_kind_agrees(self, info: ValidationInfo) -> PluginStep:
        try:
            kind = load_step_kind(self.step)
        except ValueError as err:
            raise StepProblems(
                [f"step: {err}; the steps every lab knows are {', '.join(BUILT_IN_STEPS)}"]
            ) from None
        try:
            fields = kind.fields.model_validate(self.model_extra or {}, context=info.context)
        except ValidationError as err:
            raise StepProblems(
                [
                    f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                    for e in err.errors()
                ]
            ) from None
        extra = self.__pydantic_extra__
        assert extra is not None
        extra.update(fields.model_dump(mode="json", exclude_none=True))
        return self

    @property
    def fields(self) -> Any:
        """The step's own fields, as its kind reads them (a concrete step's)."""
        return load_step_kind(self.step).fields.model_validate(
            self.model_extra or {}, context={"filled": True}
        )


#: the ``step:`` words of the steps every lab knows; any other names an installed step kind
BUILT_IN_STEPS = (
    "transfer",
    "dispense",
    "heat",
    "stir",
    "wait",
    "measure",
    "analyse",
    "discard",
    *PLATE_STEPS,
)


def _step_tag(value: Any) -> str:
    word = value.get("step") if isinstance(value, dict) else getattr(value, "step", None)
    return word if word in BUILT_IN_STEPS else "plugin"


Step = Annotated[
    Annotated[Transfer, Tag("transfer")]
    | Annotated[Dispense, Tag("dispense")]
    | Annotated[Heat, Tag("heat")]
    | Annotated[Stir, Tag("stir")]
    | Annotated[Wait, Tag("wait")]
    | Annotated[Measure, Tag("measure")]
    | Annotated[Analyse, Tag("analyse")]
    | Annotated[Discard, Tag("discard")]
    | Annotated[Pipette, Tag("pipette")]
    | Annotated[Mix, Tag("mix")]
    | Annotated[ReadPlate, Tag("read_plate")]
    | Annotated[
        PluginStep,
        Tag("plugin"),
        WithJsonSchema(
            {
                "type": "object",
                "description": "a step an installed package adds (its own fields beside step)",
                "properties": {
                    "step": {"type": "string", "not": {"enum": list(BUILT_IN_STEPS)}},
                    "device": {"type": "string", "description": "the device it runs on"},
                },
                "required": ["step"],
            }
        ),
    ],
    Discriminator(_step_tag),
]


class Protocol(BaseModel):
    """A protocol template; ``fill`` turns it into the concrete protocol of one trial.

    Steps run in order, one vial at a time; the station's safe state follows the last
    step, or a failure."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Name
    description: str = ""
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Protocol:
        """A plate protocol fills wells and reads the plate; it moves no vials."""
        words = [step.step for step in self.steps]
        plate = [w for w in words if w in PLATE_STEPS]
        if not plate:
            return self
        others = sorted({w for w in words if w not in PLATE_STEPS and w != "wait"})
        if others:
            raise ValueError(
                f"steps: a plate protocol ({', '.join(sorted(set(plate)))}) cannot also have "
                f"vial steps ({', '.join(others)}); write one protocol per kind"
            )
        if words.count("read_plate") != 1 or words[-1] != "read_plate":
            raise ValueError("steps: a plate protocol ends with one read_plate step")
        return self

    @property
    def on_plate(self) -> bool:
        """Its trials are wells of a plate, filled together and read at once."""
        return any(step.step in PLATE_STEPS for step in self.steps)

    def frees_its_station(self, slots: Collection[str]) -> bool:
        """Whether a station may start its next trial once this trial's vial has left it
        (while the vial is measured, say): the first step brings the vial into a
        station's slot, so the next trial holds nothing while it waits for that slot, and
        no later step brings a vial back there, so this trial never waits for the next
        one. A place a parameter chooses is not known beforehand: then no.

        Args:
            slots: the lab's stations' slots.
        """
        first = self.steps[0]
        if not (isinstance(first, Transfer) and first.destination in slots):
            return False
        return not any(
            isinstance(step, Transfer)
            and (step.destination == first.destination or PLACEHOLDER.match(step.destination))
            for step in self.steps[1:]
        )

    def placeholders(self) -> dict[str, str]:
        """Placeholder name -> field path where it is used (first use)."""
        found: dict[str, str] = {}
        for i, step in enumerate(self.steps):
            for field, value in step:
                if isinstance(value, str) and PLACEHOLDER.match(value):  # a plugin step's text
                    value = Placeholder(value)
                if isinstance(value, Placeholder):
                    found.setdefault(value.key, f"steps.{i}.{field}")
        return found

    def fill(self, parameters: Mapping[str, pint.Quantity | str]) -> Protocol:
        """The concrete protocol for one trial. Raises pydantic's ValidationError (with the
        field path) if a parameter has the wrong dimension or a placeholder is missing.

        Args:
            parameters: a value with its unit for each placeholder (a choice: its name),
                by parameter name.
        """
        data = self.model_dump(mode="python")
        for step in data["steps"]:
            for field, value in step.items():
                match = PLACEHOLDER.match(value) if isinstance(value, str) else None
                if match is not None and match.group(1) in parameters:
                    step[field] = parameters[match.group(1)]
        return Protocol.model_validate(data, context={"filled": True})

    def moved(self, places: dict[str, str]) -> Protocol:
        """The same protocol with places renamed (``old -> new``), e.g. one written for
        a lab's first synthesis station, run on another.

        Args:
            places: location name -> the location to use instead.
        """
        steps = [
            step.model_copy(
                update={
                    f: places[v]
                    for f in ("source", "destination")
                    if isinstance(v := getattr(step, f, None), str) and v in places
                }
            )
            for step in self.steps
        ]
        return self.model_copy(update={"steps": steps})

    def reagent_volumes(self) -> dict[str, pint.Quantity]:
        """Reagent -> what the protocol's dispenses into its vial take of it, in mL (a
        concrete protocol: a placeholder dispenses nothing yet)."""
        used: dict[str, pint.Quantity] = {}
        dispenses = [s for s in self.steps if isinstance(s, Dispense)]
        for step in dispenses:
            if isinstance(step.volume, pint.Quantity) and isinstance(step.reagent, str):
                volume = step.volume.to("mL")
                used[step.reagent] = used.get(step.reagent, 0 * volume) + volume
        return used

    def fresh_vials(self, sources: frozenset[str]) -> int:
        """How many fresh vials the protocol takes from the racks at ``sources``.

        Args:
            sources: the lab's racks (locations with role source).
        """
        return sum(isinstance(s, Transfer) and s.source in sources for s in self.steps)

    def to_json_dict(self) -> dict[str, Any]:
        """The protocol as JSON-able data (quantities as text)."""
        return self.model_dump(mode="json", exclude_none=True)
