"""Importing the lab changes nothing global in the user's session (a notebook's plotting
backend, the log levels of libraries), and plots still go to files."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, matplotlib
matplotlib.use("svg")
names = ("asyncua", "asyncua.client", "asyncua.uaprotocol", "bluesky", "ax")
before = {n: logging.getLogger(n).level for n in names}
import lab, lab.api, lab.report, lab.server, lab.simulation
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
after = {n: logging.getLogger(n).level for n in names}
assert before == after, (before, after)
"""


def test_importing_the_lab_changes_no_global_state():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
