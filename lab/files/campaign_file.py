"""The campaign file: what to vary, within which bounds, towards which objectives."""

from __future__ import annotations

import csv
import io
import keyword
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pint
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from devices import parse_quantity, quantity_text, unit_symbol
from lab.errors import ConfigError, FieldProblems
from lab.files.plugins import load_callable
from lab.files.provenance import FileRecord
from lab.files.yaml_reading import file_problem, load_yaml_model, read_text
from planners import (
    AbsorbanceAt,
    AnyParameter,
    ChoiceParameter,
    DiscreteParameter,
    LinearConstraint,
    MaxAbsorbance,
    MeasuredValue,
    Objective,
    OutcomeConstraint,
    Parameter,
    SearchSpace,
    SpectralDistance,
    TotalVolume,
)
from planners.objectives import ObjectiveFunction
from protocols._name_field import Name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _quantity(value: Any) -> pint.Quantity:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} has no unit; write e.g. '{value} mL'")
    if not isinstance(value, str):
        raise ValueError(f"expected a quantity such as '2.5 mL', got {value!r}")
    return parse_quantity(value)


def _beside_file(path: Path, info: ValidationInfo) -> Path:
    """``path`` relative to the file that names it; symlinks are kept, so an error names
    the path the user wrote, not where a link leads."""
    return Path(os.path.abspath((info.context or {}).get("base_dir", Path(".")) / path))


def _existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    """A file the campaign names, beside the campaign file; ValueError if it cannot be read."""
    if value is None:
        return None
    path = _beside_file(value, info)
    problem = file_problem(path)
    if problem is not None:
        raise ValueError(f"{path}: {problem}")
    return path


class RangeConfig(_Model):
    """A continuous input the planner varies, between two quantities of the same dimension."""

    min: str = Field(description="lowest value, with its unit, e.g. '0 mL'")
    max: str = Field(description="highest value, in any unit of the same dimension")

    @field_validator("min", "max", mode="before")
    @classmethod
    def _parses(cls, value: Any) -> str:
        if isinstance(value, pint.Quantity):  # a campaign defined in Python
            value = f"{value.m!r} {value.units}"
        _quantity(value)
        return str(value)

    @model_validator(mode="after")
    def _ordered(self) -> RangeConfig:
        low, high = _quantity(self.min), _quantity(self.max)
        if not low.is_compatible_with(high):
            raise ValueError(
                f"min '{quantity_text(low)}' and max '{quantity_text(high)}' have different dimensions"
            )
        if low.to(high.units).m >= high.m:
            raise ValueError(
                f"min '{quantity_text(low)}' must be below max '{quantity_text(high)}'"
            )
        return self

    def parameter(self, name: str) -> Parameter:
        """The planner's parameter: name, bounds with units."""
        high = _quantity(self.max)
        unit = str(high.units)
        return Parameter(name, unit, float(_quantity(self.min).m_as(unit)), float(high.m))


class ValuesConfig(_Model):
    """An ordered input that takes one of a fixed set of values (equivalents 1, 1.5, 2;
    volumes 1 mL, 2 mL): plain numbers, or quantities of one dimension."""

    values: list[float | str] = Field(
        min_length=1, description="the values, e.g. [1, 1.5, 2] or ['1 mL', '2 mL']"
    )

    @field_validator("values", mode="before")
    @classmethod
    def _python_quantities(cls, value: Any) -> Any:
        if isinstance(value, list):  # a campaign defined in Python
            return [f"{v.m!r} {v.units}" if isinstance(v, pint.Quantity) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_dimension(self) -> ValuesConfig:
        self.parameter("values")
        return self

    def parameter(self, name: str) -> DiscreteParameter:
        """The planner's parameter: its values in one unit (the first value's), ascending."""
        first = self.values[0]
        unit = str(_quantity(first).units) if isinstance(first, str) else ""
        numbers = []
        for i, v in enumerate(self.values):
            if isinstance(v, str) != isinstance(first, str):
                raise ValueError(
                    f"values.{i}: {v!r} and {first!r}: give every value with a unit, or none"
                )
            if isinstance(v, str):
                q = _quantity(v)
                if not q.is_compatible_with(unit):
                    raise ValueError(
                        f"values.{i}: '{quantity_text(q)}' is not of the dimension of {first!r}"
                    )
                numbers.append(float(q.m_as(unit)))
            else:
                numbers.append(float(v))
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"values: {self.values} name a value twice")
        return DiscreteParameter(name, unit, tuple(sorted(numbers)))


class ChoicesConfig(_Model):
    """An input that names one of several things in no order (a catalyst, a base, a
    solvent): a choice may name a reagent or a place the protocol uses."""

    choices: list[Name] = Field(min_length=1, description="the names to choose among")
    descriptors: Path | None = Field(
        None,
        description="CSV: the choice's name in the first column, then one numeric column "
        "per descriptor (pKa, molar mass, ...), a header row naming them; the planner "
        "models the choices by them (relative to this file)",
    )
    _table: dict[str, tuple[float, ...]] = PrivateAttr(default_factory=dict)
    _columns: tuple[str, ...] = PrivateAttr(())

    @field_validator("choices")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        twice = sorted({c for c in value if value.count(c) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} named more than once")
        return value

    @field_validator("descriptors")
    @classmethod
    def _beside(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _existing_file(value, info)

    @model_validator(mode="after")
    def _described(self) -> ChoicesConfig:
        if self.descriptors is not None:
            self._columns, self._table = read_descriptors(self.descriptors, self.choices)
        return self

    def parameter(self, name: str) -> ChoiceParameter:
        """The planner's parameter: the choices, with their descriptors if given."""
        return ChoiceParameter(name, tuple(self.choices), self._columns, dict(self._table))


def _kind_of_parameter(value: Any) -> str:
    if isinstance(value, dict | BaseModel):
        keys = value if isinstance(value, dict) else type(value).model_fields
        if "choices" in keys:
            return "choice-parameter"
        if "values" in keys:
            return "values-parameter"
    return "range-parameter"


#: one parameter: a range (min, max), discrete values, or choices (the tags are no keys of
#: the file, so an error's path leaves them out)
ParameterConfig = Annotated[
    Annotated[RangeConfig, Tag("range-parameter")]
    | Annotated[ValuesConfig, Tag("values-parameter")]
    | Annotated[ChoicesConfig, Tag("choice-parameter")],
    Discriminator(_kind_of_parameter),
]


def read_descriptors(
    path: Path, choices: list[str]
) -> tuple[tuple[str, ...], dict[str, tuple[float, ...]]]:
    """A descriptors file: its descriptor names and each choice's numbers (rows for
    other names are allowed, so one file can serve several campaigns).

    Args:
        path: a CSV file: a header row, then the choice's name and its numbers.
        choices: the names that must each have a row.
    """
    try:
        text = read_text(path)
    except ConfigError as err:
        raise ValueError(f"descriptors {path}: {'; '.join(err.problems)}") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and not r[0].lstrip().startswith("#")]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise ValueError(
            f"descriptors {path}: expected a header row (name, then the descriptors) and a "
            "row per choice"
        )
    columns = tuple(c.strip() for c in rows[0][1:])
    table: dict[str, tuple[float, ...]] = {}
    for line, row in enumerate(rows[1:], start=2):
        name = row[0].strip()
        if len(row) != len(rows[0]):
            raise ValueError(
                f"descriptors {path}, row {line} ({name}): {len(row)} columns, the header "
                f"has {len(rows[0])}"
            )
        numbers = []
        for column, cell in zip(columns, row[1:], strict=True):
            try:
                number = float(cell)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise ValueError(
                    f"descriptors {path}, row {line} ({name}), column {column}: "
                    f"{cell.strip()!r} is not a number"
                )
            numbers.append(number)
        if name in table:
            raise ValueError(f"descriptors {path}: {name} has two rows")
        table[name] = tuple(numbers)
    missing = [c for c in choices if c not in table]
    if missing:
        raise ValueError(f"descriptors {path}: no row for {', '.join(missing)}")
    return columns, {c: table[c] for c in choices}


class PlannerConfig(_Model):
    """Which planner proposes the experiments."""

    name: Literal["ax", "ax-default", "sobol", "random", "spectral"] = Field(
        "ax",
        description="ax: Bayesian optimisation; ax-default: Ax untuned (slower, for "
        "comparison); sobol, random: baselines; spectral: models the measured spectrum "
        "(one objective computed from it)",
    )
    seed: int = Field(0, description="same seed, same proposals")
    initialization_trials: int | None = Field(
        None,
        ge=1,
        description="space-filling trials before the model; unset: the planner's own "
        "(ax 3, spectral 6)",
    )
    components: int = Field(
        6, ge=1, le=30, description="spectral: principal components of the spectrum it models"
    )
    descriptors: bool = Field(
        True,
        description="ax: model the choices that have descriptors by them (false: by a "
        "categorical kernel, as those without)",
    )
    propose_ahead: bool = Field(
        True,
        description="propose the next trial while trials run (they count as pending), so "
        "that a station that frees up starts at once; false: propose after each result",
    )
    own_process: bool = Field(
        False,
        description="make proposals in a process of their own, beside the lab's work "
        "instead of taking turns with it (for several stations; starting it takes a few "
        "seconds); the proposals are the same",
    )


class FailurePolicy(_Model):
    """What a failed trial does to the campaign. A device fault always stops it: the
    device is in an unknown state until someone looks."""

    on_failure: Literal["skip", "pause", "stop"] = Field(
        "skip",
        description="skip: go on with the next trial; pause: wait for an operator to resume "
        "(the dashboard's Resume, or Enter at the terminal); stop: end the campaign",
    )
    max_consecutive: int = Field(
        3, ge=1, description="this many failed trials in a row stop the campaign (a breaker)"
    )


#: the objectives computed from the spectrum alone, which the spectral planner models
SPECTRAL_KINDS = ("spectral_distance", "absorbance_at", "max_absorbance")


class _MeasureConfig(_Model):
    """A number computed from each trial's measurement."""

    name: str = Field(pattern=r"^[A-Za-z_]\w*$", description="its name in the store and plots")
    kind: Literal[
        "spectral_distance",
        "absorbance_at",
        "max_absorbance",
        "total_volume",
        "measured",
        "callable",
    ] = Field(
        description="spectral_distance: RMS distance to target; absorbance_at: the "
        "absorbance at wavelength; max_absorbance: the spectrum's highest absorbance; "
        "total_volume: the volume dispensed; measured: a reading as measured (field); "
        "callable: your function of the measurement (call)"
    )
    target: Path | None = Field(None, description="CSV of wavelength_nm,absorbance")
    wavelength: str | None = Field(None, description="for absorbance_at, e.g. '560 nm'")
    field: str | None = Field(
        None,
        description="for measured: the reading, by its data key (hplc-yield) or, if one "
        "device reports it, its name (yield)",
    )
    unit: str | None = Field(
        None, description="for measured: the unit to optimise it in (default: as reported)"
    )
    call: str | None = Field(
        None,
        description="for callable: package.module:function, given the measurement "
        "(planners.Measurement: spectrum, readings with units, parameters); returns a number",
    )

    @field_validator("name")
    @classmethod
    def _not_a_keyword(cls, value: str) -> str:
        if keyword.iskeyword(value):  # the planner reads names as expressions
            raise ValueError(f"{value!r} is a Python word; call it e.g. 'product_{value}'")
        return value

    @model_validator(mode="after")
    def _settings(self, info: ValidationInfo) -> _MeasureConfig:
        if self.kind == "spectral_distance":
            if self.target is None:
                raise ValueError("spectral_distance needs target: a CSV file of the spectrum")
            self.target = _beside_file(self.target, info)
            problem = file_problem(self.target)
            if problem is not None:
                raise ValueError(f"target file {self.target}: {problem}")
            read_target(self.target)
        if self.kind == "absorbance_at":
            if self.wavelength is None:
                raise ValueError("absorbance_at needs wavelength, e.g. '560 nm'")
            if not _quantity(self.wavelength).check("[length]"):
                raise ValueError(f"wavelength {self.wavelength!r} is not a length")
        if self.kind == "measured":
            if not self.field:
                raise ValueError("measured needs field: the reading, e.g. yield")
            if self.unit is not None:
                try:
                    pint.get_application_registry().Unit(self.unit)
                except (pint.UndefinedUnitError, ValueError, TypeError):
                    raise ValueError(f"unit {self.unit!r} is not a unit") from None
        if self.kind == "callable":
            if not self.call:
                raise ValueError("callable needs call: package.module:function")
            load_callable(self.call, ("measurement",))
        return self

    def function(self) -> ObjectiveFunction:
        """The function that computes this number from a measurement."""
        if self.kind == "spectral_distance":
            assert self.target is not None
            wl, a = read_target(self.target)
            return SpectralDistance(wl, a)
        if self.kind == "absorbance_at":
            return AbsorbanceAt(float(_quantity(self.wavelength).m_as("nm")))
        if self.kind == "max_absorbance":
            return MaxAbsorbance()
        if self.kind == "measured":
            assert self.field is not None
            return MeasuredValue(self.field, self.unit)
        if self.kind == "callable":
            assert self.call is not None
            found: ObjectiveFunction = load_callable(self.call, ("measurement",))
            return found
        return TotalVolume()


class ObjectiveConfig(_MeasureConfig):
    """A number computed from each trial's measurement, for the planner to optimise."""

    minimize: bool = Field(True, description="false: maximise")


class OutcomeConstraintConfig(_MeasureConfig):
    """A number computed from each trial's measurement that must stay within a bound: the
    planner avoids where it expects a violation; a trial that violates it is never best."""

    max: float | None = Field(None, description="the highest allowed value")
    min: float | None = Field(None, description="the lowest allowed value")

    @model_validator(mode="after")
    def _one_bound(self) -> OutcomeConstraintConfig:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of max: or min:")
        return self

    def constraint(self) -> OutcomeConstraint:
        """The planner's outcome constraint."""
        if self.max is not None:
            return OutcomeConstraint(self.name, self.max, upper=True)
        assert self.min is not None
        return OutcomeConstraint(self.name, self.min, upper=False)


def read_target(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A target spectrum from a CSV file: wavelengths (nm) and absorbance.

    Args:
        path: a CSV file with ``wavelength_nm`` and ``absorbance`` columns.
    """
    try:
        text = read_text(path)
    except ConfigError as err:
        raise ValueError(f"target {path}: {'; '.join(err.problems)}") from None
    try:
        data = np.loadtxt(io.StringIO(text), delimiter=",", comments="#", ndmin=2)
    except ValueError as err:
        raise ValueError(f"target {path}: not a CSV of wavelength_nm,absorbance ({err})") from None
    if data.shape[1] != 2 or data.shape[0] < 2:
        raise ValueError(f"target {path}: expected two columns and at least two rows")
    return data[:, 0], data[:, 1]


_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TERM = re.compile(rf"\s*([-+])?\s*(?:({_NUMBER})\s*\*\s*)?([A-Za-z_]\w*)\s*")


def parse_constraint(text: str, parameters: Mapping[str, AnyParameter]) -> LinearConstraint:
    """``"cyan + 2*magenta <= 8 mL"`` -> coefficients in each parameter's own unit.

    Args:
        text: the constraint as written in the campaign file.
        parameters: the campaign's parameters, by name.
    """
    if text.count("<=") != 1:
        raise ValueError(f"{text!r}: write a linear constraint as 'a + 2*b <= 8 mL'")
    lhs, rhs = text.split("<=")
    bound = _quantity(rhs.strip())
    coefficients: dict[str, float] = {}
    position = 0
    while position < len(lhs) or not coefficients:
        match = _TERM.match(lhs, position)
        if match is None or (coefficients and match.group(1) is None):
            rest = lhs[position:].strip() or "nothing"
            raise ValueError(f"{text!r}: cannot read {rest!r}; write terms as '2.5*name'")
        sign, coef, name = match.groups()
        position = match.end()
        if name not in parameters:
            raise ValueError(f"{text!r}: unknown parameter {name!r}")
        if not isinstance(parameters[name], Parameter):
            raise ValueError(
                f"{text!r}: {name} is not continuous; a constraint takes only parameters "
                "with min and max (choices and values are out of its reach)"
            )
        unit = pint.get_application_registry().Unit(parameters[name].unit)
        if not bound.is_compatible_with(unit):
            raise ValueError(
                f"{text!r}: {name} is in {unit_symbol(unit)}, the bound is '{quantity_text(bound)}'"
            )
        factor = float((1.0 * unit).m_as(bound.units))
        value = (-1.0 if sign == "-" else 1.0) * float(coef or 1.0) * factor
        coefficients[name] = coefficients.get(name, 0.0) + value
    return LinearConstraint(coefficients, float(bound.m), " ".join(text.split()))


class CampaignConfig(_Model):
    """The campaign file: what to vary, within which bounds, towards which objectives."""

    name: Name = Field(description="the campaign's name in the store")
    description: str = Field("", description="free text")
    lab: Path | None = Field(None, description="default lab file (relative to this file)")
    protocol: Path = Field(description="the protocol file of one trial (relative to this file)")
    trials: int = Field(20, ge=1, description="trials in all (a resume runs the rest)")
    batch_size: Annotated[int, Field(ge=1)] | Literal["plate"] = Field(
        1,
        validation_alias=AliasChoices("batch_size", "batch"),
        description="proposals asked of the planner at once (batch also reads); for a "
        "plate protocol, the wells filled and read together: a number, or plate (every "
        "well left on the plate)",
    )
    approval: Literal["automatic", "required"] = Field(
        "automatic", description="required: an operator approves, edits or rejects each proposal"
    )
    overlap: bool = Field(
        False,
        description="a station takes its next trial once the last one's vial has left it "
        "(to be measured), not once that trial has ended: more experiments per lab hour, "
        "while each proposal misses one more result and a seed no longer repeats itself "
        "exactly; needs planner.propose_ahead, and a protocol whose first step puts the "
        "vial into the station and no later step brings it back",
    )
    planner: PlannerConfig = PlannerConfig()
    failures: FailurePolicy = FailurePolicy()
    parameters: dict[Name, ParameterConfig] = Field(
        min_length=1,
        description="name -> {min, max} (continuous), {values: [...]} (discrete, ordered) "
        "or {choices: [...], descriptors: file.csv} (categorical); each name fills {name} "
        "in the protocol",
    )
    constraints: list[str] = Field(
        [], description="linear, e.g. 'cyan + 2.5*magenta <= 6 mL' (units as the bound)"
    )
    objectives: list[ObjectiveConfig] = Field(
        min_length=1,
        description="what to optimise; with several, the planner looks for the Pareto front",
    )
    outcome_constraints: list[OutcomeConstraintConfig] = Field(
        [], description="measured numbers that must stay within a bound, e.g. max_absorbance <= 2"
    )
    #: the file as it was read, if any (a campaign may be defined in Python)
    _file: FileRecord | None = PrivateAttr(None)

    @field_validator("lab", "protocol")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _existing_file(value, info)

    @model_validator(mode="after")
    def _constraints_parse(self) -> CampaignConfig:
        params = {n: p.parameter(n) for n, p in self.parameters.items()}
        problems = []
        for i, text in enumerate(self.constraints):
            try:
                parse_constraint(text, params)
            except ValueError as err:
                problems.append(f"constraints.{i}: {err}")
        names = [o.name for o in [*self.objectives, *self.outcome_constraints]]
        if len(set(names)) != len(names):
            problems.append(f"objectives, outcome_constraints: names must be unique, got {names}")
        if self.planner.name == "spectral":
            problems += self._spectral_problems()
        if self.overlap and not self.planner.propose_ahead:
            problems.append(
                "overlap: needs planner.propose_ahead: true (a station's next trial is "
                "proposed before the last one's result)"
            )
        if not problems and self.search_space().empty():
            problems.append(
                "constraints: no point within the parameters' bounds satisfies them all"
            )
        if problems:
            raise FieldProblems(problems)
        return self

    def _spectral_problems(self) -> list[str]:
        """What the spectral planner cannot take: it models one number of the spectrum."""
        problems = []
        if len(self.objectives) != 1:
            problems.append("objectives: the spectral planner takes exactly one objective")
        elif self.objectives[0].kind not in SPECTRAL_KINDS:
            problems.append(
                f"objectives.0.kind: the spectral planner needs one computed from the "
                f"spectrum ({', '.join(SPECTRAL_KINDS)}), not {self.objectives[0].kind}"
            )
        if self.outcome_constraints:
            problems.append("outcome_constraints: not taken by the spectral planner; use ax")
        problems += [
            f"parameters.{n}: the spectral planner takes only continuous parameters (min and "
            "max), not choices or values; use ax"
            for n, p in self.parameters.items()
            if not isinstance(p, RangeConfig)
        ]
        return problems

    def batch(self, wells_left: int = 96) -> int:
        """How many proposals are asked of the planner at once.

        Args:
            wells_left: the wells left on the plate, for ``batch_size: plate``.
        """
        return wells_left if self.batch_size == "plate" else self.batch_size

    def search_space(self) -> SearchSpace:
        """The planner's search space: parameters and linear constraints."""
        params = {n: p.parameter(n) for n, p in self.parameters.items()}
        return SearchSpace(
            list(params.values()), [parse_constraint(c, params) for c in self.constraints]
        )

    def objective_specs(self) -> list[Objective]:
        """The planner's objectives: names and directions."""
        return [Objective(o.name, o.minimize, o.function()) for o in self.objectives]

    def outcome_constraint_specs(self) -> list[OutcomeConstraint]:
        """The planner's outcome constraints."""
        return [c.constraint() for c in self.outcome_constraints]

    def measures(self) -> dict[str, ObjectiveFunction]:
        """Every number computed from a trial's measurement (objectives and constrained
        outcomes), by name."""
        return {m.name: m.function() for m in [*self.objectives, *self.outcome_constraints]}

    def definition(self) -> dict[str, Any]:
        """What makes two runs the same campaign (the trial budget may grow); the files it
        names enter by name and SHA-256, so the same files elsewhere are the same campaign
        and an edited one is not."""
        # no outcome constraints is written as none at all, as stores kept it before they existed
        excluded = {"trials", "description", "lab", "approval", "failures"}
        if not self.outcome_constraints:
            excluded.add("outcome_constraints")
        definition = self.model_dump(mode="json", exclude=excluded)
        files = self.files()
        definition["protocol"] = files["protocol"].ref()
        for objective in definition["objectives"]:
            if objective["target"] is not None:
                objective["target"] = files[f"target:{objective['name']}"].ref()
        for name, parameter in definition["parameters"].items():
            if parameter.get("descriptors") is not None:
                parameter["descriptors"] = files[f"descriptors:{name}"].ref()
        return definition

    def files(self) -> dict[str, FileRecord]:
        """The files the campaign runs with, as they are now: ``campaign`` (when read from
        a file), ``protocol``, ``target:<objective>`` for each target spectrum and
        ``descriptors:<parameter>`` for each descriptors file."""
        found = {"protocol": FileRecord.read(self.protocol)}
        if self._file is not None:
            found["campaign"] = self._file
        for objective in self.objectives:
            if objective.target is not None:
                found[f"target:{objective.name}"] = FileRecord.read(objective.target)
        for name, parameter in self.parameters.items():
            if isinstance(parameter, ChoicesConfig) and parameter.descriptors is not None:
                found[f"descriptors:{name}"] = FileRecord.read(parameter.descriptors)
        return found


def load_campaign(path: str | Path) -> CampaignConfig:
    """Read and check a campaign file; raises :class:`ConfigError` naming the file and every field at fault.

    Args:
        path: the campaign file.
    """
    config = load_yaml_model(CampaignConfig, path)
    config._file = FileRecord.read(path)
    return config
