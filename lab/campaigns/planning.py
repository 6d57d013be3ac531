"""The campaign's planner and its proposals: the planner built from the campaign file, and
each proposal recorded in the store and, where the campaign asks for approval, decided by
an operator before it becomes a trial."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from lab.campaigns.approvals import Approvals
from lab.campaigns.results import RunnerEvents
from lab.files.campaign_file import CampaignConfig
from lab.store import Store, TrialStatus
from planners import ParameterValue, Planner, PlannerError, Suggestion, planner_class
from planners.process import PlannerProcess


def _space_filling_trials(campaign: CampaignConfig, planner: str) -> int | None:
    """How many space-filling trials the planner starts with: the campaign file's number,
    or if it gives none the planner's own (None: a planner with no such phase).

    Args:
        campaign: the campaign file.
        planner: the planner's name.
    """
    chosen = campaign.planner.initialization_trials
    if chosen is not None:
        return chosen
    own: int | None = getattr(planner_class(planner), "initialization_trials", None)
    return own


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
    # the number the planner starts with, so that a later version's other default cannot
    # change a campaign under way
    settings["initialization_trials"] = _space_filling_trials(campaign, planner)
    settings.pop("own_process")  # where it runs changes no proposal
    for default in ("descriptors", "propose_ahead"):  # as stores kept them before they existed
        if settings.get(default, True):
            settings.pop(default, None)
    return {**definition, "planner": settings}


def make_planner(
    campaign: CampaignConfig, name: str, seed: int, own_process: bool = False
) -> Planner:
    """A fresh planner for the campaign, as a run (or a replay) starts it.

    Args:
        campaign: the campaign file.
        name: the planner's name (``ax``, ``sobol``, ...).
        seed: its seed.
        own_process: run it in a process of its own (:class:`PlannerProcess`).
    """
    kind = planner_class(name)
    kwargs: dict[str, Any] = {}
    if hasattr(kind, "initialization_trials"):
        kwargs["initialization_trials"] = _space_filling_trials(campaign, name)
    if name == "spectral":
        kwargs["components"] = campaign.planner.components
    if name == "ax":
        kwargs["descriptors"] = campaign.planner.descriptors
    space, objectives = campaign.search_space(), campaign.objective_specs()
    constraints = campaign.outcome_constraint_specs()
    if own_process:
        return PlannerProcess(kind, space, objectives, seed, constraints, kwargs)
    return kind(space, objectives, seed=seed, outcome_constraints=constraints, **kwargs)


@contextlib.contextmanager
def planner_errors(doing: str) -> Iterator[None]:
    """Whatever a planner raises (a fit that fails inside BoTorch, say) stops the campaign
    with the reason, as a :class:`PlannerError`, instead of ending the process."""
    try:
        yield
    except PlannerError:
        raise
    except Exception as err:
        raise PlannerError(f"{doing}: {type(err).__name__}: {err}") from err


def _in_background(call: Callable[[], list[Suggestion]]) -> Future[list[Suggestion]]:
    """``call`` in a thread of its own, its answer (or its error) in the future."""
    future: Future[list[Suggestion]] = Future()

    def work() -> None:
        try:
            future.set_result(call())
        except BaseException as err:  # a future must always resolve
            future.set_exception(err)

    threading.Thread(target=work, name="propose-ahead", daemon=True).start()
    return future


class Proposals:
    """The planner's proposals on their way to becoming trials.

    A proposal may be made ahead (:meth:`propose_ahead`), while trials run and count as
    pending, so that the next station to free up starts at once. It is taken as it is,
    having missed the results of the trials that ended meanwhile (the one whose station it
    goes to, and any that ended with it), as long as they are no more than the trials
    that were running (``lanes``): no more than one round of the lab. If more came in
    while it waited (a pause, an approval), it is dropped, kept in the store as rejected
    with why, and proposed again with what the planner now knows.

    Args:
        planner: asked a batch at a time (the trials in flight count as pending).
        store: where each proposal is recorded, and its decision.
        campaign: the campaign (its name, its batch size).
        session: the run of the campaign the proposals belong to.
        approvals: if given, every proposal waits there for an operator's decision.
    """

    def __init__(
        self,
        planner: Planner,
        store: Store,
        campaign: CampaignConfig,
        session: int,
        approvals: Approvals | None = None,
    ) -> None:
        self.planner = planner
        self.store = store
        self.campaign = campaign
        self.session = session
        self.approvals = approvals
        #: proposals asked for and not yet decided (a resume puts the never-started ones here)
        self.queued: list[Suggestion] = []
        #: trials offered from outside the planner (an agent's), first in, first run:
        #: (parameters, who, where it waits for approval; None: it does not)
        self.offered: queue.SimpleQueue[tuple[dict[str, ParameterValue], str, Approvals | None]] = (
            queue.SimpleQueue()
        )
        #: a proposal being made ahead, and how many trials the planner knew of then
        self._ahead: tuple[Future[list[Suggestion]], int] | None = None

    def propose_ahead(self, n: int, lanes: int) -> None:
        """Start proposing the next ``n`` trials now, in the background, unless a proposal
        is already waiting or being made.

        Args:
            n: how many.
            lanes: the trials running now, each pending in the proposal.
        """
        if self._ahead is None and not self.queued and self.offered.empty():
            known = len(self.planner.history) + lanes
            self._ahead = (_in_background(lambda: self.planner.ask(n)), known)

    def settle_ahead(self) -> None:
        """Wait for a proposal being made ahead (it is kept for the next :meth:`next`), so
        that no thread works on the planner once the campaign's run ends."""
        if self._ahead is not None:
            wait_for = self._ahead[0]
            with contextlib.suppress(Exception):  # raised again where it is taken
                wait_for.result()

    def _take_ahead(self, events: RunnerEvents) -> None:
        """The proposal made ahead into the queue, if it is still fresh (see the class)."""
        if self._ahead is None:
            return
        (future, known), self._ahead = self._ahead, None
        with planner_errors("proposing ahead"):
            made = future.result()
        if len(self.planner.history) <= known:
            self.queued = made
            return
        for s in made:
            self._keep_rejected(
                s,
                "proposed ahead, but more trials ended before it could start than were "
                "running when it was made: proposed again with their results",
            )
            events.trial_changed(s.index)

    def next(
        self,
        budget: int,
        stopping: threading.Event,
        events: RunnerEvents,
        batch: int | None = None,
    ) -> Suggestion | None:
        """The next trial to start: asked for if none is queued, recorded, decided; None if
        it was rejected.

        Args:
            budget: how many trials may still start.
            stopping: set when the campaign stops (an undecided proposal is then rejected).
            events: told of each trial that changes.
            batch: how many to ask for if none is queued (a plate's wells); the
                campaign's batch size if None.
        """
        if not self.offered.empty():  # attached here, in the runner's thread, as asks are
            parameters, by, gate = self.offered.get()
            with planner_errors("taking an offered trial"):
                offered = self.planner.attach(parameters, f"offered by {by}")
            return self._decide(offered, stopping, events, self.approvals or gate)
        self._take_ahead(events)
        if not self.queued:
            with planner_errors("proposing"):
                self.queued = self.planner.ask(min(batch or self.campaign.batch(), budget))
        return self._decide(self.queued.pop(0), stopping, events, self.approvals)

    def drop_offers(self, why: str) -> None:
        """Offered trials the campaign ends before taking: each kept in the store as
        rejected, with ``why``, so that an offer that was answered is never lost unseen."""
        while not self.offered.empty():
            parameters, by, _ = self.offered.get()
            self._keep_rejected(self.planner.attach(parameters, f"offered by {by}"), why)

    def _keep_rejected(self, s: Suggestion, why: str) -> None:
        """A trial that will never run, kept in the store as rejected with ``why``."""
        self.planner.abandon(s.index, why)
        self.store.add_trial(
            self.campaign.name,
            s.index,
            s.parameters,
            f"{self.planner.name}/{s.generator}",
            status=TrialStatus.REJECTED,
            suggestion=s.details,
            session=self.session,
        )
        self.store.update_trial(self.campaign.name, s.index, error=why)

    def _decide(
        self,
        s: Suggestion,
        stopping: threading.Event,
        events: RunnerEvents,
        approvals: Approvals | None,
    ) -> Suggestion | None:
        """Record the proposal; with ``approvals``, wait there for a person's decision."""
        name = self.campaign.name
        waiting = approvals is not None
        status = TrialStatus.AWAITING_APPROVAL if waiting else TrialStatus.PROPOSED
        if self.store.trial(name, s.index) is None:
            self.store.add_trial(
                name,
                s.index,
                s.parameters,
                f"{self.planner.name}/{s.generator}",
                status=status,
                suggestion=s.details,
                session=self.session,
            )
        else:  # proposed before a restart and never started
            self.store.update_trial(name, s.index, status=status)
        events.trial_changed(s.index)
        if approvals is None:
            return s
        decision = approvals.decide(name, s, stopping)
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
