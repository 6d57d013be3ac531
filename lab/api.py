"""The Python API for scripts and notebooks; the CLI is a thin layer over it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.campaigns.results import CampaignResult, RunnerEvents
from lab.campaigns.runner import CampaignRunner
from lab.errors import ConfigError
from lab.files.campaign_checks import campaign_protocol, check_bounds
from lab.files.campaign_file import CampaignConfig, load_campaign
from lab.files.lab_file import LabConfig, load_lab_config
from lab.outputs.report import write_plots
from lab.runtime.lab import Lab, build_lab, threaded_run_engine
from lab.runtime.process import LabProcess
from lab.store import Store, is_database_url
from lab.store.tiled import TiledMirror, tiled_server
from protocols import Protocol


@dataclass
class PreparedCampaign:
    """Every file read and checked; nothing opened, nothing moved."""

    campaign: CampaignConfig
    protocol: Protocol
    lab: LabConfig
    #: a SQLite file's path, or a database server's URL
    store: str
    #: where plots and reports go: the store file's folder, or ``runs/<campaign>/`` beside
    #: a database server
    folder: Path


def default_store(campaign: CampaignConfig) -> Path:
    """Where a campaign is stored by default: ``runs/<campaign>/store.sqlite``."""
    return Path("runs") / campaign.name / "store.sqlite"


def default_lab_store(lab: LabConfig) -> Path:
    """Where a lab's server and hand-driven runs are recorded by default."""
    return Path("runs") / lab.name / "store.sqlite"


def output_folder(store: str | Path, default: Path) -> Path:
    """Where files that go with a store (plots, reports) are written: beside the store
    file, or, for a store on a database server, where ``default`` (the store file it
    stands in for) would have been.

    Args:
        store: a SQLite file's path or a database server's URL.
        default: the store file used when none is given.
    """
    return default.parent if is_database_url(store) else Path(store).parent


def prepare(
    campaign: str | Path | CampaignConfig,
    lab: str | Path | None = None,
    store: str | Path | None = None,
) -> PreparedCampaign:
    """Validate the campaign, its protocol and the lab file; the store is not touched.

    Args:
        campaign: the campaign file, or a campaign defined in Python
            (``CampaignConfig(name=..., parameters={"cyan": {"min": 0 * ureg.mL, ...}}, ...)``;
            relative paths in it are relative to the working directory).
        lab: the lab file; default: the campaign's ``lab:``.
        store: the SQLite file, or a database server's URL (``postgresql://...``);
            default ``runs/<campaign>/store.sqlite``.

    Raises:
        ConfigError: naming the file and every field at fault.
    """
    config = campaign if isinstance(campaign, CampaignConfig) else load_campaign(campaign)
    protocol = campaign_protocol(config)
    lab_path = lab or config.lab
    if lab_path is None:
        source = config.name if isinstance(campaign, CampaignConfig) else campaign
        raise ConfigError(source, ["lab: no lab file given (use --lab or set lab: in the file)"])
    default = default_store(config)
    location = str(store or default)
    lab_config = load_lab_config(lab_path)
    source = config.name if isinstance(campaign, CampaignConfig) else campaign
    check_bounds(config, protocol, lab_config.declared_limits(), source)  # before any device
    return PreparedCampaign(
        config, protocol, lab_config, location, output_folder(location, default)
    )


def run_campaign(
    campaign: str | Path | CampaignConfig,
    *,
    lab: str | Path | None = None,
    trials: int | None = None,
    planner: str | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    events: RunnerEvents | None = None,
    tiled: str | None = None,
) -> CampaignResult:
    """Run (or resume) a campaign in the lab its files describe; plots go next to the store.

    Args:
        campaign: the campaign file, or a :class:`CampaignConfig` made in Python.
        lab: the lab file; default: the campaign's ``lab:``.
        trials: the total to reach (trials already in the store count); default: the
            campaign's ``trials``.
        planner: a planner name (``ax``, ``ax-default``, ``sobol``, ``random``,
            ``spectral``); default: the campaign's.
        seed: the planner's seed; default: the campaign's.
        store: the SQLite file, or a database server's URL (``postgresql://...``; plots
            then go to ``runs/<campaign>/``); default ``runs/<campaign>/store.sqlite``. On
            a store that holds the campaign it resumes.
        events: hears of each trial as it changes (see :class:`lab.campaigns.results.RunnerEvents`).
        tiled: a Tiled server's URL (the key in ``TILED_API_KEY``) that gets every run as
            well, or ``local`` for a server of the lab's own beside the store.

    Returns:
        What the run did: trials, the best, why it stopped (if it did), the plots, and
        what reached Tiled.

    Raises:
        ConfigError: a file cannot be used (nothing ran, nothing was written).
        TiledError: the Tiled server cannot be used (nothing ran).
        DeviceError: the lab could not be brought up.
    """
    prepared = prepare(campaign, lab, store)
    with tiled_server(tiled, prepared.folder / "tiled") as tiled_client:
        return _run_prepared(prepared, campaign, trials, planner, seed, events, tiled_client)


def _run_prepared(
    prepared: PreparedCampaign,
    campaign: str | Path | CampaignConfig,
    trials: int | None,
    planner: str | None,
    seed: int | None,
    events: RunnerEvents | None,
    tiled: tuple[Any, str] | None,
) -> CampaignResult:
    running = build_lab(prepared.lab, run_engine=threaded_run_engine())
    try:
        source = prepared.campaign.name if isinstance(campaign, CampaignConfig) else campaign
        check_bounds(prepared.campaign, prepared.protocol, running.limits(), source)
        process = LabProcess.of(running)  # checks the interlocks before the store is made
        executor = process.executor
        assert executor is not None
        try:
            db = Store(prepared.store)  # opened only once every file is known good
            running.record_to(db)  # the lab closes it, on every path
            db.claim()
            mirror = TiledMirror(tiled[0], db, tiled[1]) if tiled else None
            if mirror is not None:
                for run_engine in running.run_engines:
                    run_engine.subscribe(mirror)
            runner = CampaignRunner(
                running,
                prepared.campaign,
                prepared.protocol,
                db,
                executor,
                planner,
                seed,
            )
            process.before_emergency_stop(runner.request_stop)
            process.start()
            result = runner.run(trials, events)
        finally:
            process.close()
        if mirror is not None:
            result.tiled = mirror.close()
        stopped = process.safety.latched  # an interlock's emergency stop, as its devices answered
        if stopped is not None and not stopped.confirmed and result.left_unsafe is None:
            unsafe = (f"{d}: {a}" for d, a in stopped.devices.items() if a != "safe")
            result.left_unsafe = "LEFT UNSAFE: emergency stop " + "; ".join(unsafe)
        heating = running.cooling_problems()  # a setpoint read back cannot tell a stuck heater
        if heating and result.left_unsafe is None:
            result.left_unsafe = "; ".join(heating)
        best = result.best[0] if result.best else None
        result.plots = write_plots(
            db,
            prepared.campaign,
            prepared.folder,
            prepared.lab.spectra_from,
            best,
        )
        return result
    finally:
        running.close()


def run_campaign_on_workcells(
    campaign: str | Path | CampaignConfig,
    workcells: Mapping[str, str],
    *,
    store: str | Path,
    lab: str | Path | None = None,
    trials: int | None = None,
    planner: str | None = None,
    seed: int | None = None,
    events: RunnerEvents | None = None,
) -> CampaignResult:
    """Coordinate one campaign over several workcells, one trial on each at a time.

    Each workcell is a queue server (``lab workcell serve``) in its own process, with its
    own devices, running the same lab file; it records its runs into ``store``, which this
    coordinator reads back for the objectives. The planner proposes whenever a workcell
    frees up, counting the trials still running on the others as pending.

    Args:
        campaign: the campaign file, or a :class:`CampaignConfig` made in Python.
        workcells: name -> the workcell's ZeroMQ control address (``tcp://host:60615``).
        store: the store every workcell records into (a ``postgresql://`` URL across
            machines).
        lab: the lab file; default: the campaign's ``lab:``.
        trials: the total to reach; default: the campaign's ``trials``.
        planner: a planner name; default: the campaign's.
        seed: the planner's seed; default: the campaign's.
        events: hears of each trial as it changes.

    Raises:
        ConfigError: a file cannot be used.
        WorkcellError: a workcell cannot be reached or refused a request.
    """
    from lab.workcells import WorkcellPool

    prepared = prepare(campaign, lab, store)
    pool = WorkcellPool.reach(prepared.lab, workcells)
    try:
        source = prepared.campaign.name if isinstance(campaign, CampaignConfig) else campaign
        check_bounds(prepared.campaign, prepared.protocol, pool.limits(), source)
        db = Store(prepared.store)
        try:
            db.claim()
            runner = CampaignRunner(
                pool, prepared.campaign, prepared.protocol, db, pool, planner, seed
            )
            result = runner.run(trials, events)
            best = result.best[0] if result.best else None
            result.plots = write_plots(
                db,
                prepared.campaign,
                prepared.folder,
                prepared.lab.spectra_from,
                best,
            )
            return result
        finally:
            db.close()
    finally:
        pool.close()


def open_lab(lab: str | Path, store: str | Path | None = None) -> Lab:
    """A connected lab for interactive use: ``lab.run_engine(plan)``.

    Args:
        lab: the lab file.
        store: where every run is recorded, like a campaign's runs; default
            ``runs/<lab name>/store.sqlite``.

    Raises:
        ConfigError: the lab file cannot be used.
        DeviceError: a device cannot be reached (named, with what to check).
    """
    config = load_lab_config(lab)
    return build_lab(config, Store(store or default_lab_store(config)))
