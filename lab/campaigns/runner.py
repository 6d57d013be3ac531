"""The campaign loop: ask -> (approval) -> fill protocol -> preflight -> executor ->
documents in the store -> objectives -> tell, with the store as the source of truth.

Trials run through an :class:`~lab.runtime.executor.Executor`, so several may be in flight at once
(one per executor slot); the planner is asked again whenever a slot frees up.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pint
from pydantic import ValidationError

from devices import DeviceError, DeviceRefused, UnsafeState, format_quantity
from lab.data import trial_row
from lab.errors import ConfigError
from lab.files.campaign_file import CampaignConfig
from lab.files.lab_file import LabConfig
from lab.files.provenance import FileRecord, canonical_sha256, diagnosis_summary, software
from lab.records.ledger import confirmed_composition, vials_handled
from lab.records.measurement import measurement_from_documents
from lab.records.timeline import steps_finished
from lab.runtime.executor import Executor, ExecutorState, PlanOutcome, PlanRequest
from lab.store import Store, StoreError, TrialRecord, TrialStatus
from planners import Measurement, Planner, PlannerError, Suggestion, planner_class
from protocols import LabLimits, PreflightError, preflight
from protocols import Protocol as LabProtocol

ureg = pint.get_application_registry()

#: statuses of a trial that has used up an experiment of the budget
SPENT = (TrialStatus.COMPLETED, TrialStatus.FAILED)


@dataclass
class TrialResult:
    """How one trial ended: its index, status, parameters, outcomes and error."""

    index: int
    status: TrialStatus
    parameters: dict[str, pint.Quantity]
    outcomes: dict[str, float] | None
    error: str | None
    seconds: float
    run_uid: str | None = None
    device: str | None = None  # the device whose error failed the trial


@dataclass
class Progress:
    """What a progress display needs after each trial."""

    done: int
    total: int
    last: TrialResult
    best: dict[str, float] | None


@dataclass
class CampaignResult:
    """What a campaign run did: its trials, the best, why it stopped (if it did), the plots, and any device left unsafe."""

    name: str
    trials: list[TrialRecord]
    best: list[TrialRecord] = field(default_factory=list)
    stopped: str | None = None
    plots: list[Path] = field(default_factory=list)
    #: a device that could not be brought to its safe state: nobody may take it for safe
    left_unsafe: str | None = None
    #: the planner as the run left it: its own analyses (for Ax: ``summary()``,
    #: ``predict(points)``) are there to ask
    planner: Planner | None = None

    def dataframe(self) -> Any:
        """The trials as a pandas DataFrame, one row each: ``trial``, ``status``, each
        parameter as a number in a column named with its unit (``cyan [mL]``), each
        outcome, ``error`` and ``planner``."""
        import pandas as pd

        return pd.DataFrame([trial_row(t) for t in self.trials])


@dataclass(frozen=True)
class Decision:
    """An operator's answer to a proposal: approve it (``parameters`` set if edited, already
    checked against the campaign's space) or reject it with a reason."""

    approved: bool
    by: str
    parameters: dict[str, pint.Quantity] | None = None
    reason: str = ""


class Approvals(Protocol):
    """Where proposals wait for an operator (the lab server's approval desk); without one, trials start at once."""

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


class LabSide(Protocol):
    """What the campaign loop reads of the lab: a connected :class:`~lab.runtime.lab.Lab`, or
    workcells reached through their queue servers (:class:`lab.workcells.WorkcellPool`)."""

    config: LabConfig

    def limits(self, station: str | None = None) -> LabLimits:
        """What a protocol is checked against on ``station`` (the first if None)."""
        ...

    def identities(self) -> dict[str, dict[str, str]]:
        """What each instrument says it is, by device name."""
        ...

    def start_state_problems(self) -> list[str]:
        """What keeps the lab from its start state (vials left behind, a station hot)."""
        ...


class RunnerEvents:
    """What a display learns from a running campaign; override what you need."""

    def started(self, done: int, total: int) -> None:
        """The store has been read: ``done`` trials of ``total`` are already spent."""

    def trial_changed(self, index: int) -> None:
        """Trial ``index`` changed in the store (proposed, decided, running, ...)."""

    def trial_finished(self, progress: Progress) -> None:
        """A trial completed or failed.

        Args:
            progress: the campaign's progress after it.
        """

    def attached(self, runner: CampaignRunner) -> None:
        """The runner about to run, e.g. for a display that offers pause and abort."""

    def paused(self, reason: str) -> None:
        """The campaign paused itself (``failures.on_failure: pause``); it waits for the
        executor to be resumed.

        Args:
            reason: why, as the operator sees it.
        """


def campaign_definition(campaign: CampaignConfig, planner: str, seed: int) -> dict[str, Any]:
    """What the store compares to tell the same campaign from a changed one.

    Args:
        campaign: the campaign file.
        planner: the planner's name.
        seed: the planner's seed.
    """
    definition = campaign.definition()
    settings = {**definition["planner"], "name": planner, "seed": seed}
    if planner != "spectral":  # a setting of that planner alone
        settings.pop("components")
    return {**definition, "planner": settings}


def make_planner(campaign: CampaignConfig, name: str, seed: int) -> Planner:
    """A fresh planner for the campaign, as a run (or a replay) starts it.

    Args:
        campaign: the campaign file.
        name: the planner's name (``ax``, ``sobol``, ...).
        seed: its seed.
    """
    kwargs: dict[str, Any] = {}
    if name.startswith("ax") or name == "spectral":
        kwargs["initialization_trials"] = campaign.planner.initialization_trials
    if name == "spectral":
        kwargs["components"] = campaign.planner.components
    return planner_class(name)(
        campaign.search_space(),
        campaign.objective_specs(),
        seed=seed,
        outcome_constraints=campaign.outcome_constraint_specs(),
        **kwargs,
    )


@dataclass
class _InFlight:
    suggestion: Suggestion
    started: float
    lane: str
    station: str


class CampaignRunner:
    """Runs one campaign on one lab, resuming whatever the store already holds.

    Args:
        lab: the lab the trials run in: connected devices, or workcells.
        campaign: the checked campaign.
        protocol: its protocol template.
        store: where trials are kept; the executor's RunEngine writes the documents there.
        executor: where plans run.
        planner: overrides the campaign file's planner.
        seed: overrides the campaign file's seed.
        approvals: if given, every proposal waits for its decision.
        operator: recorded in each run's start document.
    """

    def __init__(
        self,
        lab: LabSide,
        campaign: CampaignConfig,
        protocol: LabProtocol,
        store: Store,
        executor: Executor,
        planner: str | None = None,
        seed: int | None = None,
        approvals: Approvals | None = None,
        operator: str | None = None,
    ) -> None:
        self.lab = lab
        self.campaign = campaign
        self.store = store
        self.protocol = protocol
        self.executor = executor
        self.approvals = approvals
        self.operator = operator
        planner_name = planner or campaign.planner.name
        seed = campaign.planner.seed if seed is None else seed
        self.definition = campaign_definition(campaign, planner_name, seed)
        self.objectives = campaign.measures()
        self.space = campaign.search_space()
        try:
            self.planner = make_planner(campaign, planner_name, seed)
        except PlannerError as err:  # a planner chosen on the command line, say
            raise ConfigError(f"campaign {campaign.name}", [f"planner: {err}"]) from None
        self._resumed = False
        #: this run of the campaign (see :meth:`Store.next_session`), set on the first run()
        self.session: int | None = None
        self._provenance: dict[str, Any] = {}
        self._queued: list[Suggestion] = []
        self._stopping = threading.Event()
        self.stop_reason: str | None = None
        self.left_unsafe: str | None = None

    # --- control (from any thread) -----------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Start no new trial; those in flight finish. The first reason given is kept."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stopping.set()

    def abort(self, reason: str) -> None:
        """Stop, and end the trial in flight now (it is recorded as failed).

        Args:
            reason: why, kept with the failed trial.
        """
        self.request_stop(reason)
        self.executor.abort(reason)

    @property
    def stopping(self) -> bool:
        """A stop was asked for: no new trial will start."""
        return self._stopping.is_set()

    # --- resume ----------------------------------------------------------------------
    def _resume(self) -> None:
        """Replay stored trials into the planner. A trial that never started a run is run
        now, under its own number; one cut off mid-run is failed, not repeated (its vial
        may hold reagent already); an undecided proposal is rejected."""
        self.store.open_campaign(
            self.campaign.name, self.definition, self.lab.config.model_dump(mode="json")
        )
        self.session = self.store.next_session(self.campaign.name)
        self._provenance = self._campaign_provenance()
        for r in self.store.trials(self.campaign.name):
            params = r.parameters
            if r.status in (TrialStatus.PROPOSED, TrialStatus.RUNNING) and r.run_uid is None:
                again = self.planner.attach(params, r.planner.split("/", 1)[-1])
                if again.index != r.idx:
                    raise PlannerError(f"replay gave trial {again.index}, the store holds {r.idx}")
                self._queued.append(again)  # nothing ran: nothing can be done twice
                continue
            if r.status in (TrialStatus.PROPOSED, TrialStatus.RUNNING):
                self._settle_interrupted(r)
            elif r.status == TrialStatus.AWAITING_APPROVAL:
                r.status, r.error = TrialStatus.REJECTED, "not decided before the lab stopped"
                self.store.update_trial(self.campaign.name, r.idx, status=r.status, error=r.error)
            completed = r.status == TrialStatus.COMPLETED
            index = self.planner.replay(
                params,
                r.outcomes if completed else None,
                r.error or "",
                abandoned=r.status == TrialStatus.REJECTED,
                measurement=self._measurement(r) if completed else None,
            )
            if index != r.idx:
                raise PlannerError(f"replay gave trial {index}, the store holds {r.idx}")

    def _campaign_provenance(self) -> dict[str, Any]:
        """What every run of this session carries in its start document: the campaign's
        identity, its files by name and SHA-256 (their texts go into the store), each
        instrument's identity with its latest diagnosis, and the software."""
        files: dict[str, FileRecord] = {**self.campaign.files(), "lab": self.lab.config.file()}
        for record in files.values():
            self.store.keep_file(record)
        latest = self.store.diagnoses.latest()
        devices = {
            name: {**identity, "diagnosis": diagnosis_summary(latest.get(name, []))}
            for name, identity in self.lab.identities().items()
        }
        return {
            "campaign_identity": canonical_sha256(self.definition),
            "files": {key: record.ref() for key, record in files.items()},
            "devices": devices,
            "software": software(),
        }

    def _settle_interrupted(self, r: TrialRecord) -> None:
        """A trial whose run the last process left unfinished: completed if its
        measurement reached the store (a measurement is never thrown away), failed
        otherwise (never repeated)."""
        assert r.run_uid is not None
        interrupted = f"interrupted while {r.status}; not repeated"
        r.status, r.error = TrialStatus.FAILED, interrupted
        try:
            _, outcomes = self._measure(r.run_uid, r.parameters)
        except ValueError as err:
            if "no measurement" not in str(err):
                r.error = f"{interrupted}; objective: {err}"
            self.store.update_trial(self.campaign.name, r.idx, status=r.status, error=r.error)
            return
        r.status, r.error, r.outcomes = TrialStatus.COMPLETED, None, _magnitudes(outcomes)
        self.store.update_trial(
            self.campaign.name, r.idx, outcomes=outcomes, status=r.status, error=None
        )
        self._record_sample(
            r.idx, self.store.documents(r.run_uid), self.protocol.fill(r.parameters)
        )

    def _measurement(self, r: TrialRecord) -> Measurement | None:
        """A completed trial's measurement, read back from its run, for a planner that
        models measurements (None for the others: they need only the outcomes)."""
        if not self.planner.wants_measurements or r.run_uid is None:
            return None
        return measurement_from_documents(
            self.store.documents(r.run_uid), self.lab.config.spectrometer[0], r.parameters
        )

    def _measure(
        self, run_uid: str, parameters: dict[str, pint.Quantity]
    ) -> tuple[Measurement, dict[str, pint.Quantity]]:
        """A run's stored measurement and its objectives, with their units (a pure
        number's is dimensionless); ValueError with the reason if there is none, or if the
        data or an objective is not a finite number."""
        measurement = measurement_from_documents(
            self.store.documents(run_uid), self.lab.config.spectrometer[0], parameters
        )
        if measurement.absorbance is not None and not np.all(np.isfinite(measurement.absorbance)):
            raise ValueError("the spectrum holds values that are not finite (NaN or infinity)")
        outcomes = {n: _quantity(f(measurement)) for n, f in self.objectives.items()}
        bad = [f"{n} = {v.m}" for n, v in outcomes.items() if not math.isfinite(v.m)]
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a finite number")
        return measurement, outcomes

    def spent(self) -> int:
        """Trials completed or failed so far."""
        return sum(r.status in SPENT for r in self.store.trials(self.campaign.name))

    # --- one trial -------------------------------------------------------------------
    def _decide(self, s: Suggestion, events: RunnerEvents) -> Suggestion | None:
        """Record the proposal; with approvals, wait for the operator's decision."""
        name = self.campaign.name
        waiting = self.approvals is not None
        status = TrialStatus.AWAITING_APPROVAL if waiting else TrialStatus.PROPOSED
        if self.store.trial(name, s.index) is None:
            planner = f"{self.planner.name}/{s.generator}"
            self.store.add_trial(
                name,
                s.index,
                s.parameters,
                planner,
                status=status,
                suggestion=s.details,
                session=self.session,
            )
        else:  # proposed before a restart and never started
            self.store.update_trial(name, s.index, status=status)
        events.trial_changed(s.index)
        if self.approvals is None:
            return s
        decision = self.approvals.decide(name, s, self._stopping)
        if decision is None or not decision.approved:
            reason = "not decided before the campaign stopped"
            if decision is not None:
                reason = f"rejected by {decision.by}: {decision.reason or 'no reason given'}"
            self.planner.abandon(s.index, reason)
            self.store.update_trial(
                name,
                s.index,
                status=TrialStatus.REJECTED,
                error=reason,
                decided_by=decision.by if decision else None,
            )
            events.trial_changed(s.index)
            return None
        if decision.parameters is None or decision.parameters == s.parameters:
            self.store.update_trial(
                name, s.index, status=TrialStatus.PROPOSED, decided_by=decision.by
            )
            events.trial_changed(s.index)
            return s
        self.planner.abandon(s.index, f"edited by {decision.by}")
        edited = self.planner.attach(decision.parameters, f"edit-of-{s.index}")
        self.store.update_trial(
            name,
            s.index,
            status=TrialStatus.REJECTED,
            error=f"edited by {decision.by} into trial {edited.index}",
            decided_by=decision.by,
        )
        self.store.add_trial(
            name,
            edited.index,
            edited.parameters,
            f"{self.planner.name}/{edited.generator}",
            decided_by=decision.by,
            session=self.session,
        )
        events.trial_changed(s.index)
        events.trial_changed(edited.index)
        return edited

    def _fail(
        self,
        s: Suggestion,
        error: str,
        started: float,
        run_uid: str | None,
        device: str | None = None,
    ) -> TrialResult:
        self.store.update_trial(
            self.campaign.name, s.index, status=TrialStatus.FAILED, error=error, run_uid=run_uid
        )
        self.planner.tell_failed(s.index, error)
        seconds = time.perf_counter() - started
        return TrialResult(
            s.index, TrialStatus.FAILED, s.parameters, None, error, seconds, run_uid, device
        )

    def _concrete(self, parameters: dict[str, pint.Quantity], station: str) -> LabProtocol:
        """The trial's protocol on its station: a station's slot named in the protocol
        means the slot of the station the trial runs on."""
        slots = {name: cfg.slot for name, cfg in self.lab.config.stations}
        moved = {slot: slots[station] for slot in slots.values() if slot != slots[station]}
        return self.protocol.fill(parameters).moved(moved)

    def _start(
        self, s: Suggestion, lane: str
    ) -> tuple[Future[PlanOutcome], _InFlight] | TrialResult:
        started = time.perf_counter()
        stations = [name for name, _ in self.lab.config.stations]
        # a lane is one of the lab's stations, or a workcell: its own first station
        station = lane if lane in stations else stations[0]
        outside = self.space.problems(s.parameters)
        if outside:  # a planner's bug must not reach a device
            return self._fail(s, f"the planner proposed {'; '.join(outside)}", started, None)
        try:
            concrete = self._concrete(s.parameters, station)
            preflight(concrete, self.lab.limits(station))
        except (ValidationError, PreflightError) as err:
            return self._fail(s, f"preflight: {err}", started, None)
        self.store.update_trial(self.campaign.name, s.index, status=TrialStatus.RUNNING)
        md = {
            "campaign": self.campaign.name,
            "trial": s.index,
            "station": station,
            **({"workcell": lane} if lane != station else {}),
            "planner": f"{self.planner.name}/{s.generator}",
            "operator": self.operator,
            "provenance": {
                **self._provenance,
                "session": self.session,
                "suggestion": {"generator": s.generator, **s.details},
                "protocol_sha256": canonical_sha256(concrete.to_json_dict()),
            },
        }
        kwargs = {"protocol": concrete.to_json_dict(), "station": station}
        request = PlanRequest("run_protocol", kwargs, md, lane)
        return self.executor.submit(request), _InFlight(s, started, lane, station)

    def _finish(self, trial: _InFlight, outcome: PlanOutcome) -> TrialResult:
        s, name = trial.suggestion, self.campaign.name
        run_uid = outcome.run_uids[0] if outcome.run_uids else None
        if outcome.exit_status != "success":
            device = None
            if outcome.error is not None:
                cause = _root_cause(outcome.error)
                error, told = f"{type(cause).__name__}: {cause}", str(cause)
                unsafe = _unsafe(outcome.error)
                if unsafe is not None:
                    self.left_unsafe = str(unsafe)
                if unsafe is not None and unsafe is not cause:  # the cleanup failed too
                    error, told = f"{error}; then {unsafe}", f"{cause}; then {unsafe}"
                if isinstance(cause, DeviceError):
                    device = cause.device
                    self.request_stop(f"trial {s.index}: {told}")
                store_error = next(
                    (e for e in _chain(outcome.error) if isinstance(e, StoreError)), None
                )
                if store_error is not None:  # experiments whose data cannot be kept: stop
                    self.request_stop(_store_failed(store_error))
            else:
                error = f"aborted: {outcome.reason or 'no reason given'}"
                self.request_stop(f"trial {s.index} {error}")
            if self.stop_reason and self.stop_reason not in error:  # e.g. the emergency stop
                error = f"{error} ({self.stop_reason})"
            if run_uid is not None:  # where its vial is and what it holds stays known
                documents = self.store.documents(run_uid)
                protocol = self._concrete(s.parameters, trial.station)
                done = steps_finished(documents) == len(protocol.steps)
                fate = "waste" if done else "left in the workcell by a failed trial"
                self._record_sample(s.index, documents, protocol, fate)
            return self._fail(s, error, trial.started, run_uid, device)
        assert run_uid is not None
        self._record_sample(
            s.index, self.store.documents(run_uid), self._concrete(s.parameters, trial.station)
        )
        try:
            measurement, outcomes = self._measure(run_uid, s.parameters)
        except (ValueError, KeyError) as err:
            return self._fail(s, f"objective: {err}", trial.started, run_uid)
        self.store.update_trial(name, s.index, status=TrialStatus.COMPLETED, outcomes=outcomes)
        with _planner_errors(
            f"learning from trial {s.index} (kept in the store; a resume tells it again)"
        ):
            self.planner.tell(s.index, _magnitudes(outcomes), measurement)
        seconds = time.perf_counter() - trial.started
        return TrialResult(
            s.index,
            TrialStatus.COMPLETED,
            s.parameters,
            _magnitudes(outcomes),
            None,
            seconds,
            run_uid,
        )

    # --- the workcell's start state --------------------------------------------------------
    def _clear_workcell(self) -> None:
        """Before the first trial: a station left stirring or hot is stopped and every vial
        a fault left behind goes to the waste (and into the ledger), so a resume after any
        fault starts clean; if that fails, the campaign does not start."""
        try:
            problems = self.lab.start_state_problems()
        except DeviceRefused as err:  # a latched emergency stop: a person clears it
            self.request_stop(f"nothing starts: {err}")
            return
        except DeviceError as err:
            self.request_stop(f"the workcell cannot be read, so nothing starts: {err}")
            return
        if not problems:
            return
        found = "; ".join(problems)
        md = {"campaign": self.campaign.name, "operator": self.operator, "reason": found}
        outcome = self.executor.submit(PlanRequest("clear_workcell", {}, md)).result()
        if outcome.exit_status != "success":
            why = outcome.error or outcome.reason or outcome.exit_status
            self.request_stop(
                f"the workcell could not be brought to its start state ({found}): {why}"
            )
            return
        for run_uid in outcome.run_uids:
            for vial in self._vials_handled(self.store.documents(run_uid)):
                self._ledger_cleared(vial)

    def _vials_handled(self, documents: list[tuple[str, dict[str, Any]]]) -> list[str]:
        return vials_handled(documents, self.lab.config.arm[0])

    def _ledger_cleared(self, vial: str) -> None:
        fate = "waste: cleared after a fault"
        if self.store.sample(vial) is not None:
            self.store.update_sample(vial, fate=fate)
            return
        trial = next(
            (
                r.idx
                for r in reversed(self.store.trials(self.campaign.name))
                if r.run_uid and vial in self._vials_handled(self.store.documents(r.run_uid))
            ),
            -1,
        )
        self.store.add_sample(
            vial, self.campaign.name, trial, {}, f"{fate} (contents not recorded)"
        )

    def _record_sample(
        self,
        index: int,
        documents: list[tuple[str, dict[str, Any]]],
        protocol: LabProtocol,
        fate: str = "waste",
    ) -> None:
        """The trial's vial into the ledger, with what the station confirmed it received."""
        vial = next(iter(self._vials_handled(documents)), None)
        if vial is None:
            return
        start = next(doc for name, doc in documents if name == "start")
        station_name = start.get("station") or self.lab.config.stations[0][0]
        pumps = self.lab.config.devices[station_name].pumps  # type: ignore[union-attr]
        composition = confirmed_composition(documents, protocol, station_name, pumps)
        if self.store.sample(vial) is None:
            self.store.add_sample(vial, self.campaign.name, index, _as_text(composition), fate)
        self.store.update_trial(self.campaign.name, index, sample_id=vial)

    # --- the loop ----------------------------------------------------------------------
    def run(
        self,
        trials: int | None = None,
        events: RunnerEvents | None = None,
    ) -> CampaignResult:
        """Run until ``trials`` trials (default: the campaign's) are spent, or a stop.

        Args:
            trials: how many trials in all; the campaign's if None.
            events: told of each trial's progress (the dashboard's, the CLI's progress bar).
        """
        events = events or RunnerEvents()
        events.attached(self)
        total = trials or self.campaign.trials
        if not self._resumed:  # once per runner: the planner then holds the store's trials
            self._resume()
            self._resumed = True
        done = self.spent()
        events.started(done, total)
        self._clear_workcell()
        in_flight: dict[Future[PlanOutcome], _InFlight] = {}

        failed_in_a_row = 0

        def report(result: TrialResult) -> None:
            nonlocal done, failed_in_a_row
            done += 1
            events.trial_changed(result.index)
            best = self.planner.best()
            self.store.set_best(self.campaign.name, [o.index for o in best], self.planner.best_rule)
            events.trial_finished(Progress(done, total, result, best[0].outcomes if best else None))
            failed_in_a_row = failed_in_a_row + 1 if result.status == TrialStatus.FAILED else 0
            if failed_in_a_row:
                self._after_failure(result, failed_in_a_row, events)

        try:
            while True:
                while (
                    not self.stopping
                    and len(in_flight) < len(self.executor.lanes)
                    and done + len(in_flight) < total
                ):
                    if self._held():
                        continue
                    busy = {t.lane for t in in_flight.values()}
                    lane = next(n for n in self.executor.lanes if n not in busy)
                    started = self._next(total - done - len(in_flight), lane, events)
                    if isinstance(started, TrialResult):
                        report(started)
                    elif started is not None:
                        in_flight[started[0]] = started[1]
                        events.trial_changed(started[1].suggestion.index)
                if not in_flight:
                    break
                for future in _first_done(in_flight):
                    report(self._finish(in_flight.pop(future), future.result()))
        except KeyboardInterrupt:
            self.abort("interrupted by the operator")
            for future in list(in_flight):
                report(self._finish(in_flight.pop(future), future.result()))
        except PlannerError as err:
            self.request_stop(f"planner: {err}")
        except StoreError as err:
            self.request_stop(_store_failed(err))
        result = self.result()
        self._stopping.clear()  # told in the result; a later run() starts afresh
        self.stop_reason = None
        return result

    def _after_failure(self, result: TrialResult, in_a_row: int, events: RunnerEvents) -> None:
        """The campaign's failure policy, and a breaker: a run of failures stops the
        campaign, so a failing device or protocol is not used again and again."""
        policy = self.campaign.failures
        why = f"trial {result.index} failed: {result.error}"
        if in_a_row >= policy.max_consecutive:
            self.request_stop(
                f"{in_a_row} trials failed in a row (failures.max_consecutive); last: {why}"
            )
        elif policy.on_failure == "stop":
            self.request_stop(f"{why} (failures.on_failure: stop)")
        elif policy.on_failure == "pause" and not self.stopping:
            self.executor.pause()
            events.paused(f"{why} (failures.on_failure: pause)")

    def _held(self) -> bool:
        """While the executor is paused, propose nothing: a trial shown as running must be
        running. True while held (the caller looks again)."""
        if self.executor.state != ExecutorState.PAUSED or self.stopping:
            return False
        time.sleep(0.05)
        return True

    def _next(
        self, budget: int, lane: str, events: RunnerEvents
    ) -> tuple[Future[PlanOutcome], _InFlight] | TrialResult | None:
        """Ask (a batch at a time; the trials in flight count as pending), decide, and
        start one trial on ``lane``; None if it was rejected."""
        if not self._queued:
            with _planner_errors("proposing"):
                self._queued = self.planner.ask(min(self.campaign.batch_size, budget))
        decided = self._decide(self._queued.pop(0), events)
        return None if decided is None else self._start(decided, lane)

    def result(self) -> CampaignResult:
        """What the campaign did so far, as :class:`CampaignResult`."""
        records = self.store.trials(self.campaign.name)
        best_idx = {o.index for o in self.planner.best()}
        return CampaignResult(
            self.campaign.name,
            records,
            [r for r in records if r.idx in best_idx],
            self.stop_reason,
            left_unsafe=self.left_unsafe,
            planner=self.planner,
        )


def _store_failed(err: StoreError) -> str:
    return (
        f"the store cannot be written ({err.reason}): what it holds is kept; "
        "free disk space and run again"
    )


@contextlib.contextmanager
def _planner_errors(doing: str) -> Iterator[None]:
    """Whatever a planner raises (a fit that fails inside BoTorch, say) stops the campaign
    with the reason, as a :class:`PlannerError`, instead of ending the process."""
    try:
        yield
    except PlannerError:
        raise
    except Exception as err:
        raise PlannerError(f"{doing}: {type(err).__name__}: {err}") from err


def _first_done(in_flight: dict[Future[PlanOutcome], _InFlight]) -> set[Future[PlanOutcome]]:
    """Wait for the first trial to end, in short steps so Ctrl-C is heard."""
    while True:
        finished, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
        if finished:
            return finished


def _as_text(quantities: dict[str, pint.Quantity]) -> dict[str, str]:
    return {k: format_quantity(v) for k, v in quantities.items()}


def _quantity(value: float | pint.Quantity) -> pint.Quantity:
    """An objective's value with its unit: a plain number is a pure number."""
    return value if isinstance(value, pint.Quantity) else ureg.Quantity(float(value), "")


def _magnitudes(outcomes: dict[str, pint.Quantity]) -> dict[str, float]:
    """What the planner is told: each outcome as a number in its own unit."""
    return {k: float(q.m) for k, q in outcomes.items()}


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = err
    while seen is not None:
        yield seen
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def _unsafe(err: BaseException) -> UnsafeState | None:
    """A device left unsafe while cleaning up after another error: the cleanup's error
    replaces the first, and both must be told."""
    return next((e for e in _chain(err) if isinstance(e, UnsafeState)), None)


def _root_cause(err: BaseException) -> BaseException:
    return list(_chain(err))[-1]
