"""Run the checks of the chosen devices on a lab whose devices are not yet connected:
each device is connected on its own, so one that cannot be reached is a diagnosis (and
the others are still checked), never a traceback."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from devices import DeviceError, InstrumentDevice, explain
from hw_tests._context import CheckContext
from hw_tests._result import SEVERITY, CheckResult, skipped, verdict
from lab.runtime.lab import Lab


@dataclass(frozen=True)
class Suite:
    """A device kind's checks (step name -> check) and what puts the device back after."""

    CHECKS: dict[str, Any]
    leave_safe: Callable[[CheckContext[Any, Any]], Any]


async def _nothing_to_put_back(ctx: CheckContext[Any, Any]) -> None:
    """A kind without checks of its own changes nothing."""


def suite_of(lab: Lab, device: str) -> Suite:
    """The checks the kind of ``device`` names (its package's module: ``CHECKS`` and
    ``leave_safe``); only connection and identity for a kind that names none."""
    module = lab.config.kind_of(device).checks
    if module is None:
        return Suite({}, _nothing_to_put_back)
    checks = importlib.import_module(module)
    return Suite(checks.CHECKS, checks.leave_safe)


#: called as each step starts: device, step name
Progress = Callable[[str, str], None]


@dataclass
class Diagnosis:
    """The results of one ``lab diagnose``, in the order they were taken."""

    lab: str
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Any check failed."""
        return any(r.status == "fail" for r in self.results)

    def devices(self) -> dict[str, str]:
        """Each device's overall status: its worst result."""
        worst: dict[str, str] = {}
        for r in self.results:
            if r.device not in worst or SEVERITY[r.status] < SEVERITY[worst[r.device]]:
                worst[r.device] = r.status
        return worst

    def as_dict(self, plots: bool = False) -> dict[str, Any]:
        """The diagnosis as JSON (with plot data only if asked)."""
        return {
            "lab": self.lab,
            "started": self.started,
            "finished": self.finished,
            "devices": self.devices(),
            "results": [r.as_dict(plots) for r in self.results],
        }


def steps(lab: Lab, names: Sequence[str]) -> list[tuple[str, str]]:
    """Every (device, step) a diagnosis of ``names`` runs, for a progress display."""
    out = []
    for device in _chosen(lab, names):
        out += [(device.name, "connection, identity")]
        out += [(device.name, step) for step in suite_of(lab, device.name).CHECKS]
    return out


def _chosen(lab: Lab, names: Sequence[str]) -> list[InstrumentDevice]:
    return [d for d in lab.devices.instruments if not names or d.name in names]


def diagnose(
    lab: Lab,
    names: Sequence[str] = (),
    progress: Progress | None = None,
    connected: bool = False,
) -> Diagnosis:
    """Check the named devices and leave each in its safe state.

    Args:
        lab: a lab built with ``connect=False`` (or the lab server's, with ``connected``).
        names: the devices to check; empty: every instrument.
        progress: called with (device, step) as each step starts.
        connected: the lab's devices are connected already; otherwise each is connected
            here on its own, so one that cannot be reached is a failed ``connection``
            result and the others are still checked.

    Returns:
        Every result, in the order taken.
    """
    diagnosis = Diagnosis(lab.config.name)
    for device in _chosen(lab, names):
        diagnosis.results += _device(lab, device, progress or (lambda _d, _s: None), connected)
    diagnosis.finished = time.time()
    return diagnosis


def _device(
    lab: Lab, device: InstrumentDevice, progress: Progress, connected: bool
) -> list[CheckResult]:
    suite = suite_of(lab, device.name)
    progress(device.name, "connection, identity")
    try:
        if not connected:
            lab.connect([device.name])
    except DeviceError as err:
        return [
            verdict(device.name, "connection", False, "not connected", explain(err)),
            *(
                skipped(device.name, check, "not connected")
                for step in suite.CHECKS
                for check in step.split(", ")  # a step measures once, judges several
            ),
        ]
    ctx: CheckContext[Any, Any] = CheckContext(lab, device, lab.config.settings_of(device.name))
    results = [
        verdict(device.name, "connection", True, device.driver.link, ""),
        lab.call(_identity(ctx)),
    ]
    try:
        for step, check in suite.CHECKS.items():
            progress(device.name, step)
            start = time.perf_counter()
            try:
                found = lab.call(check(ctx))
            except DeviceError as err:
                found = [verdict(device.name, step, False, "error", str(err))]
            for r in found:
                r.seconds = time.perf_counter() - start
            results += found
    finally:
        lab.call(suite.leave_safe(ctx))
    return results


async def _identity(ctx: CheckContext[Any, Any]) -> CheckResult:
    identity = await ctx.device.identity()
    expected = ctx.config.identity
    wrong = [
        f"{what} {got!r}, expected {want!r}"
        for what, got, want in (
            ("model", identity.model, expected.model),
            ("firmware", identity.firmware, expected.firmware),
        )
        if want is not None and got != want
    ]
    return verdict(
        ctx.name,
        "identity",
        not wrong,
        str(identity),
        "; ".join(wrong) + ": install the validated firmware, or update `identity` in the "
        "lab file once the new one is validated",
    )
