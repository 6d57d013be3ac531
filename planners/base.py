"""The planner interface: ask for trials, tell outcomes, report the best.

Planners see parameters as pint quantities in the units the campaign declares, and
outcomes as plain floats keyed by objective name. They never import the rest of the lab.
"""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pint
from pint.facets.plain import PlainUnit

from planners.objectives import Measurement, ObjectiveFunction

ureg = pint.get_application_registry()


class PlannerError(Exception):
    """Base of planner errors."""


class InfeasibleSpaceError(PlannerError):
    """No point satisfies the bounds and constraints."""


class UnknownTrialError(PlannerError):
    """``tell`` was given a trial index the planner never proposed."""

    pass


#: a parameter's value as planners give and take it: a quantity, or a choice's name
ParameterValue = pint.Quantity | str


def _matches(value: float, allowed: float) -> bool:
    return math.isclose(value, allowed, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class Parameter:
    """A continuous parameter: ``lower``..``upper`` in ``unit``."""

    name: str
    unit: str
    lower: float
    upper: float

    def quantity(self, value: float | str) -> pint.Quantity:
        """``value`` (in this parameter's unit) as a quantity."""
        return ureg.Quantity(float(value), self.unit)

    def value(self, plain: float | str) -> ParameterValue:
        """A planner's plain value (a number in :attr:`unit`) as the lab's value."""
        return self.quantity(plain)

    def from_unit(self, u: float) -> float | str:
        """The plain value a point ``u`` of the unit interval stands for (how the
        space-filling baselines sample every kind of parameter alike)."""
        return self.lower + u * (self.upper - self.lower)

    def contains(self, plain: float | str) -> bool:
        """Whether a plain value is within the parameter."""
        return isinstance(plain, int | float) and self.lower <= plain <= self.upper

    def plain(self, value: ParameterValue) -> float | str:
        """The lab's value as the planner's plain value (pint's error if the dimension
        is wrong)."""
        if isinstance(value, str):
            raise pint.DimensionalityError(value, self.unit)
        return float(value.m_as(self.unit))

    def problem(self, value: ParameterValue) -> str | None:
        """Why ``value`` is not a value of this parameter (naming it), or None."""
        try:
            number = self.plain(value)
        except pint.DimensionalityError:
            return f"{self.name}: {_shown(value)} is not convertible to {_unit_text(self.unit)}"
        assert isinstance(number, float)
        if not self.lower - 1e-12 <= number <= self.upper + 1e-12:
            return (
                f"{self.name}: {number:g} {_unit_text(self.unit)} is outside "
                f"{self.lower:g}..{self.upper:g} {_unit_text(self.unit)}"
            )
        return None


@dataclass(frozen=True)
class DiscreteParameter:
    """An ordered parameter that takes one of a fixed set of ``values`` in ``unit``
    (equivalents 1, 1.5, 2; volumes 1 mL, 2 mL): the planner models the order."""

    name: str
    unit: str
    values: tuple[float, ...]

    @property
    def lower(self) -> float:
        """The lowest value (a discrete parameter spans a range, for linear programmes)."""
        return min(self.values)

    @property
    def upper(self) -> float:
        """The highest value."""
        return max(self.values)

    def quantity(self, value: float | str) -> pint.Quantity:
        """``value`` (in this parameter's unit) as a quantity."""
        return ureg.Quantity(float(value), self.unit)

    def value(self, plain: float | str) -> ParameterValue:
        """A planner's plain value as the lab's value."""
        return self.quantity(plain)

    def from_unit(self, u: float) -> float | str:
        """The value a point of the unit interval stands for: equal shares per value."""
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def contains(self, plain: float | str) -> bool:
        """Whether a plain value is one of the values."""
        return isinstance(plain, int | float) and any(_matches(plain, v) for v in self.values)

    def plain(self, value: ParameterValue) -> float | str:
        """The lab's value as the planner's plain value, snapped onto the value it
        matches (a value converted between units differs in its last digits)."""
        if isinstance(value, str):
            raise pint.DimensionalityError(value, self.unit)
        number = float(value.m_as(self.unit))
        return next((v for v in self.values if _matches(number, v)), number)

    def problem(self, value: ParameterValue) -> str | None:
        """Why ``value`` is not one of the values (naming them), or None."""
        unit = f" {_unit_text(self.unit)}" if self.unit else ""
        try:
            number = self.plain(value)
        except pint.DimensionalityError:
            return f"{self.name}: {_shown(value)} is not convertible to {_unit_text(self.unit)}"
        if not self.contains(number):
            allowed = ", ".join(f"{v:g}" for v in self.values)
            return f"{self.name}: {number:g}{unit} is not one of {allowed}{unit}"
        return None


@dataclass(frozen=True)
class ChoiceParameter:
    """A parameter that names one of ``choices`` (a catalyst, a base, a reagent), in no
    order; ``descriptors`` (choice -> numbers, one per ``descriptor_names``) let a model
    see how alike two choices are instead of only whether they are the same.
    """

    name: str
    choices: tuple[str, ...]
    descriptor_names: tuple[str, ...] = ()
    descriptors: Mapping[str, tuple[float, ...]] = field(default_factory=dict, compare=False)
    unit: str = field(init=False, default="")

    def value(self, plain: float | str) -> ParameterValue:
        """A planner's plain value (the choice's name) as the lab's value."""
        return str(plain)

    def from_unit(self, u: float) -> float | str:
        """The choice a point of the unit interval stands for: equal shares per choice."""
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def contains(self, plain: float | str) -> bool:
        """Whether ``plain`` is one of the choices."""
        return plain in self.choices

    def plain(self, value: ParameterValue) -> float | str:
        """The choice's name."""
        if not isinstance(value, str):
            raise pint.DimensionalityError(_shown(value), "a choice")
        return value

    def problem(self, value: ParameterValue) -> str | None:
        """Why ``value`` is not one of the choices (naming them), or None."""
        if not isinstance(value, str) or value not in self.choices:
            return f"{self.name}: {_shown(value)} is not one of {', '.join(self.choices)}"
        return None


#: any kind of parameter a search space holds
AnyParameter = Parameter | DiscreteParameter | ChoiceParameter


#: pint's symbol for the litre, "l", alone or after a prefix (not the "l" of "mol"): the
#: lab writes it "L" (devices.unit_symbol does the same for the other packages)
_LITRE = re.compile(r"(?<![A-Za-z])([a-zµ]?)l(?![A-Za-z])")


def _unit_text(unit: str | PlainUnit) -> str:
    return _LITRE.sub(r"\1L", f"{ureg.Unit(unit):~P}") if unit else "a number without a unit"


def _shown(value: object) -> str:
    if isinstance(value, pint.Quantity):
        return f"'{value.magnitude:g} {_unit_text(value.units)}'"
    return repr(value)


@dataclass(frozen=True)
class LinearConstraint:
    """``sum(coefficients[p] * p) <= bound``, each parameter in its declared unit.

    Args:
        coefficients: parameter name -> its coefficient.
        bound: the right-hand side.
        written: the constraint as a person wrote it, units and all (``cyan + magenta
            <= 6 mL``), for showing; the numbers above are what is checked.
    """

    coefficients: Mapping[str, float]
    bound: float
    written: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        """What a person reads: the constraint as written, or its exact form."""
        return self.written or str(self)

    def satisfied(self, values: Mapping[str, float], slack: float = 1e-6) -> bool:
        """Whether ``values`` meet the constraint.

        Args:
            values: parameter name -> number, in the parameter's unit.
            slack: how far past the bound still counts as met, relative to the size of
                the terms: the acquisition optimiser (SLSQP in the unit cube) meets a
                linear constraint to its tolerance, not exactly, and a proposal a few
                parts in a billion over it once failed three trials in a row and stopped
                a 48-trial campaign (6 nL past 6 mL harms nothing).
        """
        terms = [c * values[p] for p, c in self.coefficients.items()]
        scale = max(1.0, abs(self.bound), *(abs(t) for t in terms))
        return sum(terms) <= self.bound + slack * scale

    def __str__(self) -> str:
        # repr: the shortest text that reads back exactly, so the planner and our
        # feasibility checks agree at the boundary
        terms = " + ".join(f"{c!r}*{p}" for p, c in self.coefficients.items())
        return f"{terms} <= {self.bound!r}"


@dataclass(frozen=True)
class Objective:
    """What a planner optimises: a named outcome, minimised or maximised, and (for a
    planner that models the measurement itself) the function that computes it."""

    name: str
    minimize: bool = True
    function: ObjectiveFunction | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OutcomeConstraint:
    """A measured outcome that must stay at or below (``upper``) or at or above ``bound``:
    the planner avoids where its model expects a violation, and a trial that violates it
    is never the best."""

    name: str
    bound: float
    upper: bool = True

    def satisfied(self, outcomes: Mapping[str, float]) -> bool:
        """Whether ``outcomes`` meet the constraint."""
        value = outcomes[self.name]
        return value <= self.bound if self.upper else value >= self.bound

    def __str__(self) -> str:
        return f"{self.name} {'<=' if self.upper else '>='} {self.bound!r}"


@dataclass(frozen=True)
class SearchSpace:
    """The parameters (continuous, discrete, choices) and the linear constraints over the
    continuous ones that a proposal must meet."""

    parameters: Sequence[AnyParameter]
    constraints: Sequence[LinearConstraint] = ()

    @property
    def numeric(self) -> list[Parameter | DiscreteParameter]:
        """The parameters with numbers for values (continuous and discrete)."""
        return [p for p in self.parameters if not isinstance(p, ChoiceParameter)]

    @property
    def continuous(self) -> bool:
        """Every parameter is continuous (what a planner that models only such needs)."""
        return all(isinstance(p, Parameter) for p in self.parameters)

    def feasible(self, values: Mapping[str, float | str]) -> bool:
        """Within every parameter and constraint.

        Args:
            values: parameter name -> plain value (a number in the parameter's unit, or
                a choice's name).
        """
        if not all(p.contains(values[p.name]) for p in self.parameters):
            return False
        numbers = {p.name: float(values[p.name]) for p in self.numeric}
        return all(c.satisfied(numbers) for c in self.constraints)

    def maximum(self, weights: Mapping[str, float]) -> tuple[float, dict[str, float]] | None:
        """The largest ``sum(weights[p] * p)`` over the numeric parameters and a point
        reaching it, or None if no point satisfies the bounds and constraints (a linear
        programme; a discrete parameter counts as its range, so the answer may be above
        what its values reach, never below).

        Args:
            weights: parameter name -> weight; a parameter not named weighs 0.
        """
        from scipy.optimize import linprog

        numeric = self.numeric
        names = [p.name for p in numeric]
        result = linprog(
            [-weights.get(n, 0.0) for n in names],
            A_ub=[[c.coefficients.get(n, 0.0) for n in names] for c in self.constraints] or None,
            b_ub=[c.bound for c in self.constraints] or None,
            bounds=[(p.lower, p.upper) for p in numeric],
        )
        if result.status == 2:
            return None
        return float(-result.fun), dict(zip(names, map(float, result.x), strict=True))

    def empty(self) -> bool:
        """No point meets the bounds and constraints together."""
        return self.maximum({}) is None

    def magnitudes(self, parameters: Mapping[str, ParameterValue]) -> dict[str, float | str]:
        """The values as the planner's plain values: numbers in each parameter's unit,
        a choice by its name.

        Args:
            parameters: name -> quantity (in any unit of the parameter's dimension) or
                choice.
        """
        return {p.name: p.plain(parameters[p.name]) for p in self.parameters}

    def problems(self, parameters: Mapping[str, ParameterValue]) -> list[str]:
        """Why a point (e.g. an operator's edit) is not in the space, each naming its field;
        empty if it is.

        Args:
            parameters: name -> quantity or choice, as an operator or a script gave them.
        """
        found = [
            f"{n}: not a parameter of this campaign"
            for n in parameters
            if n not in {p.name for p in self.parameters}
        ]
        for p in self.parameters:
            if p.name not in parameters:
                found.append(f"{p.name}: missing")
            elif (problem := p.problem(parameters[p.name])) is not None:
                found.append(problem)
        if not found:
            numbers = {p.name: float(p.plain(parameters[p.name])) for p in self.numeric}
            found += [
                f"constraint {c.text}: violated"
                for c in self.constraints
                if not c.satisfied(numbers)
            ]
        return found


@dataclass
class Suggestion:
    """One proposed experiment: its trial index, parameters with units, and who proposed it (planner and generator)."""

    index: int
    parameters: dict[str, ParameterValue]
    #: which generator made it (e.g. "Sobol", "MBM"), kept as provenance
    generator: str
    #: what the planner says of it, kept as provenance: its seed, the observations and
    #: pending trials it knew, and (a model's proposal) the model's prediction there
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    """What a finished trial tells the planner: its outcomes, or that it failed."""

    index: int
    parameters: dict[str, ParameterValue]
    outcomes: dict[str, float] | None  # None: failed or abandoned
    reason: str = ""
    abandoned: bool = False  # never run (rejected by an operator), unlike a failure
    #: what was measured, kept for planners that model it (see Planner.wants_measurements)
    measurement: Measurement | None = None


@dataclass
class Planner(ABC):
    """Ask/tell loop shared by every planner; subclasses only propose points.

    One planner may be asked from one thread while it is told from another (a lab that
    proposes ahead while trials end): its public methods take turns on one lock.
    """

    space: SearchSpace
    objectives: Sequence[Objective]
    seed: int = 0
    outcome_constraints: Sequence[OutcomeConstraint] = ()
    name: str = field(init=False, default="planner")
    #: the planner models whole measurements (spectra), not only the outcomes: the lab
    #: gives it each trial's :class:`Measurement`, and again on a resume
    wants_measurements: bool = field(init=False, default=False)
    #: how :meth:`best` chooses, for the record: "observed" (the measured values) or
    #: "model" (the planner's model's estimate)
    best_rule: str = field(init=False, default="observed")
    history: dict[int, Observation] = field(init=False, default_factory=dict)
    pending: dict[int, Suggestion] = field(init=False, default_factory=dict)
    _lock: threading.RLock = field(
        init=False, default_factory=threading.RLock, repr=False, compare=False
    )

    # --- the interface -------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Suggestion]:
        """``n`` new trials, within bounds and constraints.

        Args:
            n: how many.
        """
        with self._lock:
            known = {
                "planner": self.name,
                "seed": self.seed,
                "observations": sum(o.outcomes is not None for o in self.history.values()),
                "failed": sum(
                    o.outcomes is None and not o.abandoned for o in self.history.values()
                ),
                "pending": len(self.pending),
                # which: a replay tells the others before it asks again (see lab's replay)
                "pending_trials": sorted(self.pending),
            }
            suggestions = self._propose(n)
            for s in suggestions:
                s.details = {**known, **s.details}
                self.pending[s.index] = s
            return suggestions

    def tell(
        self,
        index: int,
        outcomes: Mapping[str, float],
        measurement: Measurement | None = None,
    ) -> None:
        """Report a trial's outcome to the planner; incomplete outcomes are refused and the
        trial stays pending.

        Args:
            index: the trial, as :meth:`ask` numbered it.
            outcomes: objective (and outcome-constraint) name -> measured number.
            measurement: what the trial measured, for planners that model it.

        Raises:
            PlannerError: an objective or constrained outcome is missing.
            UnknownTrialError: the trial is not awaiting an outcome.
        """
        needed = {o.name for o in self.objectives} | {c.name for c in self.outcome_constraints}
        missing = needed - set(outcomes)
        if missing:
            raise PlannerError(f"trial {index}: outcomes lack {sorted(missing)}")
        if self.wants_measurements and measurement is None:
            raise PlannerError(f"trial {index}: {self.name} needs the measurement itself")
        with self._lock:
            suggestion = self._pop(index)
            self.history[index] = Observation(
                index, suggestion.parameters, dict(outcomes), measurement=measurement
            )
            self._observe(self.history[index])

    def tell_failed(self, index: int, reason: str) -> None:
        """A failed trial is information too: recorded, never silently dropped.

        Args:
            index: the trial, as :meth:`ask` numbered it.
            reason: why it failed (kept, and passed on to the planner's own record).
        """
        with self._lock:
            suggestion = self._pop(index)
            self.history[index] = Observation(index, suggestion.parameters, None, reason)
            self._observe(self.history[index])

    def abandon(self, index: int, reason: str) -> None:
        """A proposal that will not run (an operator rejected it): not a failure of the
        experiment, so planners that model failures do not learn from it.

        Args:
            index: the trial, as :meth:`ask` numbered it.
            reason: why it will not run.
        """
        with self._lock:
            suggestion = self._pop(index)
            self.history[index] = Observation(index, suggestion.parameters, None, reason, True)
            self._abandon(index)

    def attach(self, parameters: Mapping[str, ParameterValue], generator: str) -> Suggestion:
        """A trial chosen outside the planner (an operator's edit), pending like one asked.

        Args:
            parameters: name -> quantity, within the space.
            generator: who chose it, kept as provenance (e.g. ``operator:olga``).
        """
        wrong = [
            problem
            for p in self.space.parameters
            if not isinstance(p, Parameter)
            and (
                problem := p.problem(parameters[p.name])
                if p.name in parameters
                else f"{p.name}: missing"
            )
        ]
        if wrong:  # a replayed trial whose choice is no longer one (an edited record)
            raise PlannerError(f"{self.name}: cannot take a trial with {'; '.join(wrong)}")
        with self._lock:
            index = self._attach(dict(parameters))
            suggestion = Suggestion(index, dict(parameters), generator)
            self.pending[index] = suggestion
            return suggestion

    def replay(
        self,
        parameters: Mapping[str, ParameterValue],
        outcomes: Mapping[str, float] | None,
        reason: str = "",
        abandoned: bool = False,
        measurement: Measurement | None = None,
    ) -> int:
        """Re-enter a past trial (resuming from the store); returns its index.

        Args:
            parameters: name -> quantity, as the trial ran.
            outcomes: what it measured; None if it failed or was abandoned.
            reason: why it failed or was abandoned.
            abandoned: it never ran (rejected), rather than failed.
            measurement: what it measured, for planners that model it.
        """
        index = self.attach(parameters, "replay").index
        if abandoned:
            self.abandon(index, reason)
        elif outcomes is None:
            self.tell_failed(index, reason)
        else:
            self.tell(index, outcomes, measurement)
        return index

    def best(self) -> list[Observation]:
        """The best trials so far: by default the non-dominated completed trials that meet
        the outcome constraints (one, for a single objective), by their measured values."""
        with self._lock:
            return self._best()

    def _best(self) -> list[Observation]:
        """:meth:`best`, for a subclass with a rule of its own (a model's estimate)."""
        done = [
            o
            for o in self.history.values()
            if o.outcomes is not None
            and all(c.satisfied(o.outcomes) for c in self.outcome_constraints)
        ]
        signs = {o.name: (1.0 if o.minimize else -1.0) for o in self.objectives}

        def key(o: Observation) -> tuple[float, ...]:
            return tuple(signs[n] * o.outcomes[n] for n in signs)  # type: ignore[index]

        front = [
            a
            for a in done
            if not any(
                all(x <= y for x, y in zip(key(b), key(a), strict=True)) and key(b) != key(a)
                for b in done
            )
        ]
        return sorted(front, key=key)

    def close(self) -> None:  # noqa: B027
        """Let go of what the planner holds beyond its object (a process of its own, for
        :class:`~planners.process.PlannerProcess`); it answers nothing after."""

    # --- for subclasses ------------------------------------------------------------
    @abstractmethod
    def _propose(self, n: int) -> list[Suggestion]: ...

    @abstractmethod
    def _attach(self, parameters: dict[str, ParameterValue]) -> int: ...

    def _observe(self, observation: Observation) -> None:  # noqa: B027
        """Hook for planners that keep their own model of the data (a failure has
        ``outcomes`` None and its ``reason``)."""

    def _abandon(self, index: int) -> None:  # noqa: B027
        """Hook: the trial will never run."""

    def _pop(self, index: int) -> Suggestion:
        try:
            return self.pending.pop(index)
        except KeyError:
            raise UnknownTrialError(f"trial {index} is not awaiting an outcome") from None
