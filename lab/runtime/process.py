"""The lab process: one owner of a connected lab's safety, composed here once.

A lab that runs anything needs three parts wired together: the emergency-stop latch, an
executor that refuses every plan while it is latched, and the watchdog that reads the
interlocks and presses the stop. The Python API, the lab server, a workcell's worker and
the tests all take them from :class:`LabProcess`, so none of them can forget a part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from lab.runtime.emergency_stop import EmergencyStop, EstopReport, Safety
from lab.runtime.executor import InProcessExecutor
from lab.runtime.interlocks import Pausable, Watchdog
from lab.runtime.lab import Lab
from protocols import PLANS

log = logging.getLogger(__name__)


class Runs(Pausable, Protocol):
    """What runs the lab's plans, as the lab process needs it: paused by ``pause``
    interlocks, and its plan ended by the emergency stop."""

    def abort(self, reason: str) -> None:
        """End the plan in progress (its cleanup runs)."""
        ...


class LabProcess:
    """A lab's emergency-stop latch (``safety``), what runs its plans (``runs``, refused by
    the latch) and the watchdog that reads its interlocks (``watchdog``): the one place the
    emergency stop is pressed. :meth:`of` composes it for a connected lab; workcells
    compose theirs from their queue servers.

    Args:
        safety: the latch, and what it stops.
        runs: what runs the plans; its plan is ended by the emergency stop.
        executor: the in-process executor, if this process made one (closed by :meth:`close`).
    """

    def __init__(
        self, safety: EmergencyStop, runs: Runs, executor: InProcessExecutor | None = None
    ) -> None:
        self.safety = safety
        self.runs = runs
        self.executor = executor
        self.watchdog: Watchdog | None = None
        self._first: list[Callable[[str], object]] = []
        self._then: list[Callable[[EstopReport], object]] = []

    @classmethod
    def of(cls, lab: Lab, runs: Runs | None = None) -> LabProcess:
        """The lab process of a connected lab: its latch, an in-process executor on its
        RunEngines that refuses plans while the latch is set (unless ``runs`` is given: a
        workcell's worker drives its RunEngine through its queue server), and a watchdog
        on its interlocks; ``ConfigError`` if an interlock cannot be watched.

        Args:
            lab: the connected lab.
            runs: what runs its plans, if not an in-process executor.
        """
        safety = Safety(lab)
        executor = None
        if runs is None:
            runs = executor = InProcessExecutor(
                lab.run_engines, lab.devices, PLANS, refusal=safety.refusal
            )
        process = cls(safety, runs, executor)
        try:  # checks the lab file's interlocks against the devices
            process.watchdog = Watchdog(lab, runs, process.emergency_stop)
        except BaseException:
            process.close()
            raise
        return process

    def before_emergency_stop(self, tell: Callable[[str], object]) -> None:
        """Tell ``tell(reason)`` first whenever the stop is pressed (a campaign runner, so
        it is stopped for that reason and starts nothing more).

        Args:
            tell: called with the stop's reason, before the devices are stopped.
        """
        self._first.append(tell)

    def after_emergency_stop(self, tell: Callable[[EstopReport], object]) -> None:
        """Tell ``tell(report)`` once the stop has done its work (a page that shows it).

        Args:
            tell: called with the stop's report.
        """
        self._then.append(tell)

    def emergency_stop(self, by: str, reason: str | None = None) -> EstopReport:
        """Every device at once, latched until staff reset; then the plan in progress ends.

        Args:
            by: who or what pressed it (a user name, ``interlock leak``).
            reason: why, in words; by default that ``by`` pressed it.
        """
        reason = reason or f"emergency stop by {by}"
        for first in self._first:
            first(reason)
        report = self.safety.emergency_stop(by, reason)
        log.warning(
            "EMERGENCY STOP by %s (%s): %s",
            by,
            reason,
            ", ".join(f"{d} {state}" for d, state in report.devices.items()),
        )
        self.runs.abort(reason)
        for then in self._then:
            then(report)
        return report

    def start(self) -> LabProcess:
        """Start reading the interlocks."""
        if self.watchdog is not None:
            self.watchdog.start()
        return self

    def stop_watching(self) -> None:
        """Stop reading the interlocks, once any stop they pressed has done its work."""
        if self.watchdog is not None:
            self.watchdog.stop()

    def close(self) -> None:
        """Stop watching and close the executor this process made; the lab stays
        connected."""
        self.stop_watching()
        if self.executor is not None:
            self.executor.close()
