"""The Python API for scripts and notebooks; the CLI is a thin layer over it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.campaign_config import CampaignConfig, load_campaign
from lab.compose import Lab, build_lab
from lab.config import LabConfig, load_lab_config
from lab.errors import ConfigError
from lab.report import write_plots
from lab.runner import (
    CampaignResult,
    CampaignRunner,
    Progress,
    campaign_protocol,
    check_bounds,
)
from lab.store import Store
from protocols import Protocol


@dataclass
class PreparedCampaign:
    """Every file read and checked; nothing opened, nothing moved."""

    campaign: CampaignConfig
    protocol: Protocol
    lab: LabConfig
    store_path: Path


def default_store(campaign: CampaignConfig) -> Path:
    return Path("runs") / campaign.name / "store.sqlite"


def prepare(
    campaign: str | Path, lab: str | Path | None = None, store: str | Path | None = None
) -> PreparedCampaign:
    """Validate the campaign, its protocol and the lab file. Raises :class:`ConfigError`
    naming the file and field; the store is not touched."""
    config = load_campaign(campaign)
    protocol = campaign_protocol(config)
    lab_path = lab or config.lab
    if lab_path is None:
        raise ConfigError(campaign, ["lab: no lab file given (use --lab or set lab: in the file)"])
    return PreparedCampaign(
        config, protocol, load_lab_config(lab_path), Path(store) if store else default_store(config)
    )


def run_campaign(
    campaign: str | Path,
    *,
    lab: str | Path | None = None,
    trials: int | None = None,
    planner: str | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    on_trial: Callable[[Progress], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> CampaignResult:
    """Run (or resume) a campaign in the lab its files describe; plots go next to the store.

    ``on_start(already_done, total)`` is called once the store has been read.
    """
    prepared = prepare(campaign, lab, store)
    running = build_lab(prepared.lab)
    try:
        check_bounds(prepared.campaign, prepared.protocol, running.limits(), campaign)
    except ConfigError:
        running.close()
        raise
    db = Store(prepared.store_path)
    try:
        runner = CampaignRunner(running, prepared.campaign, prepared.protocol, db, planner, seed)
        result = runner.run(trials, on_trial=on_trial, on_start=on_start)
        best = result.best[0] if result.best else None
        result.plots = write_plots(
            db,
            prepared.campaign,
            prepared.store_path.parent,
            running.devices.spectrometer.name,
            best,
        )
        return result
    finally:
        db.close()
        running.close()


def open_lab(lab: str | Path) -> Lab:
    """A connected lab for interactive use: ``lab.run_engine(plan)``."""
    return build_lab(load_lab_config(lab))
