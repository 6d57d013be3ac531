"""A store that holds a long campaign: a few trials run for real in the simulated lab, then
copied (documents, values, links) under new trial numbers and uids until it holds ``n``.

Reading a campaign back costs what its documents and rows cost, not how they were made, so
copies of real runs measure the dashboard's endpoints at 1,000 trials without running
1,000 trials."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from bench._lab import bench_lab
from lab.api import run_campaign
from lab.store import Store, TrialStatus

CAMPAIGN = "colour-match"


def grown_store(folder: Path, n: int, real: int = 3) -> tuple[Path, Path]:
    """The lab folder and a store in ``folder`` whose campaign holds ``n`` trials.

    Args:
        folder: an empty folder.
        n: the trials the store should hold.
        real: how many of them are run in the simulated lab (the rest are their copies).
    """
    lab = bench_lab(folder / "lab")
    campaign = folder / "lab" / "campaign.yaml"
    data = yaml.safe_load(campaign.read_text())
    data["trials"] = real
    campaign.write_text(yaml.safe_dump(data, sort_keys=False))
    path = folder / "store.sqlite"
    run_campaign(campaign, lab=lab, store=path)
    data["trials"] = max(n, real)  # the campaign file says what the store holds
    campaign.write_text(yaml.safe_dump(data, sort_keys=False))
    store = Store(path)
    try:
        originals = store.trials(CAMPAIGN)
        for idx in range(len(originals), n):
            _copy_trial(store, originals[idx % len(originals)], idx)
    finally:
        store.close()
    return folder / "lab", path


def _copy_trial(store: Store, original: Any, idx: int) -> None:
    store.add_trial(
        CAMPAIGN,
        idx,
        original.parameters,
        original.planner,
        status=TrialStatus.RUNNING,
        suggestion=original.suggestion,
        session=original.session,
    )
    uids: dict[str, str] = {}
    run_uid = None
    for name, doc in store.documents(original.run_uid):
        copy = dict(doc)
        for key in ("uid", "run_start", "descriptor"):
            if key in copy:
                copy[key] = uids.setdefault(copy[key], str(uuid.uuid4()))
        if name == "start":
            copy["trial"] = idx
            run_uid = copy["uid"]
        store.record(name, copy)
    store.update_trial(
        CAMPAIGN,
        idx,
        outcomes=original.outcome_quantities(),
        status=original.status,
        run_uid=run_uid,
        sample_id=original.sample_id,
    )
