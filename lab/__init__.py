"""The running lab: configuration, composition, campaign runner, store, report and CLI.

For scripts and notebooks:

    from lab import run_campaign
    result = run_campaign("examples/colour_match/campaign.yaml", trials=10)
    print(result.best[0].parameters, result.best[0].outcomes)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from lab.api import PreparedCampaign, default_store, open_lab, prepare, run_campaign
    from lab.campaigns.results import CampaignResult, Progress, RunnerEvents, TrialResult
    from lab.campaigns.runner import CampaignRunner
    from lab.data import LabData, open_data
    from lab.errors import ConfigError
    from lab.files.campaign_checks import load_protocol
    from lab.files.campaign_file import CampaignConfig, load_campaign
    from lab.files.lab_file import LabConfig, load_lab_config
    from lab.runtime.executor import Executor, InProcessExecutor, PlanOutcome, PlanRequest
    from lab.runtime.lab import Lab, build_lab
    from lab.store import CampaignMismatch, Store, TrialRecord

#: public name -> the module that holds it, imported when first asked for, so that the
#: command line (``lab --help``) does not pay for the RunEngine, Ax and torch
_HOMES = {
    **dict.fromkeys(
        ("PreparedCampaign", "default_store", "open_lab", "prepare", "run_campaign"), "lab.api"
    ),
    "load_protocol": "lab.files.campaign_checks",
    **dict.fromkeys(("CampaignConfig", "load_campaign"), "lab.files.campaign_file"),
    **dict.fromkeys(("Lab", "build_lab"), "lab.runtime.lab"),
    **dict.fromkeys(("LabConfig", "load_lab_config"), "lab.files.lab_file"),
    **dict.fromkeys(("LabData", "open_data"), "lab.data"),
    "ConfigError": "lab.errors",
    **dict.fromkeys(
        ("Executor", "InProcessExecutor", "PlanOutcome", "PlanRequest"), "lab.runtime.executor"
    ),
    **dict.fromkeys(
        ("CampaignResult", "Progress", "RunnerEvents", "TrialResult"), "lab.campaigns.results"
    ),
    "CampaignRunner": "lab.campaigns.runner",
    **dict.fromkeys(("CampaignMismatch", "Store", "TrialRecord"), "lab.store"),
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lab' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "CampaignConfig",
    "CampaignMismatch",
    "CampaignResult",
    "CampaignRunner",
    "ConfigError",
    "Executor",
    "InProcessExecutor",
    "Lab",
    "LabConfig",
    "LabData",
    "PlanOutcome",
    "PlanRequest",
    "PreparedCampaign",
    "Progress",
    "RunnerEvents",
    "Store",
    "TrialRecord",
    "TrialResult",
    "build_lab",
    "default_store",
    "load_campaign",
    "load_lab_config",
    "load_protocol",
    "open_data",
    "open_lab",
    "prepare",
    "run_campaign",
]
