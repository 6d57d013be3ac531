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
import lab, lab.api, lab.outputs.report, lab.server, lab.runtime.simulated_world
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
after = {n: logging.getLogger(n).level for n in names}
assert before == after, (before, after)
"""


def test_importing_the_lab_changes_no_global_state():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_command_line_loads_no_heavy_stack_until_a_command_needs_it():
    """`lab --help` starts fast (bench/cli_start.py measures it): neither the devices
    (ophyd-async, asyncua), the RunEngine, the planners (torch, Ax) nor matplotlib load
    before a command that uses them runs; `campaign show` needs only the store and units."""
    script = (
        "import sys, lab.cli\n"
        "from devices import parse_quantity\n"
        "from lab.outputs.report import summary_table\n"
        "from lab.store import Store\n"
        "heavy = ('torch', 'ax', 'botorch', 'ophyd_async', 'bluesky', 'asyncua', 'matplotlib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
    from_lab = subprocess.run(  # and the public API still gives everything it names
        [
            sys.executable,
            "-c",
            "import lab, planners, devices; lab.CampaignRunner; "
            "planners.AxPlanner; devices.SynthesisStation; print(len(lab.__all__))",
        ],
        capture_output=True,
        text=True,
    )
    assert from_lab.returncode == 0, from_lab.stderr[-2000:]
