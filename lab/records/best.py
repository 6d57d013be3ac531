"""Which trials are best: what the planner recorded as it ran, or the measured Pareto
front; what tables, reports, the dashboard and the command line all show."""

from __future__ import annotations

from typing import Any

import numpy as np

from lab.files.campaign_file import CampaignConfig
from lab.store import Store, TrialRecord


def best_trials(
    records: list[TrialRecord], definition: dict[str, Any], stored: dict[str, Any] | None
) -> tuple[list[TrialRecord], str]:
    """The trials the planner holds best and the rule it chose them by.

    What the planner recorded as it ran (``stored``, the campaign's ``best``): for the Ax
    planner its model's estimate, which a lucky noisy measurement does not sway; for
    several objectives, its Pareto front. A store without that record falls back to the
    measured values: the non-dominated completed trials that meet the outcome constraints.

    Args:
        records: the campaign's trials.
        definition: the campaign's stored definition (objectives, planner).
        stored: what the planner said was best while it ran, if recorded.
    """
    by_idx = {r.idx: r for r in records}
    if stored and stored.get("trials"):
        chosen = [by_idx[i] for i in stored["trials"] if i in by_idx]
        if chosen:
            return chosen, str(stored.get("rule", "observed"))
    signs = {o["name"]: 1.0 if o.get("minimize", True) else -1.0 for o in definition["objectives"]}
    limits = definition.get("outcome_constraints", [])

    def allowed(outcomes: dict[str, float]) -> bool:
        return all(
            (c["max"] is None or outcomes.get(c["name"], np.inf) <= c["max"])
            and (c["min"] is None or outcomes.get(c["name"], -np.inf) >= c["min"])
            for c in limits
        )

    done = [
        r for r in records if r.outcomes and set(signs) <= set(r.outcomes) and allowed(r.outcomes)
    ]
    keys = {r.idx: tuple(signs[n] * (r.outcomes or {})[n] for n in signs) for r in done}
    front = [
        a
        for a in done
        if not any(
            all(x <= y for x, y in zip(keys[b.idx], keys[a.idx], strict=True))
            and keys[b.idx] != keys[a.idx]
            for b in done
        )
    ]
    return sorted(front, key=lambda r: keys[r.idx]), "observed"


def best_trial(store: Store, campaign: CampaignConfig) -> TrialRecord | None:
    """The trial the planner holds best (the first of its Pareto front), if any.

    Args:
        store: the lab's store.
        campaign: the campaign file.
    """
    info = store.campaign(campaign.name) or {}
    records = store.trials(campaign.name)
    chosen, _ = best_trials(records, campaign.definition(), info.get("best"))
    return chosen[0] if chosen else None
