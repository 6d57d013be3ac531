"""What a workcell's bluesky-queueserver worker loads (``--startup-module
lab.workcells.startup``): the lab's devices, its RunEngine and the plans callable by name.

The worker process owns the instruments. Which lab, and where its runs are recorded, come
from the environment, set by ``lab workcell serve``:

- ``SDL_WORKCELL_LAB``: the lab file;
- ``SDL_WORKCELL_STORE``: the campaign's store (a PostgreSQL URL, for workcells on other
  machines), where every document of every run goes, so a coordinator reads them there.
"""

import contextlib
import os
from typing import Any

from bluesky.run_engine import TransitionError
from bluesky.utils import MsgGenerator

from lab.files.lab_file import load_lab_config
from lab.runtime.lab import build_lab, threaded_run_engine
from lab.runtime.process import LabProcess
from lab.states import ExecutorState
from lab.store import Store
from protocols import plans

_lab = build_lab(
    load_lab_config(os.environ["SDL_WORKCELL_LAB"]),
    Store(os.environ["SDL_WORKCELL_STORE"]),
    threaded_run_engine(),
)
#: the worker runs every plan on this RunEngine; it records into the store
RE = _lab.run_engine


class _WorkerRuns:
    """The worker's RunEngine as the lab process holds it: a ``pause`` interlock pauses the
    plan at its next checkpoint (it is resumed through the queue server, ``qserver re
    resume``, whose worker drives the RunEngine); the emergency stop ends the plan."""

    @property
    def state(self) -> ExecutorState:
        if RE.state in ("paused", "idle"):  # the RunEngine's own states
            return ExecutorState(RE.state)
        return ExecutorState.RUNNING

    def pause(self) -> None:
        if RE.state == "running" and not RE.deferred_pause_requested:
            with contextlib.suppress(TransitionError):
                RE.request_pause(defer=True)

    def resume(self) -> None:
        """Left to whoever drives the queue."""

    def abort(self, reason: str) -> None:
        if RE.state != "idle":
            with contextlib.suppress(TransitionError):
                RE.abort(reason)


#: the latch, the interlocks and the one emergency stop of this workcell
_process = LabProcess.of(_lab, _WorkerRuns()).start()


# plain annotations: the queue server checks each plan's arguments against them
def run_protocol(
    protocol: dict, station: str | None = None, md: dict | None = None
) -> MsgGenerator[str]:
    """One trial's protocol on this workcell (see :func:`protocols.plans.run_protocol`);
    refused while the emergency stop is latched."""
    refused = _process.safety.refusal()
    if refused:
        raise RuntimeError(refused)
    return (yield from plans.run_protocol(_lab.devices, protocol, station, md))


def clear_workcell(md: dict | None = None) -> MsgGenerator[list[str]]:
    """This workcell back to its start state (see :func:`protocols.plans.clear_workcell`)."""
    return (yield from plans.clear_workcell(_lab.devices, md))


def workcell_limits(station: str | None = None) -> dict[str, Any]:
    """What protocols are checked against on this workcell, as JSON."""
    return _lab.limits(station).to_json()


def workcell_identities() -> dict[str, dict[str, str]]:
    """What each instrument of this workcell says it is."""
    return _lab.identities()


def workcell_emergency_stop(by: str, reason: str = "") -> dict[str, str]:
    """Every device of this workcell stopped at once, latched, and the running plan ended:
    each device's answer (``safe`` or why not)."""
    return _process.emergency_stop(by, reason or None).devices


def workcell_reset() -> dict[str, str]:
    """Clear the latched emergency stop (staff, once the cause is fixed); each device's
    answer."""
    return _process.safety.reset()


def workcell_start_state_problems() -> list[str]:
    """What keeps this workcell from its start state."""
    return _lab.start_state_problems()
