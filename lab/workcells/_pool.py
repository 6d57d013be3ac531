"""A campaign coordinator's view of several workcells: one lane each, one lab file.

The campaign runner needs an executor and a lab to read (the limits a protocol is checked
against, the instruments' identities, what keeps the lab from its start state). Here both
are the workcells, each a queue server in its own process, on this machine or another.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lab.files.lab_file import LabConfig
from lab.runtime.emergency_stop import EmergencyStop
from lab.runtime.executor import PlanOutcome, PlanRequest
from lab.runtime.process import LabProcess
from lab.states import ExecutorState
from lab.workcells._queue_server import QueueServerExecutor, WorkcellError
from protocols import LabLimits


class WorkcellPool:
    """Several workcells that run the same lab file, as one executor and one lab.

    Args:
        config: the lab file every workcell runs.
        workcells: name -> the workcell's queue server.
    """

    def __init__(self, config: LabConfig, workcells: dict[str, QueueServerExecutor]) -> None:
        if not workcells:
            raise ValueError("a pool needs at least one workcell")
        self.config = config
        self.workcells = workcells
        #: one lane per workcell: trials run side by side, one on each
        self.lanes = tuple(workcells)
        #: a workcell runs one trial at a time
        self.depth = 1

    @classmethod
    def reach(cls, config: LabConfig, addresses: Mapping[str, str]) -> WorkcellPool:
        """Each workcell reached (its worker up), or :class:`WorkcellError` naming the first
        that is not (those already reached are let go).

        Args:
            config: the lab file every workcell runs.
            addresses: name -> the workcell's ZeroMQ control address.
        """
        reached: dict[str, QueueServerExecutor] = {}
        try:
            for name, address in addresses.items():
                reached[name] = QueueServerExecutor(name, address)
        except WorkcellError:
            for executor in reached.values():
                executor.close()
            raise
        return cls(config, reached)

    # --- the executor --------------------------------------------------------------------
    def on_vacated(self, listener: Callable[[str, Hashable], None]) -> Callable[[], None]:
        """Nothing to tell: a workcell takes its next trial once the last one has ended."""
        return lambda: None

    @property
    def state(self) -> ExecutorState:
        """``paused`` if any workcell is held, else ``running`` if any runs, else ``idle``."""
        states = [w.state for w in self.workcells.values()]
        for state in (ExecutorState.PAUSED, ExecutorState.PAUSING, ExecutorState.RUNNING):
            if state in states:
                return state
        return ExecutorState.IDLE

    def submit(self, request: PlanRequest) -> Future[PlanOutcome]:
        """To the workcell named by ``request.lane``; with none, to every workcell (one
        outcome: the first that did not succeed, with every run's uid).

        Args:
            request: the plan, its arguments, metadata and lane.
        """
        if request.lane is not None:
            if request.lane not in self.workcells:
                raise ValueError(f"no workcell {request.lane!r}; workcells are {list(self.lanes)}")
            return self.workcells[request.lane].submit(request)
        futures = [w.submit(request) for w in self.workcells.values()]
        combined: Future[PlanOutcome] = Future()
        combined.set_running_or_notify_cancel()

        def done(_: Future[PlanOutcome]) -> None:
            if all(f.done() for f in futures) and not combined.done():
                outcomes = [f.result() for f in futures]
                worst = next((o for o in outcomes if o.exit_status != "success"), outcomes[0])
                uids = tuple(u for o in outcomes for u in o.run_uids)
                combined.set_result(PlanOutcome(worst.exit_status, uids, worst.error, worst.reason))

        for future in futures:
            future.add_done_callback(done)
        return combined

    def pause(self) -> None:
        """Every workcell pauses at its next checkpoint."""
        for w in self.workcells.values():
            w.pause()

    def resume(self) -> None:
        """Every workcell goes on."""
        for w in self.workcells.values():
            w.resume()

    def abort(self, reason: str) -> None:
        """End every workcell's running plan now."""
        for w in self.workcells.values():
            w.abort(reason)

    def process(self) -> LabProcess:
        """This coordinator's lab process: its emergency stop reaches every device of every
        workcell through its worker, latches, and ends every workcell's plan. Each workcell
        reads its own interlocks."""
        return LabProcess(WorkcellsEmergencyStop(self), self)

    def close(self) -> None:
        """Stop watching the workcells (they keep running)."""
        for w in self.workcells.values():
            w.close()

    # --- the lab, read through the workcells ---------------------------------------------------
    def limits(self, station: str | None = None) -> LabLimits:
        """What a protocol is checked against: the first workcell's (they share a lab file).

        Args:
            station: the synthesis station it will run on; the first if None.
        """
        first = next(iter(self.workcells.values()))
        return LabLimits.from_json(first.call("workcell_limits", station=station))

    def identities(self) -> dict[str, dict[str, Any]]:
        """Each workcell's instruments, as ``<workcell>:<device>`` (a run's start document
        takes no ``/`` or ``.`` in a key)."""
        return {
            f"{name}:{device}": identity
            for name, w in self.workcells.items()
            for device, identity in w.call("workcell_identities").items()
        }

    def start_state_problems(self) -> list[str]:
        """What keeps each workcell from its start state, named by workcell."""
        return [
            f"{name}: {problem}"
            for name, w in self.workcells.items()
            for problem in w.call("workcell_start_state_problems")
        ]


class WorkcellsEmergencyStop(EmergencyStop):
    """The coordinator's emergency stop: every workcell's worker stops its own devices at
    once (beside any plan in progress) and latches; the coordinator stays latched until
    every workcell has reset. Devices are named ``<workcell>:<device>``.

    Args:
        pool: the workcells.
    """

    def __init__(self, pool: WorkcellPool) -> None:
        super().__init__()
        self._pool = pool

    def _each(self, function: str, **kwargs: Any) -> dict[str, str]:
        def one(name: str, workcell: QueueServerExecutor) -> dict[str, str]:
            try:
                answers = workcell.call(function, **kwargs)
            except WorkcellError as err:
                return {name: f"no answer: {err}"}
            return {f"{name}:{device}": answer for device, answer in answers.items()}

        workcells = self._pool.workcells
        with ThreadPoolExecutor(max_workers=len(workcells)) as threads:
            results = list(threads.map(one, workcells, workcells.values()))
        return {k: v for answers in results for k, v in answers.items()}

    def _stop_all(self) -> dict[str, str]:
        assert self.latched is not None
        return self._each("workcell_emergency_stop", by=self.latched.by, reason=self.latched.reason)

    def _reset_all(self) -> dict[str, str]:
        return self._each("workcell_reset")
