"""The lab process's campaign manager: which campaign runs, and every control an operator
has over the campaigns and the devices.

One manager owns the lab's devices through one executor. It starts campaigns from the
files of the lab's campaign folder (:mod:`lab.campaigns.folder`), each in its own thread;
refuses what the current state does not allow (with a :class:`Conflict` that names the
state); and publishes every change (``control``, ``campaign``, ``trial``, ``proposals``,
``spectrum`` topics) through one ``publish`` callable. What the pages read is answered by
its :class:`~lab.campaigns.queries.CampaignQueries`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from devices import DeviceError, quantity_text
from lab.campaigns.approvals import ApprovalDesk
from lab.campaigns.folder import CampaignFolder
from lab.campaigns.planning import campaign_definition
from lab.campaigns.queries import CampaignQueries
from lab.campaigns.results import Progress, RunnerEvents
from lab.campaigns.runner import SPENT, CampaignRunner, LabSide
from lab.campaigns.sessions import CampaignSession
from lab.data import trial_json
from lab.errors import Conflict
from lab.files.campaign_checks import check_bounds
from lab.files.campaign_file import CampaignConfig
from lab.runtime.emergency_stop import EstopReport
from lab.runtime.executor import Executor, PlanOutcome, PlanRequest, root_cause
from lab.runtime.monitor import LabMonitor
from lab.runtime.process import LabProcess
from lab.states import ExecutorState, SessionState
from lab.store import Store, TrialStatus
from protocols import Protocol

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], None]


class CampaignManager:
    """Starts, controls and reports campaigns on one lab.

    Args:
        lab: the connected lab; its store records every run.
        store: the lab's store (campaigns, trials, documents).
        executor: where every plan runs.
        process: the lab process: its emergency stop (which ends the campaigns too) and
            its latch, while which nothing starts.
        monitor: told of device errors that plans meet (None: no devices of its own).
        campaign_dir: the folder whose campaign files operators may start.
        publish: ``publish(topic, data)`` from any thread.
    """

    def __init__(
        self,
        lab: LabSide,
        store: Store,
        executor: Executor,
        process: LabProcess,
        monitor: LabMonitor | None,
        campaign_dir: Path,
        publish: Publish,
    ) -> None:
        self.lab = lab
        self.store = store
        self.executor = executor
        self.process = process
        self.safety = process.safety
        process.before_emergency_stop(self._stop_campaigns)
        process.after_emergency_stop(lambda report: self.publish_control())
        self.monitor = monitor
        self.folder = CampaignFolder(campaign_dir)
        self._publish = publish
        self.desk = ApprovalDesk(on_change=self._publish_proposals)
        self.sessions: dict[str, CampaignSession] = {}
        #: what the pages read of the campaigns
        self.queries = CampaignQueries(
            store,
            self.folder,
            self.sessions,
            lab.config.spectra_from,
            lambda: self.executor.lanes,
            self.active,
        )
        self._lock = threading.Lock()
        #: who has the devices to themselves outside any campaign (a diagnosis), and why
        self.exclusive: str | None = None

    # --- state ----------------------------------------------------------------------------
    def active(self) -> CampaignSession | None:
        """The campaign holding the devices, if any."""
        return next((s for s in self.sessions.values() if s.active), None)

    def lab_state(self) -> str:
        """The lab's state in one word or two, the one every page shows (the header, the
        active campaign's badge, which controls are enabled): the emergency stop over a
        pause, a pause over a campaign, a proposal waiting over a campaign running."""
        if self.safety.latched is not None:
            return "emergency stop"
        executor = self.executor.state
        if executor in (ExecutorState.PAUSED, ExecutorState.PAUSING):
            return str(executor)
        active = self.active()
        if active is not None:
            waiting = active.state == SessionState.RUNNING and self.desk.pending(active.name)
            return "awaiting approval" if waiting else str(active.state)
        if self.exclusive is not None or executor == ExecutorState.RUNNING:
            return "busy"
        return "idle"

    def control_state(self) -> dict[str, Any]:
        """The lab's state, the executor's, the active campaign, a device claim and the emergency stop, for every page."""
        active = self.active()
        report = self.safety.latched
        return {
            "lab": self.lab_state(),
            "executor": self.executor.state,
            "active_campaign": active.name if active else None,
            "exclusive": self.exclusive,
            "estop": None
            if report is None
            else {
                "by": report.by,
                "reason": report.reason,
                "time": report.time,
                "devices": report.devices,
            },
        }

    # --- starting and controlling --------------------------------------------------------
    def start(
        self,
        name: str,
        by: str,
        trials: int | None = None,
        planner: str | None = None,
        seed: int | None = None,
        approval: str | None = None,
    ) -> CampaignSession:
        """Check everything, then run the campaign in its own thread; raises
        :class:`NotFound`, :class:`ConfigError` or :class:`Conflict` and starts nothing.

        Args:
            name: the campaign's name.
            by: who asks (a username), named in the reason or report it leaves.
            trials: how many trials in all; the campaign file's if None.
            planner: a planner name; the campaign file's if None.
            seed: the planner's seed; the campaign file's if None.
            approval: ``required`` makes every trial wait for a person's approval
                whatever the file says (an agent's start); the file's if None.
        """
        config, protocol, path = self.folder.load(name)
        planner = planner or config.planner.name
        seed = config.planner.seed if seed is None else seed
        with self._lock:
            self._refuse_if_busy()
            mismatch = self.store.campaign_mismatch(
                name, campaign_definition(config, planner, seed)
            )
            if mismatch:
                raise Conflict(mismatch)
            check_bounds(config, protocol, self.lab.limits(), path)
            total = trials or config.trials
            spent = sum(t.status in SPENT for t in self.store.trials(name))
            if spent >= total:
                raise Conflict(f"{name!r} has {spent} trials already; ask for more than {spent}")
            session = CampaignSession(name, by, planner, seed, total, approval or config.approval)
            self.sessions[name] = session
            self.desk.spaces[name] = config.search_space()
            session.thread = threading.Thread(
                target=self._run, args=(session, config, protocol), name=f"campaign:{name}"
            )
            session.thread.start()
        log.info("campaign %s started by %s (%d trials, planner %s)", name, by, total, planner)
        self._publish_state(session)
        return session

    def check_draft(self, campaign: str, protocol: str | None = None) -> dict[str, Any]:
        """Check a draft campaign file (and protocol) as a start would, moving nothing:
        the files, then the protocol at every bound against the lab's limits. Raises
        :class:`ConfigError` listing every problem.

        Args:
            campaign: the draft campaign file, as YAML text.
            protocol: a draft of the protocol file it names, as YAML text.
        """
        config, found = self.folder.check_draft(campaign, protocol)
        check_bounds(config, found, self.lab.limits(), "the campaign draft")
        space = config.search_space()
        return {
            "name": config.name,
            "trials": config.trials,
            "planner": config.planner.name,
            "parameters": [p.name for p in space.parameters],
            "protocol": found.name,
        }

    def offer(self, name: str, values: Mapping[str, str], by: str, gated: bool) -> dict[str, Any]:
        """Run a trial chosen outside the planner next in the running campaign ``name``;
        the parameters as checked. Raises :class:`NotFound`, :class:`Conflict` (not
        running) or :class:`InvalidEdit` (each parameter at fault), and queues nothing.

        Args:
            name: the running campaign.
            values: every parameter's value as text with its unit.
            by: who offers it (a username).
            gated: it waits for a person's approval (an agent without a grant).
        """
        session = self._session(name)
        if session.state != SessionState.RUNNING or session.runner is None:
            raise Conflict(f"campaign {name!r} is {session.state}, not running")
        parameters = session.runner.offer(values, by, self.desk if gated else None)
        log.info("trial offered to %s by %s%s", name, by, " (for approval)" * gated)
        return {k: v if isinstance(v, str) else quantity_text(v) for k, v in parameters.items()}

    def _refuse_if_busy(self) -> None:
        refused = self.safety.refusal()
        if refused:
            raise Conflict(refused)
        active = self.active()
        if active is not None:
            raise Conflict(f"campaign {active.name!r} is {active.state} on these devices")
        if self.exclusive is not None:
            raise Conflict(f"the devices are in use: {self.exclusive}")

    def take_devices(self, why: str) -> None:
        """Have the devices to oneself (no campaign, plan or other claim may start) until
        :meth:`release_devices`; raises :class:`Conflict` if anything holds them now.

        Args:
            why: what the devices are for, shown to everyone who is refused.
        """
        with self._lock:
            self._refuse_if_busy()
            if self.executor.state != ExecutorState.IDLE:  # a plan by hand, or a paused lab
                raise Conflict(f"the lab is {self.executor.state}; let it finish or resume")
            self.exclusive = why
        self.publish_control()

    def release_devices(self) -> None:
        """End a claim taken with :meth:`take_devices`."""
        self.exclusive = None
        self.publish_control()

    def _run(self, session: CampaignSession, config: CampaignConfig, protocol: Protocol) -> None:
        try:
            runner = CampaignRunner(
                self.lab,
                config,
                protocol,
                self.store,
                self.executor,
                session.planner,
                session.seed,
                approvals=self.desk if session.approval == "required" else None,
                operator=session.started_by,
            )
            session.runner = runner
            if session.state == SessionState.STOPPING:  # stopped while the planner was being built
                runner.request_stop(session.stopped or "stopped before the first trial")
            else:
                session.state = SessionState.RUNNING
            self._publish_state(session)
            result = runner.run(session.total, _SessionEvents(self, session))
            session.stopped = result.stopped
            session.state = SessionState.STOPPED if result.stopped else SessionState.FINISHED
        except Exception as err:  # the session must end visibly, whatever went wrong
            session.state, session.stopped = SessionState.FAILED, f"{type(err).__name__}: {err}"
        finally:  # a later run of the campaign builds its planner again from the store
            if session.runner is not None:
                session.runner.planner.close()
        log.info(
            "campaign %s %s%s",
            session.name,
            session.state,
            f": {session.stopped}" * bool(session.stopped),
        )
        self._publish_state(session)

    def _session(self, name: str) -> CampaignSession:
        session = self.sessions.get(name)
        if session is None:
            self.queries.trials(name)  # NotFound: neither a file nor a record of it
        if session is None or not session.active:
            raise Conflict(f"campaign {name!r} is not running")
        return session

    def stop(self, name: str, by: str) -> None:
        """Stop after the trial in flight.

        Args:
            name: the campaign's name.
            by: who asks (a username), named in the reason or report it leaves.
        """
        session = self._session(name)
        reason = f"stopped by {by} after the current trial"
        session.state, session.stopped = SessionState.STOPPING, reason
        log.info("campaign %s %s", name, reason)
        if session.runner is not None:
            session.runner.request_stop(reason)
        self._publish_state(session)

    def abort(self, name: str, by: str) -> None:
        """End the trial in flight now (it fails; the station goes to its safe state).

        Args:
            name: the campaign's name.
            by: who asks (a username), named in the reason or report it leaves.
        """
        session = self._session(name)
        reason = f"aborted by {by}"
        session.state, session.stopped = SessionState.STOPPING, reason
        log.info("campaign %s %s", name, reason)
        if session.runner is not None:
            session.runner.abort(reason)
        self._publish_state(session)

    def pause(self, by: str) -> None:
        """Pause at the next step boundary.

        Args:
            by: who asks (a username), named in the reason or report it leaves.
        """
        if self.executor.state in (ExecutorState.PAUSED, ExecutorState.PAUSING):
            raise Conflict(f"the lab is {self.executor.state} already")
        self.executor.pause()
        log.info("lab paused by %s", by)
        self.publish_control()

    def resume(self, by: str) -> None:
        """Resume; refused while the emergency stop is latched or nothing is paused.

        Args:
            by: who asks (a username), named in the reason or report it leaves.
        """
        refused = self.safety.refusal()
        if refused:
            raise Conflict(refused)
        if self.executor.state not in (ExecutorState.PAUSED, ExecutorState.PAUSING):
            raise Conflict(f"the lab is {self.executor.state}, not paused")
        self.executor.resume()
        log.info("lab resumed by %s", by)
        for session in self.sessions.values():
            if session.alert is not None:
                session.alert = None
                self._publish_state(session)
        self.publish_control()

    def emergency_stop(self, by: str) -> EstopReport:
        """Every device at once, then end the plan and the campaigns; latched.

        Args:
            by: who asks (a username), named in the reason or report it leaves.
        """
        return self.process.emergency_stop(by)

    def _stop_campaigns(self, reason: str) -> None:
        """Whoever pressed the stop, the campaigns are told first, so it is their reason."""
        for session in self.sessions.values():
            if session.active and session.runner is not None:
                session.runner.request_stop(reason)

    def reset(self, by: str) -> dict[str, str]:
        """Clear the emergency stop (staff); see :meth:`lab.runtime.emergency_stop.Safety.reset`.

        Args:
            by: who asks (a username), named in the reason or report it leaves.
        """
        answers = self.safety.reset()
        log.info("emergency stop reset by %s", by)
        self.publish_control()
        return answers

    def run_plan(
        self, plan: str, kwargs: dict[str, Any], by: str, timeout_s: float = 600.0
    ) -> PlanOutcome:
        """A plan by hand (``count``, ``scan``, ...): recorded like any run, refused while
        a campaign runs or the emergency stop is latched.

        Args:
            plan: the plan's name.
            kwargs: the plan's arguments, with device names for devices.
            by: who asks (a username), named in the reason or report it leaves.
            timeout_s: raise :class:`Conflict` if the plan still runs after this long.
        """
        with self._lock:
            self._refuse_if_busy()
            future = self.executor.submit(PlanRequest(plan, kwargs, {"operator": by}))
        self.publish_control()
        try:
            outcome = future.result(timeout=timeout_s)
        except FutureTimeout:
            raise Conflict(f"plan {plan!r} is still running after {timeout_s:g} s") from None
        cause = None if outcome.error is None else root_cause(outcome.error)
        if isinstance(cause, DeviceError) and self.monitor is not None:
            self.monitor.note_error(cause.device, str(cause))
        self.publish_control()
        return outcome

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Abort what runs (its cleanup puts the station in its safe state) and wait.

        Args:
            timeout_s: how long to wait for the campaigns' threads.
        """
        for session in self.sessions.values():
            if session.active and session.runner is not None:
                session.runner.abort("the lab is shutting down")
        for session in self.sessions.values():
            if session.thread is not None:
                session.thread.join(timeout_s)

    # --- publishing ------------------------------------------------------------------------
    def _publish_state(self, session: CampaignSession) -> None:
        self._publish("campaign", session.as_json())
        self.publish_control()

    def publish_control(self) -> None:
        """Tell every page the run-control state."""
        self._publish("control", self.control_state())

    def _publish_proposals(self) -> None:
        self._publish("proposals", [p.as_json() for p in self.desk.pending()])
        self.publish_control()  # a proposal waiting is the lab's state

    def publish_trial(self, name: str, index: int) -> None:
        """Tell every page one trial's new state.

        Args:
            name: the campaign's name.
            index: the trial's number.
        """
        record = self.store.trial(name, index)
        if record is not None:
            self._publish("trial", trial_json(record))


class _SessionEvents(RunnerEvents):
    def __init__(self, manager: CampaignManager, session: CampaignSession) -> None:
        self._manager = manager
        self._session = session

    def started(self, done: int, total: int) -> None:
        self._session.done = done
        self._manager._publish_state(self._session)

    def trial_changed(self, index: int) -> None:
        self._manager.publish_trial(self._session.name, index)

    def consumable_low(self, warning: str, short: bool = False) -> None:
        self._session.consumable = {"text": warning, "short": short, "time": time.time()}
        self._manager._publish_state(self._session)

    def paused(self, reason: str) -> None:
        self._session.alert = reason
        self._manager._publish_state(self._session)

    def trial_finished(self, progress: Progress) -> None:
        s = self._session
        seconds, before = progress.last.seconds, s.seconds_per_trial
        s.seconds_per_trial = seconds if before is None else 0.7 * before + 0.3 * seconds
        s.done, s.best = progress.done, progress.best
        monitor = self._manager.monitor
        if progress.last.device is not None and monitor is not None:
            monitor.note_error(progress.last.device, progress.last.error or "")
        self._manager._publish_state(s)
        if progress.last.run_uid and progress.last.status == TrialStatus.COMPLETED:
            record = self._manager.store.trial(s.name, progress.last.index)
            try:
                spectrum = self._manager.queries.spectrum(
                    progress.last.run_uid, record.sample_id if record else None
                )
            except ValueError:  # the protocol took no spectrum: nothing to plot
                return
            self._manager._publish(
                "spectrum", {"campaign": s.name, "trial": progress.last.index, **spectrum}
            )
