"""Campaign and timeline endpoints on a long campaign: what the dashboard's campaign page
waits for, at 100 and 1,000 trials (a few trials run in the simulated lab, the rest their
copies: see ``bench/_grown_store.py``). Goal: under 200 ms at 1,000 trials.

The server runs in this process (uvicorn in a thread); requests come over loopback HTTP
with a viewer's bearer token, as a page's would.

    python -m bench.api_latency [--quick]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

import httpx

from bench._grown_store import CAMPAIGN, grown_store
from bench._report import percentiles, publish
from bench.estop_latency import serve
from lab.accounts.users import add_user
from lab.files.lab_file import load_lab_config
from lab.server import LabServer
from lab.store import Store

ENDPOINTS = {
    "campaign": f"/api/campaigns/{CAMPAIGN}",
    "timeline": f"/api/campaigns/{CAMPAIGN}/timeline",
    "campaigns": "/api/campaigns",
}


def measure(trials: int, rounds: int) -> dict[str, dict[str, float]]:
    """Each endpoint's latency over ``rounds`` requests, on a store of ``trials`` trials."""
    with tempfile.TemporaryDirectory(prefix="sdl-bench-") as tmp:
        lab_dir, path = grown_store(Path(tmp), trials)
        store = Store(path)
        add_user(store, "viewer", "viewer", "bench password")
        server = LabServer(
            load_lab_config(lab_dir / "lab.yaml"), store, secrets.token_urlsafe(32), lab_dir
        )
        http, url = serve(server)
        client = httpx.Client(base_url=url, timeout=30)
        try:
            token = client.post(
                "/api/auth/token", json={"username": "viewer", "password": "bench password"}
            ).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            out = {}
            for label, endpoint in ENDPOINTS.items():
                start = time.perf_counter()
                first = client.get(endpoint)  # the first read fills what later ones reuse
                cold = time.perf_counter() - start
                assert first.status_code == 200, first.text
                samples = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    reply = client.get(endpoint)
                    samples.append(time.perf_counter() - start)
                    assert reply.status_code == 200, reply.text
                out[label] = {
                    **percentiles(samples),
                    "first_ms": round(cold * 1000, 1),
                    "kB": round(len(reply.content) / 1024),
                }
            return out
        finally:
            client.close()
            http.should_exit = True
            time.sleep(3)


def main(quick: bool) -> dict[str, dict[str, dict[str, float]]]:
    rounds = 5 if quick else 30
    results = {str(n): measure(n, rounds) for n in (100, 1000)}
    table = (
        "## Campaign page endpoints\n\n| trials | endpoint | first (ms) | p50 (ms) | p95 (ms) "
        "| max (ms) | answer (kB) |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {n} | `{ENDPOINTS[label]}` | {v['first_ms']} | {v['p50_ms']} | {v['p95_ms']} "
            f"| {v['max_ms']} | {v['kB']} |"
            for n, found in results.items()
            for label, v in found.items()
        )
    )
    notes = (
        "Goal: under 200 ms at 1,000 trials. Each endpoint read once first (*first*: what "
        f"a page meets after the server starts, or right after a change), then {rounds} "
        "times over loopback HTTP. A campaign's trials are read again only when they have "
        "changed (the store counts changes) and encoded by pydantic-core; the folder of "
        "campaign files is parsed again only when a file in it changes; the timeline reads "
        "only each run's `conditions` stream in one query, again only when a document has "
        "been recorded. Reads right after a change cost what *first* says."
    )
    publish("api_latency", {"rounds": rounds, "results": results}, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    main(parser.parse_args().quick)
