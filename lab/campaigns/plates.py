"""A plate's batch of trials, from their decided proposals to their results: checked
together (wells, tips and reagent left), run as one plate (one bluesky run), and, when
the plate is read, each well measured and told to the planner on its own: a well the
reader could not read fails only its trial. Every well is a sample of the ledger
(``<plate>/<well>``) with what was pipetted into it."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass

import pint
from pydantic import ValidationError

from devices import format_quantity
from lab.campaigns.results import TrialResult
from lab.campaigns.trials import Ended, InFlight, Trials
from lab.files.provenance import canonical_sha256
from lab.records.timeline import Documents, steps_finished
from lab.runtime.executor import PlanOutcome, PlanRequest
from lab.runtime.plate_kinds import plate_wells
from lab.store import TrialStatus
from planners import Suggestion
from protocols import PreflightError, preflight
from protocols import Protocol as LabProtocol
from protocols.models import Pipette
from protocols.plate_checks import PlateDevices, batch_problems

ureg = pint.get_application_registry()


@dataclass
class PlateInFlight:
    """A plate's batch whose run the executor holds: its trials, each with its well."""

    trials: list[InFlight]
    wells: list[str]
    plate: str


@dataclass
class BatchStart:
    """What became of a batch asked to start."""

    #: trials that failed their own checks (nothing moved for them)
    failed: list[TrialResult]
    #: the plate's run and its trials, if it started
    running: tuple[Future[PlanOutcome], PlateInFlight] | None = None
    #: proposals the deck cannot make now, and why (wells, tips or reagent ran out)
    unmade: tuple[list[Suggestion], str] | None = None


class PlateBatches:
    """Starts and ends the plate batches of one session of a campaign.

    Args:
        trials: the session's trials (their store, planner, measuring and failing).
    """

    def __init__(self, trials: Trials) -> None:
        self.trials = trials
        self.plate, self.all_wells = plate_wells(trials.lab.config)

    def wells_left(self) -> list[str]:
        """The plate's wells no trial has used (the ledger's), in the handler's order."""
        used = set(self.trials.store.sample_ids(f"{self.plate}/"))
        return [w for w in self.all_wells if f"{self.plate}/{w}" not in used]

    def start(self, decided: list[Suggestion], lane: str) -> BatchStart:
        """Check the batch and submit its plate's run on ``lane``: trials that fail their
        own checks end here as failed; a batch the deck cannot make (wells, tips, reagent)
        starts nothing and is the reason the campaign stops, its proposals kept.

        Args:
            decided: the batch's decided proposals.
            lane: the executor lane.
        """
        started = time.perf_counter()
        trials = self.trials
        station = trials.lab.config.stations[0][0]
        limits = trials.lab.limits(station)
        failed: list[TrialResult] = []
        ready: list[tuple[Suggestion, LabProtocol]] = []
        for s in decided:
            outside = trials.space.problems(s.parameters)
            if outside:  # a planner's bug must not reach a device
                failed.append(
                    trials.fail(s, f"the planner proposed {'; '.join(outside)}", started, None)
                )
                continue
            try:
                concrete = trials.protocol.fill(s.parameters)
                preflight(concrete, limits)
            except (ValidationError, PreflightError) as err:
                failed.append(trials.fail(s, f"preflight: {err}", started, None))
                continue
            ready.append((s, concrete))
        if not ready:
            return BatchStart(failed)
        wells = self.wells_left()
        short = batch_problems([p for _, p in ready], len(wells), PlateDevices.of(limits.devices))
        if short:
            return BatchStart(failed, unmade=([s for s, _ in ready], "; ".join(short)))
        wells = wells[: len(ready)]
        for (s, _), well in zip(ready, wells, strict=True):  # each trial's well, shown live
            trials.store.update_trial(
                trials.campaign,
                s.index,
                status=TrialStatus.RUNNING,
                sample_id=f"{self.plate}/{well}",
            )
        md = {
            "campaign": trials.campaign,
            "trials": [s.index for s, _ in ready],
            "station": station,
            "planner": trials.planner.name,
            "operator": trials.operator,
            "provenance": {
                **trials.provenance,
                "suggestions": [{"generator": s.generator, **s.details} for s, _ in ready],
                "protocols_sha256": [canonical_sha256(p.to_json_dict()) for _, p in ready],
            },
        }
        kwargs = {"protocols": [p.to_json_dict() for _, p in ready], "wells": wells}
        future = trials.executor.submit(PlanRequest("run_plate", kwargs, md, lane))
        batch = PlateInFlight(
            [InFlight(s, started, lane, station) for s, _ in ready], wells, self.plate
        )
        return BatchStart(failed, (future, batch))

    def finish(
        self, batch: PlateInFlight, outcome: PlanOutcome, stopping: str | None
    ) -> list[Ended]:
        """The plate's run has ended: each well into the ledger, then each trial measured
        and told to the planner (or failed: all of them if the run failed, one if only its
        well could not be read)."""
        trials = self.trials
        run_uid = outcome.run_uids[0] if outcome.run_uids else None
        if outcome.exit_status != "success":
            ended = [trials.failed_run(t, outcome, run_uid, stopping) for t in batch.trials]
            if run_uid is not None:
                self._record(
                    batch, trials.store.documents(run_uid), "left on the plate by a failed batch"
                )
            return ended
        assert run_uid is not None
        self._record(batch, trials.store.documents(run_uid), "on the plate, read")
        return [
            trials.measured(t, run_uid, well)
            for t, well in zip(batch.trials, batch.wells, strict=True)
        ]

    def _record(self, batch: PlateInFlight, documents: Documents, fate: str) -> None:
        """Each well into the ledger with what the handler pipetted into it: the steps it
        finished (one ``conditions`` event after each)."""
        trials = self.trials
        finished = steps_finished(documents)
        for trial, well in zip(batch.trials, batch.wells, strict=True):
            protocol = trials.protocol.fill(trial.suggestion.parameters)
            contents: dict[str, float] = {}
            for step in protocol.steps[:finished]:
                if isinstance(step, Pipette):
                    contents[step.reagent] = contents.get(step.reagent, 0.0) + float(
                        step.volume.m_as("uL")
                    )
            sample = f"{batch.plate}/{well}"
            composition = {
                r: format_quantity(ureg.Quantity(ul, "uL")) for r, ul in contents.items() if ul > 0
            }
            if trials.store.sample(sample) is None:
                trials.store.add_sample(
                    sample, trials.campaign, trial.suggestion.index, composition, fate
                )
            trials.store.update_trial(trials.campaign, trial.suggestion.index, sample_id=sample)
