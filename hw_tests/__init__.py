"""Device diagnostics for facility staff: a suite of checks per device kind, run against
whatever the lab file points at (real hardware, or the wire simulators), each ending in
pass / warn / fail with the measured figure, its levels and what to do.

``diagnose(lab, names)`` runs them on a lab built with ``connect=False`` (each device is
connected on its own, so one that cannot be reached is a result, not a traceback);
``write_report`` and ``write_history`` make the reports staff read.
"""

from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, Status, judged, skipped, verdict
from hw_tests._suite import Diagnosis, diagnose, steps
from hw_tests.report import write_history, write_report

__all__ = [
    "CheckContext",
    "CheckResult",
    "Diagnosis",
    "Status",
    "diagnose",
    "judged",
    "skipped",
    "steps",
    "verdict",
    "write_history",
    "write_report",
]
