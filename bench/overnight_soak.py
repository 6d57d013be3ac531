"""The overnight soak: a long campaign in the simulated lab server on an accelerated clock,
with pumps that jam now and then (each stops the campaign; the bench continues it, as the
morning's operator would), a reagent and the rack of vials running low (the campaign must
pause before a trial it cannot finish; the bench refills and resumes), and its events sent
to two webhooks. Checks: every trial accounted for, none half-dispensed or run dry, every
notification delivered exactly once on each channel.

    python -m bench.overnight_soak [--trials 500] [--quick]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench._lab import bench_lab
from bench._report import publish
from lab.accounts.users import add_user
from lab.files.lab_file import load_lab_config
from lab.runtime.lab import Lab
from lab.server import LabServer
from lab.store import Store
from tests.webhooks import webhook_receiver

NAME = "colour-match"
SECRET = "a-long-random-secret-for-the-soak-bench-7Yq"
#: what a running-short pause is answered with: the rack refilled, a reagent's bottle
REFILL = {"vials": "400"}
BOTTLE = "1000 mL"


def _lab(folder: Path, trials: int, hooks_url: str) -> Path:
    """The bench lab: a rack of vials and a cyan stock that each run short mid-soak."""
    lab_file = bench_lab(folder, clock_speed=20_000)
    lab = yaml.safe_load(lab_file.read_text())
    lab["locations"]["rack"]["vials"] = max(trials * 3 // 5, 2)
    lab["reagents"]["cyan"] = {"stock": f"{max(trials * 0.6, 2.0):g} mL", "low": "50 mL"}
    lab["notifications"] = {
        "channels": {
            "ops": {"kind": "webhook", "url": f"{hooks_url}/ops"},
            "chat": {"kind": "webhook", "url": f"{hooks_url}/chat", "format": "slack"},
        },
        "rate_limit": "1 ms",
    }
    lab_file.write_text(yaml.safe_dump(lab, sort_keys=False))
    campaign = yaml.safe_load((folder / "campaign.yaml").read_text())
    campaign.update(trials=trials, failures={"on_failure": "skip", "max_consecutive": 5})
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    return lab_file


def soak(trials: int, jam_every: int) -> dict[str, Any]:
    """Run the soak; what it saw and what it checked."""
    seen: dict[str, Any] = collections.Counter()
    with webhook_receiver() as hooks, tempfile.TemporaryDirectory(prefix="sdl-soak-") as tmp:
        lab_file = _lab(Path(tmp) / "lab", trials, hooks.url)
        store = Store(Path(tmp) / "store.sqlite")
        add_user(store, "night", "staff", "a long enough passphrase")
        server = LabServer(load_lab_config(lab_file), store, SECRET, lab_file.parent, 0.5)
        assert isinstance(server.lab, Lab) and server.lab.world is not None
        world = server.lab.world
        started = time.perf_counter()
        try:
            server.start()
            session = server.manager.start(NAME, "night")
            pump = world.station.pumps[1]
            next_jam, failures_before = jam_every, 0
            while True:
                time.sleep(0.05)
                if not pump.jammed and session.done >= next_jam and session.done < trials - 1:
                    pump.jammed, failures_before = True, _failed(store)
                    next_jam += jam_every
                    seen["jams"] += 1
                elif pump.jammed and _failed(store) > failures_before:
                    pump.jammed = False  # one trial failed by it: mended
                if session.alert and "runs short" in session.alert:
                    what = session.alert.split()[0]
                    seen[f"paused for {what}"] += 1
                    server.consumables.refill(what, REFILL.get(what, BOTTLE), "night")
                    server.manager.resume("night")
                if session.state in ("stopped", "failed", "finished"):
                    if session.state == "finished" or session.done >= trials:
                        break
                    pump.jammed = False
                    seen["continued after a stop"] += 1
                    session = server.manager.start(NAME, "night")
        finally:
            wall = time.perf_counter() - started
            server.close()
        records = store.trials(NAME)
        deliveries = store.notifications.entries(100_000)
        sent = collections.Counter(d.channel for d in deliveries if d.status == "sent")
        store.close()
        received: dict[str, list[str]] = collections.defaultdict(list)
        for r in hooks.received:  # the chat format carries only the text
            received[r.path.strip("/")].append(r.body.get("id") or r.body["text"])
    statuses = collections.Counter(str(t.status) for t in records)
    dry = [
        t.error for t in records if t.error and ("holds only" in t.error or "no vial" in t.error)
    ]
    events = collections.Counter(d.event for d in deliveries if d.channel == "ops")
    ops_ids = received["ops"]
    checks = {
        "every trial accounted for": statuses["completed"] + statuses["failed"] == trials,
        "no trial ran dry or half-dispensed": not dry,
        "paused before running dry": any(k.startswith("paused for") for k in seen),
        "every delivery sent": all(d.status == "sent" for d in deliveries),
        "exactly once on ops": len(ops_ids) == len(set(ops_ids)) == sent["ops"],
        "exactly once on chat": len(received["chat"]) == sent["chat"],
    }
    return {
        "trials": trials,
        "wall_s": round(wall, 1),
        "trials_per_hour": round(trials / wall * 3600),
        "statuses": dict(statuses),
        "seen": dict(seen),
        "events": dict(events),
        "messages": {c: len(v) for c, v in received.items()},
        "checks": checks,
    }


def _failed(store: Store) -> int:
    return sum(str(t.status) == "failed" for t in store.trials(NAME))


def main(trials: int) -> dict[str, Any]:
    result = soak(trials, jam_every=max(trials // 5, 2))
    checks = "\n".join(f"| {k} | {'yes' if ok else 'NO'} |" for k, ok in result["checks"].items())
    events = ", ".join(f"{k} {v}" for k, v in sorted(result["events"].items()))
    seen = ", ".join(f"{k}: {v}" for k, v in result["seen"].items())
    table = (
        "## Overnight soak\n\n"
        f"{result['trials']} trials in {result['wall_s']} s ({result['trials_per_hour']} "
        f"trials an hour at a 20000x clock); {seen}.\n\n"
        f"Messages per channel: {result['messages']}; by event (ops): {events}.\n\n"
        "| check | held |\n|---|---|\n" + checks
    )
    notes = (
        "Sobol planner; a pump jams about five times (each jam fails its trial and stops "
        "the campaign as a device fault; the bench continues it); the rack holds vials for "
        "3/5 of the trials, cyan starts at 0.6 mL a trial of the budget and the other dyes "
        "at their 250 mL: each time one runs short the campaign must pause before the "
        "trial it cannot finish, and the bench records a refill (the rack to 400, a "
        "reagent to 1000 mL) and resumes."
    )
    publish("overnight_soak", result, table, notes)
    failed = [k for k, ok in result["checks"].items() if not ok]
    if failed:
        raise SystemExit(f"overnight soak: failed checks: {failed}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500, help="the campaign's budget")
    parser.add_argument("--quick", action="store_true", help="40 trials")
    args = parser.parse_args()
    main(40 if args.quick else args.trials)
