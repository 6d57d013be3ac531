"""State push latency: from the moment the lab publishes an event to the moment a client
of the event stream has it, with 1 and with 50 clients connected at once.

A real ``lab serve --demo`` process runs a long campaign (so the lab publishes device
readings, trials and progress); the clients are server-sent-event readers in this process.
Goal: p95 <= 100 ms with 50 clients.

    python -m bench.push_latency [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx

from bench._lab import bench_lab
from bench._report import percentiles, publish
from tests.system.lab_process import demo_password, start_lab


async def listen(url: str, token: str, seconds: float, warmup: float) -> list[float]:
    """One client: latencies of the events published after it had connected."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{url}/api/events", headers=headers) as response,
    ):
        start = time.time()
        async for line in response.aiter_lines():
            now = time.time()
            if now - start > warmup + seconds:
                break
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event["time"] > start + warmup:  # not the replayed latest state
                    latencies.append(now - event["time"])
    return latencies


async def measure(url: str, token: str, clients: int, seconds: float) -> list[float]:
    found = await asyncio.gather(*(listen(url, token, seconds, 1.0) for _ in range(clients)))
    return [x for one in found for x in one]


def main(quick: bool) -> dict[str, dict[str, float]]:
    seconds = 6.0 if quick else 30.0
    with tempfile.TemporaryDirectory(prefix="sdl-bench-") as tmp:
        root = Path(tmp)
        lab_file = bench_lab(root / "lab")
        lab = start_lab(
            "--demo",
            "--lab",
            lab_file,
            "--store",
            root / "store.sqlite",
            "--start",
            "colour-match",
            cwd=root,
        )
        try:
            token = httpx.post(
                f"{lab.url}/api/auth/token",
                json={"username": "demo", "password": demo_password(lab)},
            ).json()["token"]
            results = {
                f"{n}": percentiles(asyncio.run(measure(lab.url, token, n, seconds)))
                for n in (1, 50)
            }
        finally:
            lab.stop()
    rows = "\n".join(
        f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['n']} |"
        for name, r in results.items()
    )
    table = (
        "## State push latency (server-sent events)\n\n"
        "| clients | p50 (ms) | p95 (ms) | max (ms) | events |\n|---|---|---|---|---|\n" + rows
    )
    notes = (
        f"Goal: p95 <= 100 ms with 50 clients. Each client reads `/api/events` for "
        f"{seconds:g} s while `lab serve --demo` runs a Sobol campaign on the simulated lab "
        "(clock x1000); latency is the client's receive time minus the event's publish time "
        "(same machine, one clock). Server and clients share the machine's cores."
    )
    publish("push_latency", {"seconds": seconds, "results": results}, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    main(parser.parse_args().quick)
