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


PLANNER_AND_SETUP = """
import logging, torch
from planners import AxPlanner, Objective, Parameter, SearchSpace
torch.set_num_threads(3)
space = SearchSpace([Parameter("a", "milliliter", 0.0, 2.0)])
AxPlanner(space, [Objective("loss")], seed=0)
from ax.utils.common.logger import ROOT_STREAM_HANDLER
print("planner", torch.get_num_threads(), logging.getLevelName(ROOT_STREAM_HANDLER.level))
from lab.startup import set_up_application
set_up_application()
print("set up", torch.get_num_threads(), logging.getLevelName(ROOT_STREAM_HANDLER.level))
logging.getLogger("lab.campaigns.manager").info("campaign x started by ann")
logging.getLogger("asyncua.client").info("a library's chatter")
from ax.utils.common.logger import get_logger
get_logger("ax.adapter.fit").warning("a model fit is poor")
logging.getLogger("bluesky").error("a run failed, as bluesky tells it")
set_up_application(libraries=logging.WARNING)  # lab -v
print("verbose", logging.getLevelName(ROOT_STREAM_HANDLER.level))
get_logger("ax.adapter.fit").warning("a model fit is poor, again")
"""


def test_a_planner_changes_nothing_global_and_the_application_set_up_does():
    """Building a planner leaves torch's threads and Ax's console as the user set them; the
    application's one set-up caps the threads, turns Ax down to errors and shows the
    lab's state changes, one line each, without the libraries' chatter or warnings; asked
    to be verbose, it shows the libraries' warnings too."""
    done = subprocess.run([sys.executable, "-c", PLANNER_AND_SETUP], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["planner 3 INFO", "set up 2 ERROR", "verbose WARNING"]
    lines = done.stderr.splitlines()
    ours = [line for line in lines if not line.startswith("[")]  # Ax writes "[INFO 12-06 ...]"
    assert ours == ["INFO lab.campaigns.manager: campaign x started by ann"], done.stderr
    fits = [line for line in lines if "model fit is poor" in line]
    assert len(fits) == 1 and fits[0].endswith("poor, again"), done.stderr


def test_ax_says_nothing_while_it_is_imported_after_the_set_up():
    script = (
        "from lab.startup import set_up_application\n"
        "set_up_application()\n"
        "from ax.api.client import Client\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
