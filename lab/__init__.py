"""The running lab: configuration, composition, campaign runner, store, report and CLI.

For scripts and notebooks::

    from lab import run_campaign
    result = run_campaign("examples/colour_match/campaign.yaml", trials=10)
    print(result.best[0].parameters, result.best[0].outcomes)
"""

from lab.api import PreparedCampaign, default_store, open_lab, prepare, run_campaign
from lab.campaign_checks import load_protocol
from lab.campaign_config import CampaignConfig, load_campaign
from lab.compose import Lab, build_lab
from lab.config import LabConfig, load_lab_config
from lab.errors import ConfigError
from lab.executor import Executor, InProcessExecutor, PlanOutcome, PlanRequest
from lab.runner import CampaignResult, CampaignRunner, Progress, RunnerEvents, TrialResult
from lab.store import CampaignMismatch, Store, TrialRecord

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
    "open_lab",
    "prepare",
    "run_campaign",
]
