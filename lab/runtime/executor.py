"""Where plans run: the one seam between the lab's logic and the RunEngine.

The campaign manager, the API and the pages submit plans by name with JSON-able arguments
and get a future of the outcome; documents reach the store through the RunEngine's
subscriptions. Here an :class:`InProcessExecutor` runs them on a RunEngine in a thread of
the lab process; a workcell's bluesky-queueserver can stand behind the same interface.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import bluesky.plan_stubs as bps
from bluesky import RunEngine
from bluesky.run_engine import TransitionError
from bluesky.utils import MsgGenerator, RunEngineInterrupted

from lab.states import ExecutorState
from protocols import LabDevices


@dataclass(frozen=True)
class PlanRequest:
    """A plan by name, as a queue server would receive it.

    Args:
        plan: a name in the executor's plan registry (``run_protocol``, ``count``, ...).
        kwargs: JSON-able arguments; quantities as text (``"2.5 mL"``), devices by name.
        md: metadata for the run's start document (campaign, trial, operator, ...).
        lane: where to run it (see :attr:`Executor.lanes`).
    """

    plan: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    md: dict[str, Any] = field(default_factory=dict)
    #: one of the executor's ``lanes`` to run on; None: wherever (all workcells, for a
    #: plan that readies a workcell)
    lane: str | None = None


@dataclass(frozen=True)
class PlanOutcome:
    """How a plan ended: ``success``, ``fail`` (``error`` says why) or ``abort``."""

    exit_status: str
    run_uids: tuple[str, ...] = ()
    error: BaseException | None = None
    reason: str = ""

    @property
    def why(self) -> str:
        """Why the plan did not succeed, in words: the error at the root of what was raised
        (a failed status gives way to its device's own error), or the abort's reason."""
        if self.error is None:
            return self.reason or self.exit_status
        cause = root_cause(self.error)
        return str(cause) or type(cause).__name__


def error_chain(err: BaseException) -> Iterator[BaseException]:
    """``err``, then what it was raised from, down to the first error."""
    seen: BaseException | None = err
    while seen is not None:
        yield seen
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def root_cause(err: BaseException) -> BaseException:
    """The first error of the chain that ended in ``err``."""
    return list(error_chain(err))[-1]


class Executor(Protocol):
    """What the campaign manager and the API need from whatever runs plans."""

    #: where plans run side by side, one at a time on each: a lab's synthesis stations
    #: (in process), or workcells (each its own queue server)
    lanes: tuple[str, ...]
    #: how many trials a lane may hold at once: two where a station takes its next trial
    #: while the last one's vial is measured (see :meth:`on_vacated`), else one
    depth: int

    def on_vacated(self, listener: Callable[[str, Hashable], None]) -> Callable[[], None]:
        """Call ``listener(place, owner)`` whenever a run's vial leaves a place (``owner``:
        the run's campaign and trial); returns what stops the calls.

        Args:
            listener: called in the devices' event loop: it must be quick and not raise.
        """

    @property
    def state(self) -> ExecutorState:
        """``idle``, ``running``, ``pausing`` or ``paused``."""

    def submit(self, request: PlanRequest) -> Future[PlanOutcome]:
        """Queue a plan by name with JSON-able arguments; the future gives its outcome.

        Args:
            request: the plan's name, arguments and metadata.
        """

    def pause(self) -> None:
        """Start nothing new; a running plan pauses at its next checkpoint."""

    def resume(self) -> None:
        """Go on after a pause."""

    def abort(self, reason: str) -> None:
        """End the running plan now (its cleanup runs); queued plans stay queued.

        Args:
            reason: why, kept with the run.
        """

    def close(self) -> None:
        """Abort what runs and stop taking plans."""


class InProcessExecutor:
    """RunEngines in threads of the lab process, one plan at a time on each.

    A request's ``lane`` is not needed here: its ``station`` argument chooses the devices.
    With a RunEngine per synthesis station, trials run side by side: the RunEngines share
    the devices' event loop, and the plans' own locks (:mod:`protocols.resources`) keep
    shared devices to one user at a time. With two per station, a station's next trial
    runs beside the last one, whose vial is being measured elsewhere (its plan waits for
    the station's slot until then).

    Args:
        run_engines: made with ``context_managers=[]`` (signals belong to the main thread);
            as many as plans may run at once: per station, one or two.
        devices: what plans run on.
        plans: name -> plan function taking ``devices`` first (``protocols.PLANS``).
        refusal: asked before each plan starts; a reason (e.g. a latched emergency stop)
            ends the request as ``abort`` without running anything.
    """

    def __init__(
        self,
        run_engines: Sequence[RunEngine],
        devices: LabDevices,
        plans: Mapping[str, Callable[..., MsgGenerator[Any]]],
        refusal: Callable[[], str | None] = lambda: None,
    ) -> None:
        if not run_engines:
            raise ValueError("an executor needs at least one RunEngine")
        self._plans = plans
        self._jobs: queue.Queue[tuple[PlanRequest, Future[PlanOutcome]] | None] = queue.Queue()
        self._released = threading.Event()
        self._released.set()
        self._lock = threading.Lock()
        self._workers = [
            _Worker(re, devices, plans, refusal, self._jobs, self._released, n)
            for n, re in enumerate(run_engines)
        ]
        #: the stations trials run on side by side
        self.lanes = tuple(s.name for s in devices.stations[: len(self._workers)])
        self.depth = max(1, len(self._workers) // max(1, len(self.lanes)))
        self._devices = devices

    # --- the interface -----------------------------------------------------------------
    @property
    def state(self) -> ExecutorState:
        """``idle``, ``running``, ``pausing`` or ``paused``."""
        states = [str(w.re.state) for w in self._workers]
        busy = any(s not in ("idle", "paused") for s in states)  # the RunEngines' own states
        if not self._released.is_set() or "paused" in states:
            return ExecutorState.PAUSING if busy else ExecutorState.PAUSED
        return ExecutorState.RUNNING if busy else ExecutorState.IDLE

    def on_vacated(self, listener: Callable[[str, Hashable], None]) -> Callable[[], None]:
        """Call ``listener(place, owner)`` whenever a run's vial leaves a place."""
        return self._devices.resources.listen(listener)

    def submit(self, request: PlanRequest) -> Future[PlanOutcome]:
        """Queue a plan by name; raises ``ValueError`` for a plan it does not know.

        Args:
            request: the plan's name, arguments and metadata.
        """
        if request.plan not in self._plans:
            raise ValueError(f"unknown plan {request.plan!r}; plans are {sorted(self._plans)}")
        future: Future[PlanOutcome] = Future()
        self._jobs.put((request, future))
        return future

    def pause(self) -> None:
        """Start nothing new; running plans pause at their next checkpoint."""
        with self._lock:
            self._released.clear()
            for worker in self._workers:
                worker.pause()

    def resume(self) -> None:
        """Go on after a pause."""
        with self._lock:
            self._released.set()
            for worker in self._workers:
                worker.resume()

    def abort(self, reason: str) -> None:
        """End the running plans now (their cleanup runs), with ``reason`` recorded."""
        with self._lock:
            for worker in self._workers:
                worker.abort(reason)

    def close(self) -> None:
        """Abort what runs, stop the RunEngines' threads."""
        self.abort("the lab is shutting down")
        self._released.set()
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.thread.join(timeout=30)


class _Worker:
    """One RunEngine and the thread that feeds it plans from the executor's queue."""

    def __init__(
        self,
        run_engine: RunEngine,
        devices: LabDevices,
        plans: Mapping[str, Callable[..., MsgGenerator[Any]]],
        refusal: Callable[[], str | None],
        jobs: queue.Queue[tuple[PlanRequest, Future[PlanOutcome]] | None],
        released: threading.Event,
        number: int,
    ) -> None:
        self.re = run_engine
        self._devices = devices
        self._plans = plans
        self._refusal = refusal
        self._jobs = jobs
        self._released = released
        #: what to do while paused: an abort, or None to look at ``_hold`` again
        self._control: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        #: a pause is wanted: kept apart from the RunEngine's state, so that a resume
        #: asked before a deferred pause has landed still resumes when it lands
        self._hold = False
        self._hold_lock = threading.Lock()
        self._abort_reason = ""
        self.thread = threading.Thread(target=self._work, name=f"run-engine-{number}", daemon=True)
        self.thread.start()

    def pause(self) -> None:
        with self._hold_lock:
            self._hold = True
        if self.re.state == "running" and not self.re.deferred_pause_requested:
            # the plan may end between the look and the request: then nothing runs
            with contextlib.suppress(TransitionError):
                self.re.request_pause(defer=True)

    def resume(self) -> None:
        with self._hold_lock:
            self._hold = False
        self._control.put(None)  # a paused plan looks again (see _while_paused)

    def abort(self, reason: str) -> None:
        self._abort_reason = reason
        if self.re.state == "paused":
            self._control.put(lambda: self.re.abort(reason))
        elif self.re.state != "idle":
            # the plan may end between the look and the abort: then nothing runs
            with contextlib.suppress(TransitionError):
                self.re.abort(reason)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            request, future = job
            self._released.wait()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._execute(request))
            except BaseException as err:  # a future must always resolve
                future.set_exception(err)

    def _execute(self, request: PlanRequest) -> PlanOutcome:
        refused = self._refusal()
        if refused:
            return PlanOutcome("abort", reason=refused)
        self._abort_reason = ""
        uids: list[str] = []
        end: dict[str, Any] = {}

        def track(name: str, doc: dict[str, Any]) -> None:
            if name == "start":
                uids.append(doc["uid"])
            else:
                end.update(exit_status=doc["exit_status"], reason=doc.get("reason") or "")

        try:
            plan = self._held_first(
                self._plans[request.plan](self._devices, **request.kwargs, md=request.md)
            )
            subscriptions: Any = {"start": [track], "stop": [track]}
            finished = self._run(lambda: self.re(plan, subscriptions))
        except Exception as err:  # the RunEngine re-raises what the plan raised
            return PlanOutcome("fail", tuple(uids), err, str(err))
        status = end.get("exit_status") or ("success" if finished else "abort")
        reason = end.get("reason") or (self._abort_reason if status == "abort" else "")
        return PlanOutcome(status, tuple(uids), None, reason)

    def _held_first(self, plan: MsgGenerator[Any]) -> MsgGenerator[Any]:
        """``plan``, paused before its first message if a pause was asked while it was
        starting: :meth:`pause` asks the RunEngine only once it runs, and this look is
        made when it does, so a pause between the two is not lost (the plan once ran its
        trial to the end)."""
        yield from bps.checkpoint()
        if self._hold:
            yield from bps.pause()
        return (yield from plan)

    def _run(self, call: Callable[[], Any]) -> bool:
        """Run ``call``; while it leaves the RunEngine paused, serve resume/abort requests.
        False if the plan was ended from outside (abort, stop) rather than finishing."""
        while True:
            try:
                call()
                return True
            except RunEngineInterrupted:  # paused, or ended by abort/stop/halt
                if self.re.state != "paused":
                    return False
                call = self._while_paused()

    def _while_paused(self) -> Callable[[], Any]:
        """What a paused plan does next: an abort when asked, else it resumes once no pause
        is wanted, which may be at once (a resume that came before the pause landed)."""
        while True:
            with self._hold_lock:
                if not self._hold:
                    return self.re.resume
            action = self._control.get()
            if action is not None:
                return action
