"""The campaign loop: ask -> (approval) -> fill protocol -> preflight -> executor ->
documents in the store -> objectives -> tell, with the store as the source of truth.

Trials run through an :class:`~lab.runtime.executor.Executor`, so several may be in flight at once
(one per executor slot); the planner is asked again whenever a slot frees up. The runner owns
the loop and its control (stop, abort, the failure policy); the pieces it drives each have a
module: planning (the planner, proposals, approvals), trials (start and finish), measuring
(objectives), samples (the ledger), start_state (clearing the workcell) and resume.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from lab.campaigns.approvals import Approvals, checked
from lab.campaigns.consumables import Consumables, expected_use
from lab.campaigns.handovers import Handovers
from lab.campaigns.measuring import Measuring
from lab.campaigns.planning import Proposals, campaign_definition, make_planner
from lab.campaigns.plates import BatchStart, PlateBatches, PlateInFlight
from lab.campaigns.results import CampaignResult, Progress, RunnerEvents, TrialResult
from lab.campaigns.resume import Resume, session_provenance
from lab.campaigns.samples import CampaignSamples
from lab.campaigns.start_state import clear_workcell
from lab.campaigns.trials import InFlight, Trials, store_failed
from lab.errors import ConfigError, Conflict
from lab.files.campaign_file import CampaignConfig
from lab.files.lab_file import LabConfig
from lab.runtime.executor import Executor, PlanOutcome
from lab.states import ExecutorState
from lab.store import Store, StoreError, TrialStatus
from planners import ParameterValue, PlannerError, Suggestion
from protocols import LabLimits
from protocols import Protocol as LabProtocol

#: statuses of a trial that has used up an experiment of the budget
SPENT = (TrialStatus.COMPLETED, TrialStatus.FAILED)


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


@dataclass
class _Session:
    """One run of the campaign: its number, and the pieces that work for it."""

    number: int
    proposals: Proposals
    trials: Trials
    #: a plate protocol's batches (None: one vial per trial)
    plates: PlateBatches | None = None
    #: what the trials take of the reagents and racks (None for a plate's batches)
    consumables: Consumables | None = None
    #: a decided trial waiting for a refill: the next to start once the lab resumes
    held: Suggestion | None = None


#: what the executor holds: one vial's trial, or a plate's batch of trials
Running = InFlight | PlateInFlight


def _count(running: dict[Future[PlanOutcome], Running]) -> int:
    """Trials in flight."""
    return sum(len(r.trials) if isinstance(r, PlateInFlight) else 1 for r in running.values())


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
        try:
            self.planner = make_planner(campaign, planner_name, seed, campaign.planner.own_process)
        except PlannerError as err:  # a planner chosen on the command line, say
            raise ConfigError(f"campaign {campaign.name}", [f"planner: {err}"]) from None
        if campaign.batch_size == "plate" and not protocol.on_plate:
            raise ConfigError(
                f"campaign {campaign.name}",
                [f"batch_size: plate is for a plate protocol; {protocol.name} moves vials"],
            )
        #: the stations' slots: where a trial's vial leaving hands its station over
        self._slots = {cfg.slot for _, cfg in lab.config.stations}
        if campaign.overlap and not protocol.frees_its_station(self._slots):
            raise ConfigError(
                f"campaign {campaign.name}",
                [
                    f"overlap: {protocol.name}'s first step must put the vial into a "
                    "station's slot, and no later step bring a vial back there (nor to a "
                    "place a parameter chooses): else a station's next trial could wait "
                    "for the last one and the last one for it"
                ],
            )
        self.measuring = Measuring(store, lab.config.spectra_from, campaign.measures())
        self.samples = CampaignSamples(store, campaign.name, lab.config)
        self._session: _Session | None = None
        self._stopping = threading.Event()
        #: the runs in flight, each with its trial(s), while run() runs
        self._in_flight: dict[Future[PlanOutcome], Running] = {}
        self.stop_reason: str | None = None
        self.left_unsafe: str | None = None

    @property
    def session(self) -> int | None:
        """This run of the campaign (see :meth:`Store.next_session`), set on the first run()."""
        return None if self._session is None else self._session.number

    @property
    def expected_use(self) -> dict[str, float]:
        """What a trial of this campaign is expected to take of each consumable (mL, or
        vials); empty before the first run() or for a plate's batches."""
        consumables = None if self._session is None else self._session.consumables
        return {} if consumables is None else dict(consumables.per_trial)

    def offer(
        self, values: Mapping[str, str], by: str, gate: Approvals | None
    ) -> dict[str, ParameterValue]:
        """Run a trial chosen outside the planner (an agent's) next, within the budget;
        its parameters as checked (raises :class:`InvalidEdit` naming each at fault).

        Args:
            values: every parameter's value as text with its unit.
            by: who offers it, kept as the trial's provenance.
            gate: where it waits for a person's approval; None if it need not (a
                campaign that asks for approval of every trial asks for this one too).
        """
        if self._session is None:
            raise Conflict(f"campaign {self.campaign.name!r} has not started its first trial")
        parameters = checked(values, self.campaign.search_space())
        self._session.proposals.offered.put((parameters, by, gate))
        return parameters

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
        # a trial handed to the executor that has not started (the executor paused) never
        # will: its future ends as cancelled, the trial as aborted
        for future in list(self._in_flight):
            future.cancel()

    @property
    def stopping(self) -> bool:
        """A stop was asked for: no new trial will start."""
        return self._stopping.is_set()

    # --- resume ----------------------------------------------------------------------
    def _resume(self) -> _Session:
        """Open this run of the campaign in the store and replay what the store holds into
        the planner (see :class:`~lab.campaigns.resume.Resume`)."""
        name = self.campaign.name
        self.store.open_campaign(name, self.definition, self.lab.config.model_dump(mode="json"))
        number = self.store.next_session(name)
        provenance = session_provenance(self.store, self.campaign, self.lab, self.definition)
        proposals = Proposals(self.planner, self.store, self.campaign, number, self.approvals)
        trials = Trials(
            self.lab,
            name,
            self.campaign.search_space(),
            self.protocol,
            self.store,
            self.executor,
            self.planner,
            self.measuring,
            self.samples,
            self.operator,
            {**provenance, "session": number},
        )
        resume = Resume(self.store, name, self.planner, self.measuring, self.samples, self.protocol)
        proposals.queued = resume.replay()
        if self.protocol.on_plate:
            return _Session(number, proposals, trials, PlateBatches(trials))
        sources = frozenset(self.lab.config.role("source"))
        use = expected_use(self.campaign.search_space(), self.protocol, sources)
        return _Session(
            number, proposals, trials, consumables=Consumables(self.lab.config, self.store, use)
        )

    def spent(self) -> int:
        """Trials completed or failed so far."""
        return sum(r.status in SPENT for r in self.store.trials(self.campaign.name))

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
        if self._session is None:  # once per runner: the planner then holds the store's trials
            self._session = self._resume()
        session = self._session
        done = self.spent()
        if session.plates is not None:
            self._refuse_beyond_the_plate(session.plates, total - done)
        events.started(done, total)
        if session.consumables is not None:
            for warning in session.consumables.forecast(self.lab.limits(), total - done):
                events.consumable_low(warning)
        cleared = clear_workcell(self.lab, self.executor, self.samples, self.operator)
        if cleared is not None:
            self.request_stop(cleared)
        in_flight = self._in_flight = {}
        # a plate is one machine's work: its batches run one at a time
        lanes = self.executor.lanes[:1] if session.plates is not None else self.executor.lanes
        handovers = Handovers(self.executor, self.campaign.name, self._slots)
        # a station's next trial before the last one's result, where the campaign asks
        # (checked: proposals made ahead, a protocol that hands the station over for good)
        depth = self.executor.depth if self.campaign.overlap else 1

        def open_lane() -> str | None:
            """A lane with no trial on it or, where stations are handed over, one whose
            trials' vials have all left its station; None while every station is taken."""
            on = {lane: [r for r in in_flight.values() if _lane(r) == lane] for lane in lanes}
            empty = [lane for lane in lanes if not on[lane]]
            handed = [
                lane
                for lane in lanes
                if len(on[lane]) < depth
                and all(
                    isinstance(r, InFlight) and handovers.left(r.suggestion.index) for r in on[lane]
                )
            ]
            return next(iter(empty + handed), None)

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
                news = handovers.next_one()
                while (
                    not self.stopping
                    and (lane := open_lane()) is not None
                    and done + _count(in_flight) < total
                ):
                    if self._held():
                        continue
                    budget = total - done - _count(in_flight)
                    if session.plates is not None:
                        plate = self._next_plate(session, budget, lane, events)
                        for ended in plate.failed:
                            report(ended)
                        if plate.running is not None:
                            in_flight[plate.running[0]] = plate.running[1]
                            for t in plate.running[1].trials:
                                events.trial_changed(t.suggestion.index)
                        continue
                    started = self._next(session, budget, lane, events)
                    if isinstance(started, TrialResult):
                        report(started)
                    elif started is not None:
                        in_flight[started[0]] = started[1]
                        events.trial_changed(started[1].suggestion.index)
                if not in_flight:
                    break
                self._propose_ahead(session, open_lane() is None, in_flight, total - done)
                for future in _first_done(in_flight, news):
                    for ended in self._finish(
                        session, in_flight.pop(future), self._outcome(future)
                    ):
                        report(ended)
        except KeyboardInterrupt:
            self.abort("interrupted by the operator")
            for future in list(in_flight):
                for ended in self._finish(session, in_flight.pop(future), self._outcome(future)):
                    report(ended)
        except PlannerError as err:
            self.request_stop(f"planner: {err}")
        except StoreError as err:
            self.request_stop(store_failed(err))
        finally:
            handovers.close()
        session.proposals.settle_ahead()
        why = self.stop_reason or "its budget was spent"
        with contextlib.suppress(StoreError):  # a store that cannot be written stopped it
            session.proposals.drop_offers(f"offered, but the campaign ended before it ran ({why})")
        result = self.result()
        self._stopping.clear()  # told in the result; a later run() starts afresh
        self.stop_reason = None
        return result

    def _outcome(self, future: Future[PlanOutcome]) -> PlanOutcome:
        """How a trial's run ended: an abort if it never started (see :meth:`abort`)."""
        if future.cancel() or future.cancelled():
            return PlanOutcome("abort", reason=self.stop_reason or "aborted before it started")
        return future.result()

    def _propose_ahead(
        self,
        session: _Session,
        all_taken: bool,
        in_flight: dict[Future[PlanOutcome], Running],
        left: int,
    ) -> None:
        """With every station taken (``all_taken``), the next proposal is made now, while
        the trials run, so the first station to free up starts at once (the campaign's
        ``planner.propose_ahead``)."""
        running = _count(in_flight)
        if (
            self.campaign.planner.propose_ahead
            and session.plates is None
            and session.held is None
            and not self.stopping
            and all_taken
            and running < left
        ):
            session.proposals.propose_ahead(min(self.campaign.batch(), left - running), running)

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
        self, session: _Session, budget: int, lane: str, events: RunnerEvents
    ) -> tuple[Future[PlanOutcome], InFlight] | TrialResult | None:
        """Ask, decide, and start one trial on ``lane``; None if it was rejected, or if
        the lab cannot finish it with what it holds (the lab then pauses, the trial kept
        to start first once someone has refilled and resumed)."""
        decided, session.held = session.held, None
        if decided is None:
            decided = session.proposals.next(budget, self._stopping, events)
        if decided is None:
            return None
        if self._runs_short(session, decided, lane, events):
            session.held = decided
            return None
        return session.trials.start(decided, lane)

    def _runs_short(
        self, session: _Session, decided: Suggestion, lane: str, events: RunnerEvents
    ) -> bool:
        """Tell the consumables newly low; pause the lab if the trial cannot finish with
        what it holds (True). A protocol that does not fill is left to the trial's checks."""
        if session.consumables is None:
            return False
        station = session.trials.station_of(lane)
        try:
            concrete = session.trials.concrete(decided.parameters, station)
        except ValidationError:
            return False
        short, low = session.consumables.check(concrete, self.lab.limits(station))
        for warning in low:
            events.consumable_low(warning)
        if short is None:
            return False
        self.executor.pause()
        events.consumable_low(short, short=True)
        events.paused(short)
        return True

    def _refuse_beyond_the_plate(self, plates: PlateBatches, wanted: int) -> None:
        """More trials than the plate has wells left are refused before anything moves."""
        left = len(plates.wells_left())
        if wanted > left:
            raise ConfigError(
                f"campaign {self.campaign.name}",
                [
                    f"trials: {wanted} more trials need a well each and {plates.plate} has "
                    f"{left} left; ask for at most {left} more, or put a fresh plate on the "
                    "deck (under a new labware name, so the ledger tells the plates apart)"
                ],
            )

    def _next_plate(
        self, session: _Session, budget: int, lane: str, events: RunnerEvents
    ) -> BatchStart:
        """Ask for, decide and start a plate's batch on ``lane``: as many trials as the
        campaign's batch, the budget and the wells left allow. A batch the deck cannot
        make (no wells, tips or reagent left) stops the campaign, its proposals kept for
        a resume."""
        plates = session.plates
        assert plates is not None
        wells = len(plates.wells_left())
        if wells == 0:
            self.request_stop(
                f"every well of {plates.plate} is used; put a fresh plate on the deck"
            )
            return BatchStart([])
        size = min(self.campaign.batch(wells), budget, wells)
        decided: list[Suggestion] = []
        for _ in range(size):
            if self.stopping:
                break
            asked = size - len(decided)
            chosen = session.proposals.next(asked, self._stopping, events, batch=asked)
            if chosen is not None:
                decided.append(chosen)
        if not decided:
            return BatchStart([])
        started = plates.start(decided, lane)
        if started.unmade is not None:
            kept, why = started.unmade
            session.proposals.queued[:0] = kept
            self.request_stop(why)
        return started

    def _finish(
        self, session: _Session, running: Running, outcome: PlanOutcome
    ) -> list[TrialResult]:
        if isinstance(running, PlateInFlight):
            assert session.plates is not None
            ended = session.plates.finish(running, outcome, self.stop_reason)
        else:
            ended = [session.trials.finish(running, outcome, self.stop_reason)]
        for e in ended:
            if e.unsafe is not None:
                self.left_unsafe = e.unsafe
            if e.stop is not None:
                self.request_stop(e.stop)
        return [e.result for e in ended]

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


def _lane(running: Running) -> str:
    return running.trials[0].lane if isinstance(running, PlateInFlight) else running.lane


def _first_done(
    in_flight: dict[Future[PlanOutcome], Running], handover: Future[None]
) -> set[Future[PlanOutcome]]:
    """Wait for the first trial to end, or for a station to be handed over (then none may
    have ended), in short steps so Ctrl-C is heard."""
    while True:
        waiting: list[Future[Any]] = [*in_flight, handover]
        finished, _ = wait(waiting, timeout=0.5, return_when=FIRST_COMPLETED)
        if finished:
            return {f for f in in_flight if f.done()}
