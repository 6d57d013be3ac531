"""A planner in a process of its own.

In the lab's process a proposal's model fit and acquisition take turns with everything else
that runs there in Python (the RunEngines, the simulators, the dashboard's server), and a
result told while a proposal is being made ahead waits for it. Here the planner lives in a
child process: proposals are made beside the lab's work, results are sent without waiting,
and the trials' bookkeeping (``history``, ``pending``, the best by measured values) is kept
on this side as well, so that reading it never waits for a proposal either.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import pickle
import signal
import threading
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from planners import ax_console
from planners.ax_console import set_ax_console_level
from planners.base import (
    Objective,
    Observation,
    OutcomeConstraint,
    ParameterValue,
    Planner,
    PlannerError,
    SearchSpace,
    Suggestion,
)

#: a request to the child: a public method of the planner, its arguments
_Request = tuple[str, tuple[Any, ...], dict[str, Any]]


def _serve(
    conn: Connection,
    kind: type[Planner],
    space: SearchSpace,
    objectives: Sequence[Objective],
    seed: int,
    outcome_constraints: Sequence[OutcomeConstraint],
    options: dict[str, Any],
    ax_console: int | None,
) -> None:
    """The child's loop: build the planner, then answer each request in the order sent,
    with the planner's ``best_rule`` after it, until the lab hangs up. Ctrl-C at the lab's
    terminal reaches this process too; it is the lab's to answer (a pause, a stop), and
    this process ends when the lab does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if ax_console is not None:  # as quiet as the lab's own console asked for
        set_ax_console_level(ax_console)
    try:
        planner: Planner | None = kind(
            space, objectives, seed=seed, outcome_constraints=outcome_constraints, **options
        )
        failed: BaseException | None = None
    except Exception as err:  # every request is then answered with it
        planner, failed = None, err
    while True:
        try:
            request: _Request | None = conn.recv()
        except (EOFError, OSError):  # the lab's process ended
            return
        if request is None:
            return
        method, args, kwargs = request
        try:
            if planner is None:
                raise PlannerError(f"the planner could not be built: {failed}")
            answer: tuple[str, Any, str | None] = (
                "ok",
                getattr(planner, method)(*args, **kwargs),
                planner.best_rule,
            )
        except Exception as err:
            answer = ("error", _sendable(err), None)
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError) as err:  # pickled, not sent
            conn.send(("error", PlannerError(f"{method}: its answer cannot be sent: {err}"), None))


def _sendable(err: Exception) -> Exception:
    """``err`` if it crosses to the lab's process intact, else a :class:`PlannerError` in
    its words (some libraries' exceptions cannot be pickled)."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return PlannerError(f"{type(err).__name__}: {err}")
    return err


class _Channel:
    """The pipe to the child and the answers awaited, in the order asked; a thread reads
    the answers. It holds no reference to the planner, so a planner no longer used is
    collected and its process ended."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.awaited: deque[Future[tuple[Any, str | None]]] = deque()
        self.lock = threading.Lock()
        self.ended: str | None = None
        #: the reader has seen the process end (it alone waits for the process: two threads
        #: waiting for one child race for its exit status)
        self.read_all = threading.Event()
        threading.Thread(target=self._read, name="planner-answers", daemon=True).start()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Future[tuple[Any, str | None]]:
        """Send a request; its answer (and the planner's best rule then) in the future."""
        future: Future[tuple[Any, str | None]] = Future()
        with self.lock:
            if self.ended is not None:
                future.set_exception(PlannerError(self.ended))
                return future
            self.awaited.append(future)
            # a process that has ended: the reader is told too, and answers this with why
            with contextlib.suppress(OSError):
                self.conn.send((method, args, kwargs))
        return future

    def _read(self) -> None:
        while True:
            try:
                status, value, rule = self.conn.recv()
            except (EOFError, OSError):
                break
            future = self.awaited.popleft()
            if status == "ok":
                future.set_result((value, rule))
            else:
                future.set_exception(value)
        self.process.join(timeout=10)
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        with self.lock:
            self.ended = self.ended or f"the planner's process ended unexpectedly ({how})"
            while self.awaited:
                self.awaited.popleft().set_exception(PlannerError(self.ended))
        self.read_all.set()

    def close(self) -> None:
        """Ask the child to end, and make sure it has."""
        with self.lock:
            if self.ended is None:
                self.ended = "the planner's process was closed"
                with contextlib.suppress(OSError):
                    self.conn.send(None)
        if not self.read_all.wait(timeout=20):  # the planner does not hear: end it
            self.process.kill()
            self.read_all.wait()


class PlannerProcess(Planner):
    """A planner of class ``kind`` run in a child process (see the module), seen from the
    lab as that planner: the same proposals, for the same seed, as the planner in the
    lab's process would make.

    Told results and abandoned trials are sent without waiting for an answer; should the
    planner refuse one, the next :meth:`ask` raises its error (and the campaign stops). The planner's own analyses
    (Ax's ``summary()``, ``predict(points)``) are asked of it in its process.

    Args:
        kind: the planner's class.
        space: its search space.
        objectives: what it optimises.
        seed: its seed.
        outcome_constraints: the outcomes it must keep within bounds.
        options: further keyword arguments for ``kind``.
    """

    def __init__(
        self,
        kind: type[Planner],
        space: SearchSpace,
        objectives: Sequence[Objective],
        seed: int = 0,
        outcome_constraints: Sequence[OutcomeConstraint] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(space, objectives, seed, outcome_constraints)
        self.name = kind.name
        self.wants_measurements = kind.wants_measurements
        context = multiprocessing.get_context("spawn")  # the lab's threads are not forked
        here, there = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(
                *(there, kind, space, objectives, seed, outcome_constraints),
                *(dict(options or {}), ax_console.level()),
            ),
            name=f"planner-{self.name}",
            daemon=True,
        )
        process.start()
        there.close()
        self._channel = _Channel(process, here)
        self._refused: BaseException | None = None
        #: ends the process once this object is collected, or at close()
        self._finalizer = weakref.finalize(self, self._channel.close)

    def close(self) -> None:
        """End the planner's process (it answers nothing after)."""
        self._finalizer()

    def _wait(self, future: Future[tuple[Any, str | None]]) -> Any:
        value, rule = future.result()
        if rule is not None:
            self.best_rule = rule
        return value

    def _sent(self, future: Future[tuple[Any, str | None]]) -> None:
        """A request not waited for: its refusal kept for the next ask."""

        def keep(done: Future[tuple[Any, str | None]]) -> None:
            if done.exception() is None:
                self._wait(done)  # done: only its best rule to take
            elif self._refused is None:
                self._refused = done.exception()

        future.add_done_callback(keep)

    def ask(self, n: int = 1) -> list[Suggestion]:
        """As :meth:`Planner.ask`; the lock is not held while the child proposes, so results
        may be told meanwhile (they reach the planner after this proposal)."""
        with self._lock:
            future = self._channel.call("ask", n)
        suggestions: list[Suggestion] = self._wait(future)
        with self._lock:
            for s in suggestions:
                self.pending[s.index] = s
        # answered in the order sent: whatever was told before this ask has been taken
        if self._refused is not None:
            refused, self._refused = self._refused, None
            raise PlannerError(f"{self.name} refused what it was told: {refused}") from refused
        return suggestions

    def _propose(self, n: int) -> list[Suggestion]:
        """Never called: :meth:`ask` waits for the child outside the lock."""
        raise NotImplementedError

    def _attach(self, parameters: dict[str, ParameterValue]) -> int:
        attached: Suggestion = self._wait(self._channel.call("attach", parameters, "lab"))
        return attached.index

    def _observe(self, observation: Observation) -> None:
        if observation.outcomes is None:
            self._sent(self._channel.call("tell_failed", observation.index, observation.reason))
        else:
            self._sent(
                self._channel.call(
                    "tell", observation.index, observation.outcomes, observation.measurement
                )
            )

    def _abandon(self, index: int) -> None:
        self._sent(self._channel.call("abandon", index, self.history[index].reason))

    def _best(self) -> list[Observation]:
        """By the measured values here; by the planner's model there once it has a say."""
        if self.best_rule == "observed":
            return super()._best()
        try:
            chosen: list[Observation] = self._wait(self._channel.call("best"))
        except PlannerError:  # its process ended: what was measured decides, and says so
            self.best_rule = "observed"
            return super()._best()
        return [self.history[o.index] for o in chosen if o.index in self.history]

    def __getattr__(self, name: str) -> Any:
        """A method of the planner's own (``summary``, ``predict``), called in its process."""
        if name.startswith("_"):
            raise AttributeError(name)

        return functools.partial(self._remote, name)

    def _remote(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._wait(self._channel.call(method, *args, **kwargs))
