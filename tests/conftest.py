"""Shared fixtures: fast copies of the example lab and campaign, and a task-leak guard."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from simulators import Location, SimClock, Workcell
from tests import postgres as pg
from tests import redis as throwaway_redis

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "colour_match"

# a Tiled server a test stops is given up on in seconds, not the client's default 45 s of
# retries (read when tiled.client is first imported)
os.environ.setdefault("TILED_RETRY_TIMEOUT", "3")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hardware-lab",
        default=None,
        help="lab file of real instruments for the hardware tests (default: the simulated example)",
    )


@pytest.fixture(scope="session")
def hardware_lab(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("--hardware-lab") or EXAMPLES / "lab.yaml")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.ThrowawayPostgres]:
    """One throwaway PostgreSQL server for the session (a facility's store)."""
    if not pg.available():
        pytest.fail("no PostgreSQL server programs: `make test` installs Debian's postgresql")
    server = pg.ThrowawayPostgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis() -> Iterator[throwaway_redis.ThrowawayRedis]:
    """A Redis server for the workcells' queues, for the whole test session."""
    if not throwaway_redis.available():
        pytest.fail("no redis-server: `make test` installs Debian's redis-server")
    server = throwaway_redis.ThrowawayRedis()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store goes: a SQLite file (the embedded default), or a fresh database on a
    PostgreSQL server (a facility's); the same store code runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    server: pg.ThrowawayPostgres = request.getfixturevalue("postgres")
    return server.database()


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """The colour-matching example, copied, with a fast clock and fast BO settings."""
    return copy_example(tmp_path / "colour_match")


def copy_example(out: Path) -> Path:
    """The colour-matching example copied to ``out``, with a fast clock and fast BO settings."""
    shutil.copytree(EXAMPLES, out, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = yaml.safe_load((out / "lab.yaml").read_text())
    lab["simulation"]["clock_speed"] = 1000  # fast, yet slower than OPC UA subscriptions can follow
    (out / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    campaign = yaml.safe_load((out / "campaign.yaml").read_text())
    campaign["trials"] = 3
    campaign["planner"] = {"name": "sobol", "seed": 1, "initialization_trials": 2}
    (out / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    return out


def edit_yaml(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
async def no_leaked_tasks():
    """Fail an async test that leaves tasks running on its loop (use in async modules)."""
    yield
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leaked, f"test leaked asyncio tasks: {leaked}"


def small_workcell() -> tuple[SimClock, Workcell]:
    """A four-place workcell (rack, slot, holder, waste) on a very fast clock."""
    clock = SimClock(1e6)
    cell = Workcell(
        [
            Location("rack", (0, 0, 0), source=True),
            Location("slot", (100, 0, 0)),
            Location("holder", (100, 100, 0)),
            Location("waste", (0, 100, 0), sink=True),
        ],
        vial_capacity_ml=5.0,
    )
    return clock, cell
