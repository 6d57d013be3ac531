"""One trial from its decided proposal to its result: checked, started on a lane of the
executor, and, when its run ends, measured, told to the planner and written to the store
(or failed, with the error that ended it and the device at fault)."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from devices import DeviceError, UnsafeState
from lab.campaigns.measuring import Measuring, magnitudes
from lab.campaigns.planning import planner_errors
from lab.campaigns.results import TrialResult
from lab.campaigns.samples import CampaignSamples
from lab.files.lab_file import LabConfig
from lab.files.provenance import canonical_sha256
from lab.records.timeline import steps_finished
from lab.runtime.executor import Executor, PlanOutcome, PlanRequest, error_chain, root_cause
from lab.store import Store, StoreError, TrialStatus
from planners import ParameterValue, Planner, SearchSpace, Suggestion
from protocols import LabLimits, PreflightError, preflight
from protocols import Protocol as LabProtocol


class Limits(Protocol):
    """What the lab tells of its limits."""

    config: LabConfig

    def limits(self, station: str | None = None) -> LabLimits:
        """What a protocol is checked against on ``station`` (the first if None)."""
        ...


@dataclass
class InFlight:
    """A trial whose run the executor holds."""

    suggestion: Suggestion
    started: float
    lane: str
    station: str


@dataclass
class Ended:
    """How a trial ended, and what that means for the campaign."""

    result: TrialResult
    #: why the campaign must stop (a device fault, an abort, a store that cannot be written)
    stop: str | None = None
    #: a device the trial's cleanup could not bring to its safe state
    unsafe: str | None = None


@dataclass
class Trials:
    """Starts and ends the trials of one session of a campaign.

    Args:
        lab: the lab's limits and file.
        campaign: the campaign's name.
        space: its search space (a proposal outside it never reaches a device).
        protocol: its protocol template.
        store: where each trial's state is written.
        executor: where the runs go.
        planner: told each trial's outcome.
        measuring: computes the outcomes from a run's documents.
        samples: the campaign's ledger.
        operator: recorded in each run's start document.
        provenance: what every run of the session carries in its start document.
    """

    lab: Limits
    campaign: str
    space: SearchSpace
    protocol: LabProtocol
    store: Store
    executor: Executor
    planner: Planner
    measuring: Measuring
    samples: CampaignSamples
    operator: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def start(self, s: Suggestion, lane: str) -> tuple[Future[PlanOutcome], InFlight] | TrialResult:
        """Check the trial and submit its run on ``lane``; a trial that fails its checks
        ends here, as failed (nothing moved).

        Args:
            s: the decided proposal.
            lane: an executor lane: one of the lab's stations, or a workcell.
        """
        started = time.perf_counter()
        station = self.station_of(lane)
        outside = self.space.problems(s.parameters)
        if outside:  # a planner's bug must not reach a device
            return self.fail(s, f"the planner proposed {'; '.join(outside)}", started, None)
        try:
            concrete = self.concrete(s.parameters, station)
            preflight(concrete, self.lab.limits(station))
        except (ValidationError, PreflightError) as err:
            return self.fail(s, f"preflight: {err}", started, None)
        self.store.update_trial(self.campaign, s.index, status=TrialStatus.RUNNING)
        md = {
            "campaign": self.campaign,
            "trial": s.index,
            "station": station,
            **({"workcell": lane} if lane != station else {}),
            "planner": f"{self.planner.name}/{s.generator}",
            "operator": self.operator,
            "provenance": {
                **self.provenance,
                "suggestion": {"generator": s.generator, **s.details},
                "protocol_sha256": canonical_sha256(concrete.to_json_dict()),
            },
        }
        kwargs = {"protocol": concrete.to_json_dict(), "station": station}
        future = self.executor.submit(PlanRequest("run_protocol", kwargs, md, lane))
        return future, InFlight(s, started, lane, station)

    def station_of(self, lane: str) -> str:
        """The synthesis station a trial on ``lane`` runs on: a lane is one of the lab's
        stations, or a workcell (its own first station)."""
        stations = [name for name, _ in self.lab.config.stations]
        return lane if lane in stations else stations[0]

    def concrete(self, parameters: dict[str, ParameterValue], station: str) -> LabProtocol:
        """The trial's protocol on its station: a station's slot named in the protocol
        means the slot of the station the trial runs on."""
        slots = {name: cfg.slot for name, cfg in self.lab.config.stations}
        moved = {slot: slots[station] for slot in slots.values() if slot != slots[station]}
        return self.protocol.fill(parameters).moved(moved)

    def finish(self, trial: InFlight, outcome: PlanOutcome, stopping: str | None) -> Ended:
        """The trial's run has ended: measure it and tell the planner, or fail it.

        Args:
            trial: the trial.
            outcome: how its run ended.
            stopping: why the campaign is stopping already, if it is (named in the error
                of a trial the stop cut short).
        """
        s = trial.suggestion
        run_uid = outcome.run_uids[0] if outcome.run_uids else None
        if outcome.exit_status != "success":
            return self.failed_run(trial, outcome, run_uid, stopping)
        assert run_uid is not None
        protocol = self.concrete(s.parameters, trial.station)
        self.samples.record(s.index, self.store.documents(run_uid), protocol)
        return self.measured(trial, run_uid)

    def measured(self, trial: InFlight, run_uid: str, well: str | None = None) -> Ended:
        """Measure a trial from its run (a plate's: its ``well``'s reading), record it as
        completed and tell the planner; failed, alone, if its outcome cannot be computed.

        Args:
            trial: the trial.
            run_uid: its run.
            well: its well, if it ran on a plate.
        """
        s = trial.suggestion
        try:
            measurement, outcomes = self.measuring.measure(run_uid, s.parameters, well)
        except (ValueError, KeyError) as err:
            where = f"well {well}" if well is not None else "objective"
            return Ended(self.fail(s, f"{where}: {err}", trial.started, run_uid))
        self.store.update_trial(
            self.campaign, s.index, status=TrialStatus.COMPLETED, outcomes=outcomes, run_uid=run_uid
        )
        with planner_errors(
            f"learning from trial {s.index} (kept in the store; a resume tells it again)"
        ):
            self.planner.tell(s.index, magnitudes(outcomes), measurement)
        seconds = time.perf_counter() - trial.started
        return Ended(
            TrialResult(
                s.index,
                TrialStatus.COMPLETED,
                s.parameters,
                magnitudes(outcomes),
                None,
                seconds,
                run_uid,
            )
        )

    def failed_run(
        self, trial: InFlight, outcome: PlanOutcome, run_uid: str | None, stopping: str | None
    ) -> Ended:
        """Fail a trial whose run failed or was aborted, with the error that ended it, the
        device at fault and whether the campaign must stop; its vial into the ledger."""
        s = trial.suggestion
        device = stop = unsafe_text = None
        if outcome.error is not None:
            cause = root_cause(outcome.error)
            error, told = f"{type(cause).__name__}: {cause}", str(cause)
            unsafe = _unsafe(outcome.error)
            if unsafe is not None:
                unsafe_text = str(unsafe)
            if unsafe is not None and unsafe is not cause:  # the cleanup failed too
                error, told = f"{error}; then {unsafe}", f"{cause}; then {unsafe}"
            if isinstance(cause, DeviceError):
                device = cause.device
                stop = f"trial {s.index}: {told}"
            store_error = next(
                (e for e in error_chain(outcome.error) if isinstance(e, StoreError)), None
            )
            if store_error is not None and stop is None:  # data that cannot be kept: stop
                stop = store_failed(store_error)
        else:
            error = f"aborted: {outcome.reason or 'no reason given'}"
            stop = f"trial {s.index} {error}"
        reason = stopping or stop
        if reason and reason not in error:  # e.g. the emergency stop
            error = f"{error} ({reason})"
        if run_uid is not None:  # where its vial is and what it holds stays known
            documents = self.store.documents(run_uid)
            protocol = self.concrete(s.parameters, trial.station)
            done = steps_finished(documents) == len(protocol.steps)
            fate = "waste" if done else "left in the workcell by a failed trial"
            self.samples.record(s.index, documents, protocol, fate)
        return Ended(self.fail(s, error, trial.started, run_uid, device), stop, unsafe_text)

    def fail(
        self,
        s: Suggestion,
        error: str,
        started: float,
        run_uid: str | None,
        device: str | None = None,
    ) -> TrialResult:
        """Record the trial as failed, in the store and with the planner.

        Args:
            s: the trial's proposal.
            error: what failed it, as a person reads it.
            started: when it started (``time.perf_counter``).
            run_uid: its run, if it had one.
            device: the device whose error failed it.
        """
        self.store.update_trial(
            self.campaign, s.index, status=TrialStatus.FAILED, error=error, run_uid=run_uid
        )
        self.planner.tell_failed(s.index, error)
        seconds = time.perf_counter() - started
        return TrialResult(
            s.index, TrialStatus.FAILED, s.parameters, None, error, seconds, run_uid, device
        )


def store_failed(err: StoreError) -> str:
    """Why a campaign stops when its store cannot be written, and what to do."""
    return (
        f"the store cannot be written ({err.reason}): what it holds is kept; "
        "free disk space and run again"
    )


def _unsafe(err: BaseException) -> UnsafeState | None:
    """A device left unsafe while cleaning up after another error: the cleanup's error
    replaces the first, and both must be told."""
    return next((e for e in error_chain(err) if isinstance(e, UnsafeState)), None)
