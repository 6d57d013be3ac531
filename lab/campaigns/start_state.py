"""Before a campaign's first trial: the workcell brought to its start state."""

from __future__ import annotations

from typing import Protocol

from devices import DeviceError, DeviceRefused
from lab.campaigns.samples import CampaignSamples
from lab.runtime.executor import Executor, PlanRequest


class StartState(Protocol):
    """What the lab tells of its start state."""

    def start_state_problems(self) -> list[str]:
        """What keeps the lab from its start state (vials left behind, a station hot)."""
        ...


def clear_workcell(
    lab: StartState,
    executor: Executor,
    samples: CampaignSamples,
    operator: str | None,
) -> str | None:
    """A station left stirring or hot is stopped and every vial a fault left behind goes to
    the waste (and into the ledger), so a resume after any fault starts clean. Returns why
    the campaign must not start, or None.

    Args:
        lab: the lab, read for what is out of place.
        executor: runs the clearing plan.
        samples: the campaign's ledger, told of each vial cleared.
        operator: recorded in the clearing run's start document.
    """
    try:
        problems = lab.start_state_problems()
    except DeviceRefused as err:  # a latched emergency stop: a person clears it
        return f"nothing starts: {err}"
    except DeviceError as err:
        return f"the workcell cannot be read, so nothing starts: {err}"
    if not problems:
        return None
    found = "; ".join(problems)
    md = {"campaign": samples.campaign, "operator": operator, "reason": found}
    outcome = executor.submit(PlanRequest("clear_workcell", {}, md)).result()
    if outcome.exit_status != "success":
        return f"the workcell could not be brought to its start state ({found}): {outcome.why}"
    for run_uid in outcome.run_uids:
        for vial in samples.vials_handled(samples.store.documents(run_uid)):
            samples.cleared(vial)
    return None
