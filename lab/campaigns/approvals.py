"""Proposals waiting for an operator: approve as proposed, approve an edit, or reject.

The campaign's thread waits at the desk; the API's threads answer. An edit is parsed with
its units and checked against the campaign's bounds and constraints before it is accepted,
so a bad edit changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pint

from devices import parse_quantity
from lab.errors import LabError, NotFound
from lab.values import format_value
from planners import (
    AnyParameter,
    ChoiceParameter,
    DiscreteParameter,
    ParameterValue,
    SearchSpace,
    Suggestion,
)


@dataclass(frozen=True)
class Decision:
    """An operator's answer to a proposal: approve it (``parameters`` set if edited, already
    checked against the campaign's space) or reject it with a reason."""

    approved: bool
    by: str
    parameters: dict[str, ParameterValue] | None = None
    reason: str = ""


ureg = pint.get_application_registry()


class Approvals(Protocol):
    """Where proposals wait for an operator (the lab server's :class:`ApprovalDesk`);
    without one, trials start at once."""

    def decide(
        self, campaign: str, suggestion: Suggestion, stopping: threading.Event
    ) -> Decision | None:
        """Block until someone decides; None if ``stopping`` is set first.

        Args:
            campaign: the campaign's name.
            suggestion: the planner's proposal.
            stopping: set when the campaign stops.
        """
        ...


class UnknownProposal(NotFound):
    """No proposal with that campaign and trial number is waiting."""


class InvalidEdit(LabError, ValueError):
    """An edit outside the campaign's space; ``problems`` name each parameter at fault."""

    status = 422

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class Proposal:
    """A proposed trial waiting for an operator's decision."""

    campaign: str
    index: int
    parameters: dict[str, ParameterValue]
    generator: str
    space: SearchSpace
    proposed: float = field(default_factory=time.time)
    decision: Decision | None = None
    decided: threading.Event = field(default_factory=threading.Event)

    def as_json(self) -> dict[str, object]:
        """The proposal as the API shows it."""
        return {
            "campaign": self.campaign,
            "trial": self.index,
            "parameters": {k: format_value(v) for k, v in self.parameters.items()},
            "bounds": {p.name: _bounds(p) for p in self.space.parameters},
            "constraints": [c.text for c in self.space.constraints],
            "generator": self.generator,
            "proposed": self.proposed,
        }


class ApprovalDesk:
    """Pending proposals across campaigns.

    Args:
        spaces: campaign name -> its search space, for checking edits; the manager fills it.
        on_change: called (from any thread) whenever the list of pending proposals changes.
    """

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.spaces: dict[str, SearchSpace] = {}
        self._on_change = on_change
        self._pending: dict[tuple[str, int], Proposal] = {}
        self._lock = threading.Lock()

    def decide(
        self, campaign: str, suggestion: Suggestion, stopping: threading.Event
    ) -> Decision | None:
        """Wait for an operator's decision on ``suggestion`` (None if the campaign stops first).

        Args:
            campaign: the campaign's name.
            suggestion: the planner's proposal.
            stopping: set when the campaign stops; the wait ends then.
        """
        proposal = Proposal(
            campaign,
            suggestion.index,
            dict(suggestion.parameters),
            suggestion.generator,
            self.spaces[campaign],
        )
        with self._lock:
            self._pending[(campaign, suggestion.index)] = proposal
        self._on_change()
        try:
            while not proposal.decided.wait(0.2):
                if stopping.is_set():
                    return None
            return proposal.decision
        finally:
            with self._lock:
                self._pending.pop((campaign, suggestion.index), None)
            self._on_change()

    def pending(self, campaign: str | None = None) -> list[Proposal]:
        """The proposals waiting, oldest first.

        Args:
            campaign: only this campaign's; all if None.
        """
        with self._lock:
            found = list(self._pending.values())
        return [p for p in found if campaign is None or p.campaign == campaign]

    def approve(
        self, campaign: str, index: int, by: str, edits: Mapping[str, str] | None = None
    ) -> Decision:
        """Approve, with ``edits`` (parameter -> ``"1.2 mL"``) if given; raises
        :class:`InvalidEdit` naming every bad parameter, and then nothing changes.

        Args:
            campaign: the campaign's name.
            index: the proposal's trial number.
            by: who decides (a username), kept with the decision.
            edits: edited values by parameter name, as text with units.
        """
        proposal = self._get(campaign, index)
        parameters = checked(edits, proposal.space, proposal.parameters) if edits else None
        return self._answer(proposal, Decision(True, by, parameters))

    def reject(self, campaign: str, index: int, by: str, reason: str) -> Decision:
        """Reject a proposal with the reason; its trial is abandoned.

        Args:
            campaign: the campaign's name.
            index: the proposal's trial number.
            by: who decides (a username), kept with the decision.
            reason: why, kept with the trial.
        """
        return self._answer(self._get(campaign, index), Decision(False, by, reason=reason))

    def _get(self, campaign: str, index: int) -> Proposal:
        with self._lock:
            proposal = self._pending.get((campaign, index))
        if proposal is None or proposal.decided.is_set():
            raise UnknownProposal(
                f"no proposal for trial {index} of {campaign!r} awaits a decision"
            )
        return proposal

    def _answer(self, proposal: Proposal, decision: Decision) -> Decision:
        with self._lock:
            if proposal.decided.is_set():
                raise UnknownProposal(f"trial {proposal.index} was decided already")
            proposal.decision = decision
            proposal.decided.set()
        return decision


def _bounds(p: AnyParameter) -> dict[str, object]:
    """What an edit of ``p`` may be, as the dashboard offers it."""
    if isinstance(p, ChoiceParameter):
        return {"choices": list(p.choices)}
    if isinstance(p, DiscreteParameter):
        return {"values": [format_value(p.quantity(v)) for v in p.values]}
    return {"min": f"{p.lower!r} {p.unit}", "max": f"{p.upper!r} {p.unit}"}


def checked(
    values: Mapping[str, str],
    space: SearchSpace,
    base: Mapping[str, ParameterValue] | None = None,
) -> dict[str, ParameterValue]:
    """A trial's parameters from text with units (``{"cyan": "1.2 mL"}``), over ``base``
    (a proposal edited), each in its parameter's own unit (``300 K`` is kept as
    26.85 degC); raises :class:`InvalidEdit` naming every parameter at fault.

    Args:
        values: parameter -> its value as text (a choice: its name).
        space: the campaign's search space.
        base: the values not given (an edit of a proposal); every parameter if None.
    """
    unknown = sorted(set(values) - {p.name for p in space.parameters})
    if unknown:
        raise InvalidEdit([f"parameters.{n}: no such parameter" for n in unknown])
    # text that is no quantity (or no choice) is refused first
    parameters = {**(base or {}), **_parse(values, space)}
    missing = [p.name for p in space.parameters if p.name not in parameters]
    if missing:
        raise InvalidEdit([f"parameters.{n}: missing" for n in missing])
    problems = space.problems(parameters)
    if problems:
        raise InvalidEdit(
            [p if p.startswith("constraint") else f"parameters.{p}" for p in problems]
        )
    return {p.name: p.value(p.plain(parameters[p.name])) for p in space.parameters}


def _parse(edits: Mapping[str, str], space: SearchSpace) -> dict[str, ParameterValue]:
    choices = {p.name for p in space.parameters if isinstance(p, ChoiceParameter)}
    unitless = {p.name for p in space.numeric if p.unit == ""}
    parsed: dict[str, ParameterValue] = {}
    problems = []
    for name, text in edits.items():
        if not isinstance(text, str):
            problems.append(f"parameters.{name}: give a quantity with its unit, e.g. '1.2 mL'")
            continue
        if name in choices:
            parsed[name] = text.strip()
            continue
        if name in unitless and _is_number(text):  # equivalents: 1.5 means 1.5
            parsed[name] = ureg.Quantity(float(text), "")
            continue
        try:
            parsed[name] = parse_quantity(text)
        except ValueError as err:
            problems.append(f"parameters.{name}: {err}")
    if problems:
        raise InvalidEdit(problems)
    return parsed


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
