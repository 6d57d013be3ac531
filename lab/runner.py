"""The campaign loop: ask -> fill protocol -> preflight -> RunEngine -> documents ->
objectives -> tell, with the store as the source of truth at every step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pint
from bluesky.utils import RunEngineInterrupted
from pydantic import ValidationError

from devices import DeviceError, format_quantity, parse_quantity
from lab.campaign_config import CampaignConfig
from lab.compose import Lab
from lab.errors import ConfigError, load_yaml_model, problems_of
from lab.measurement import measurement_from_documents
from lab.store import Store, TrialRecord
from planners import PLANNERS, Planner, PlannerError, Suggestion
from protocols import LabLimits, PreflightError, Protocol, preflight, run_protocol


class CampaignStopped(Exception):
    """The campaign cannot go on safely (a device failed, or the operator interrupted)."""


@dataclass
class TrialResult:
    index: int
    status: str
    parameters: dict[str, pint.Quantity]
    outcomes: dict[str, float] | None
    error: str | None
    seconds: float
    run_uid: str | None = None


@dataclass
class Progress:
    """What a progress display needs after each trial."""

    done: int
    total: int
    last: TrialResult
    best: dict[str, float] | None


@dataclass
class CampaignResult:
    name: str
    trials: list[TrialRecord]
    best: list[TrialRecord] = field(default_factory=list)
    stopped: str | None = None
    plots: list[Path] = field(default_factory=list)


def campaign_protocol(campaign: CampaignConfig) -> Protocol:
    """The campaign's protocol, checked against its parameters before any trial: every
    placeholder has a parameter whose unit fits where it is used."""
    protocol = load_yaml_model(Protocol, campaign.protocol)
    problems = []
    used = protocol.placeholders()
    for name, path in used.items():
        if name not in campaign.parameters:
            problems.append(f"{path}: placeholder {{{name}}} is not a campaign parameter")
    unused = set(campaign.parameters) - set(used)
    if unused:
        problems.append(f"parameters {sorted(unused)} are not used by protocol {protocol.name!r}")
    if set(used) <= set(campaign.parameters):
        space = campaign.search_space()
        for bound in ("lower", "upper"):
            values = {p.name: p.quantity(getattr(p, bound)) for p in space.parameters}
            try:
                protocol.fill(values)
            except ValidationError as err:
                problems += [
                    f"with parameters at their {bound} bounds: {p}" for p in problems_of(err)
                ]
                break
    if problems:
        raise ConfigError(campaign.protocol, problems)
    return protocol


def check_bounds(
    campaign: CampaignConfig, protocol: Protocol, limits: LabLimits, source: str | Path
) -> None:
    """Preflight the protocol with every parameter at its lower, then its upper bound,
    before the campaign starts. A bound the lab cannot honour (a temperature beyond the
    heater) is blamed on the parameter; a problem at both bounds (an unknown location)
    is the protocol's own."""
    space = campaign.search_space()
    placeholders = protocol.placeholders()
    found: dict[str, list] = {}
    for bound in ("lower", "upper"):
        values = {p.name: p.quantity(getattr(p, bound)) for p in space.parameters}
        try:
            preflight(protocol.fill(values), limits)
            found[bound] = []
        except PreflightError as err:
            found[bound] = err.violations
    problems: set[str] = set()
    for bound, violations in found.items():
        other = found["upper" if bound == "lower" else "lower"]
        for v in violations:
            owners = [name for name, path in placeholders.items() if v.concerns(path)]
            if owners:
                field = "min" if bound == "lower" else "max"
                problems |= {
                    f"parameters.{n}.{field}: {v.message} (used at {v.path})" for n in owners
                }
            elif v in other:
                problems.add(f"{protocol.name}: {v}")
    if problems:
        raise ConfigError(source, sorted(problems))


class CampaignRunner:
    """Runs one campaign on one lab, resuming whatever the store already holds."""

    def __init__(
        self,
        lab: Lab,
        campaign: CampaignConfig,
        protocol: Protocol,
        store: Store,
        planner: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.lab = lab
        self.campaign = campaign
        self.store = store
        self.protocol = protocol
        planner_name = planner or campaign.planner.name
        seed = campaign.planner.seed if seed is None else seed
        definition = campaign.definition()
        self.definition = {
            **definition,
            "planner": {**definition["planner"], "name": planner_name, "seed": seed},
        }
        self.objectives = {o.name: o.function() for o in campaign.objectives}
        self.planner = self._make_planner(planner_name, seed)
        self._resumed = False

    def _make_planner(self, name: str, seed: int) -> Planner:
        cls = PLANNERS[name]
        kwargs: dict[str, Any] = {}
        if name == "ax":
            kwargs["initialization_trials"] = self.campaign.planner.initialization_trials
        return cls(
            self.campaign.search_space(), self.campaign.objective_specs(), seed=seed, **kwargs
        )

    # --- resume ----------------------------------------------------------------------
    def _resume(self) -> None:
        """Replay stored trials into the planner; a trial cut off mid-run is failed, not
        repeated (its vial may hold reagent already)."""
        self.store.open_campaign(
            self.campaign.name, self.definition, self.lab.config.model_dump(mode="json")
        )
        records = self.store.trials(self.campaign.name)
        for r in records:
            if r.status in ("proposed", "running"):
                r.status, r.error = "failed", f"interrupted while {r.status}; not repeated"
                self.store.update_trial(self.campaign.name, r.idx, status="failed", error=r.error)
            params = {k: parse_quantity(v) for k, v in r.parameters.items()}
            index = self.planner.replay(
                params, r.outcomes if r.status == "completed" else None, r.error or ""
            )
            if index != r.idx:
                raise PlannerError(f"replay gave trial {index}, the store holds {r.idx}")

    # --- one trial -------------------------------------------------------------------
    def _run_trial(self, s: Suggestion) -> TrialResult:
        name = self.campaign.name
        start = time.perf_counter()
        self.store.add_trial(
            name,
            s.index,
            {k: format_quantity(v) for k, v in s.parameters.items()},
            f"{self.planner.name}/{s.generator}",
        )
        run_uid: str | None = None

        def fail(error: str) -> TrialResult:
            self.store.update_trial(name, s.index, status="failed", error=error, run_uid=run_uid)
            self.planner.tell_failed(s.index, error)
            return TrialResult(
                s.index, "failed", s.parameters, None, error, time.perf_counter() - start, run_uid
            )

        try:
            concrete = self.protocol.fill(s.parameters)
            preflight(concrete, self.lab.limits())
        except (ValidationError, PreflightError) as err:
            return fail(f"preflight: {err}")
        self.store.update_trial(name, s.index, status="running")
        documents: list[tuple[str, dict[str, Any]]] = []

        def keep(doc_name: str, doc: dict[str, Any]) -> None:
            nonlocal run_uid
            if doc_name == "start":
                run_uid = doc["uid"]
                self.store.update_trial(name, s.index, run_uid=run_uid)
            assert run_uid is not None
            self.store.add_document(run_uid, doc_name, doc)
            documents.append((doc_name, doc))

        md = {"campaign": name, "trial": s.index, "planner": f"{self.planner.name}/{s.generator}"}
        try:
            self.lab.run_engine(run_protocol(self.lab.devices, concrete, md), keep)
        except RunEngineInterrupted:
            self.lab.run_engine.abort("operator interrupt")
            fail("interrupted by the operator")
            raise CampaignStopped("interrupted by the operator") from None
        except Exception as err:  # the RunEngine re-raises whatever the plan raised
            cause = _root_cause(err)
            result = fail(f"{type(cause).__name__}: {cause}")
            if isinstance(cause, DeviceError):
                raise CampaignStopped(f"trial {s.index}: {cause}") from err
            return result
        self._record_sample(s.index, documents, concrete)
        try:
            measurement = measurement_from_documents(
                documents, self.lab.devices.spectrometer.name, s.parameters
            )
            outcomes = {n: f(measurement) for n, f in self.objectives.items()}
        except (ValueError, KeyError) as err:
            return fail(f"objective: {err}")
        self.store.update_trial(name, s.index, status="completed", outcomes=outcomes)
        self.planner.tell(s.index, outcomes)
        return TrialResult(
            s.index, "completed", s.parameters, outcomes, None, time.perf_counter() - start, run_uid
        )

    def _record_sample(
        self, index: int, documents: list[tuple[str, dict[str, Any]]], protocol: Protocol
    ) -> None:
        arm = self.lab.devices.arm.name
        handled = [d["data"].get(f"{arm}-holding") for n, d in documents if n == "event"]
        vial = next((h for h in handled if h), None)
        if vial is None:
            return
        composition: dict[str, pint.Quantity] = {}
        for step in protocol.steps:
            if step.step == "dispense":
                composition[step.reagent] = composition.get(step.reagent, 0) + step.volume
        self.store.add_sample(
            vial,
            self.campaign.name,
            index,
            {k: format_quantity(v) for k, v in composition.items()},
            "waste",
        )
        self.store.update_trial(self.campaign.name, index, sample_id=vial)

    # --- the loop ----------------------------------------------------------------------
    def run(
        self,
        trials: int | None = None,
        on_trial: Callable[[Progress], None] | None = None,
        on_start: Callable[[int, int], None] | None = None,
    ) -> CampaignResult:
        """Run until ``trials`` trials (default: the campaign's) are in the store."""
        total = trials or self.campaign.trials
        if not self._resumed:  # once per runner: the planner then holds the store's trials
            self._resume()
            self._resumed = True
        done = len(self.store.trials(self.campaign.name))
        if on_start:
            on_start(done, total)
        stopped = None
        try:
            while done < total:
                want = min(self.campaign.batch_size, total - done)
                for suggestion in self.planner.ask(want):
                    result = self._run_trial(suggestion)
                    done += 1
                    if on_trial:
                        best = self.planner.best()
                        on_trial(Progress(done, total, result, best[0].outcomes if best else None))
        except CampaignStopped as err:
            stopped = str(err)
        except PlannerError as err:
            stopped = f"planner: {err}"
        return self.result(stopped)

    def result(self, stopped: str | None = None) -> CampaignResult:
        records = self.store.trials(self.campaign.name)
        best_idx = {o.index for o in self.planner.best()}
        return CampaignResult(
            self.campaign.name, records, [r for r in records if r.idx in best_idx], stopped
        )


def _root_cause(err: BaseException) -> BaseException:
    seen = err
    while seen.__cause__ is not None or (
        seen.__context__ is not None and not seen.__suppress_context__
    ):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return seen
