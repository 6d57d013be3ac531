"""One workcell behind its bluesky-queueserver: the executor seam, over ZeroMQ.

Plans go in by name with JSON-able arguments (``item_add`` to the workcell's queue, kept
in Redis), the queue runs them one at a time on the worker's RunEngine, and the outcome
comes back from the queue's history. The documents do not travel here: the worker records
them into the campaign's store itself (see :mod:`lab.workcells.startup`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

from bluesky_queueserver_api import BFunc, BPlan
from bluesky_queueserver_api.zmq import REManagerAPI

from lab.errors import LabError
from lab.runtime.executor import PlanOutcome, PlanRequest
from lab.states import ExecutorState

#: how the queue server ends a plan -> how the lab's executor says it
_EXIT = {"completed": "success", "failed": "fail"}


class WorkcellError(LabError, RuntimeError):
    """A workcell refused a request, could not be reached, or its plan or function failed
    (the message names the workcell and says what it answered)."""

    status = 502


class QueueServerExecutor:
    """A workcell's queue server as an :class:`~lab.runtime.executor.Executor` with one lane.

    Args:
        name: the workcell's name (its lane).
        control: the RE Manager's ZeroMQ control address, e.g. ``tcp://10.0.0.5:60615``.
        timeout_s: how long to wait for the workcell's environment to open, or a function
            to return.
        poll_s: how often the queue's history is read for finished plans.
    """

    def __init__(
        self, name: str, control: str, timeout_s: float = 120.0, poll_s: float = 0.2
    ) -> None:
        self.name = name
        self.lanes = (name,)
        #: a workcell runs one trial at a time
        self.depth = 1
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._api = REManagerAPI(zmq_control_addr=control, timeout_recv=timeout_s)
        self._lock = threading.Lock()
        self._waiting: dict[str, Future[PlanOutcome]] = {}
        self._held = False
        self._abort_reason = ""
        self._closed = threading.Event()
        self._open()
        self._history_uid: str | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"workcell-{name}", daemon=True)
        self._watcher.start()

    def _open(self) -> None:
        """The worker (and so the workcell's devices) up, or a clear error."""
        try:
            if not self._api.status()["worker_environment_exists"]:
                self._api.environment_open()
                self._api.wait_for_idle(timeout=self._timeout_s)
            if not self._api.status()["worker_environment_exists"]:
                raise WorkcellError(f"workcell {self.name}: its worker did not start")
            # a failed trial is one failed trial: the queue goes on, it is not run again
            self._api.queue_mode_set(ignore_failures=True)
        except WorkcellError:
            raise
        except Exception as err:
            raise WorkcellError(f"workcell {self.name}: {type(err).__name__}: {err}") from err

    # --- the executor interface -------------------------------------------------------------
    def on_vacated(self, listener: Callable[[str, Hashable], None]) -> Callable[[], None]:
        """Nothing to tell: a workcell takes its next trial once the last one has ended."""
        return lambda: None

    @property
    def state(self) -> ExecutorState:
        """``idle``, ``running``, ``pausing`` or ``paused``, from the workcell's status."""
        status = self._api.status()
        if status["re_state"] == "paused" or (self._held and status["re_state"] == "idle"):
            return ExecutorState.PAUSED
        if status["manager_state"] == "executing_queue":
            return ExecutorState.PAUSING if status.get("pause_pending") else ExecutorState.RUNNING
        return ExecutorState.IDLE

    def submit(self, request: PlanRequest) -> Future[PlanOutcome]:
        """Put the plan in the workcell's queue (and start the queue if it stands still).

        Args:
            request: the plan's name, JSON-able arguments and metadata.
        """
        item = BPlan(request.plan, **request.kwargs, md=request.md)
        answer = self._request(lambda: self._api.item_add(item))
        future: Future[PlanOutcome] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._waiting[answer["item"]["item_uid"]] = future
        return future

    def pause(self) -> None:
        """The running plan pauses at its next checkpoint; the queue starts nothing new."""
        self._held = True
        if self._api.status()["re_state"] == "running":
            self._request(lambda: self._api.re_pause(option="deferred"))

    def resume(self) -> None:
        """Go on after a pause."""
        self._held = False
        if self._api.status()["re_state"] == "paused":
            self._request(lambda: self._api.re_resume())

    def abort(self, reason: str) -> None:
        """End the running plan now (its cleanup runs in the worker).

        Args:
            reason: why, told in the plan's outcome.
        """
        self._abort_reason = reason
        status = self._api.status()
        if status["re_state"] == "running":
            self._request(lambda: self._api.re_pause(option="immediate"))
            self._api.wait_for_condition(
                lambda s: s["re_state"] != "running", timeout=self._timeout_s
            )
        if self._api.status()["re_state"] == "paused":
            self._request(lambda: self._api.re_abort())
            # the queue server puts an aborted plan back in the queue: it is not repeated
            self._api.wait_for_idle(timeout=self._timeout_s)
            self._request(lambda: self._api.queue_clear())

    def close(self) -> None:
        """Stop watching the workcell (it keeps running, with its devices)."""
        self._closed.set()
        self._watcher.join(timeout=5)
        self._api.close()

    # --- functions in the worker --------------------------------------------------------------
    def call(self, function: str, **kwargs: Any) -> Any:
        """Run a function of the worker's namespace (``workcell_...``) and return its
        JSON-able result; runs beside a plan in progress.

        Args:
            function: its name.
            kwargs: its arguments.
        """
        task = self._request(
            lambda: self._api.function_execute(BFunc(function, **kwargs), run_in_background=True)
        )
        self._api.wait_for_completed_task(task["task_uid"], timeout=self._timeout_s)
        result = self._request(lambda: self._api.task_result(task["task_uid"]))["result"]
        if not result["success"]:
            raise WorkcellError(f"workcell {self.name}: {function}: {result['msg']}")
        return result["return_value"]

    # --- inside ----------------------------------------------------------------------------
    def _request(self, send: Any) -> Any:
        try:
            return send()
        except Exception as err:  # the API's errors carry the workcell's answer
            raise WorkcellError(f"workcell {self.name}: {err}") from err

    def _watch(self) -> None:
        """Resolve each submitted plan's future from the queue's history; keep the queue
        going while plans wait and nobody paused it."""
        lost_since: float | None = None
        while not self._closed.wait(self._poll_s):
            with self._lock:
                waiting = bool(self._waiting)
            if not waiting:
                continue
            try:
                status = self._api.status()
                if status["plan_history_uid"] != self._history_uid:
                    self._history_uid = status["plan_history_uid"]
                    self._settle(self._api.history_get()["items"])
                if (
                    not self._held
                    and status["manager_state"] == "idle"
                    and status["items_in_queue"] > 0
                ):
                    self._api.queue_start()
                lost_since = None
            except Exception as err:  # silent for longer than timeout_s: fail what waits
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > self._timeout_s:
                    self._fail_all(WorkcellError(f"workcell {self.name} not answering: {err}"))
                    lost_since = None

    def _settle(self, history: list[dict[str, Any]]) -> None:
        for item in history:
            with self._lock:
                future = self._waiting.pop(item["item_uid"], None)
            if future is None:
                continue
            result = item.get("result", {})
            status = _EXIT.get(result.get("exit_status", ""), "abort")
            message = result.get("msg") or ""
            error = WorkcellError(f"workcell {self.name}: {message}") if status == "fail" else None
            reason = (self._abort_reason or message) if status == "abort" else message
            future.set_result(
                PlanOutcome(status, tuple(result.get("run_uids") or ()), error, reason)
            )

    def _fail_all(self, error: WorkcellError) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_result(PlanOutcome("fail", (), error, str(error)))
