"""Notification latency: from an event to a webhook receiving it, with 1 and with 20
channels, and with a dead and a hanging channel beside them (they must add nothing to the
others). Every event must arrive exactly once on every live channel.

Goal: p95 <= 2 s.

    python -m bench.notification_latency [--quick]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

from bench._report import percentiles, publish
from lab.files.notifications_file import EventKind, NotificationsConfig
from lab.notifications import Event, Notifier
from lab.store import Store
from tests.webhooks import webhook_receiver


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(channels: int, broken: bool, events: int, rate_hz: float) -> dict[str, float]:
    with webhook_receiver() as hooks, webhook_receiver() as hanging:
        hanging.hang_s = 30.0
        section: dict[str, object] = {
            f"ch{i}": {"kind": "webhook", "url": f"{hooks.url}/ch{i}"} for i in range(channels)
        }
        if broken:
            section["dead"] = {"kind": "webhook", "url": f"http://127.0.0.1:{_closed_port()}/"}
            section["hung"] = {"kind": "webhook", "url": hanging.url, "timeout": "5 s"}
        config = NotificationsConfig.model_validate({"channels": section, "rate_limit": "1 ms"})
        with tempfile.TemporaryDirectory(prefix="sdl-bench-") as tmp:
            store = Store(Path(tmp) / "store.sqlite")
            notifier = Notifier(config, "bench", store.notifications)
            sent: dict[int, float] = {}
            for n in range(events):  # each about its own device: no rate limit applies
                event = Event(EventKind.DEVICE_FAULT, f"device {n}", "fault", "a fault")
                sent[event.id] = event.time
                notifier.tell(event)
                time.sleep(1.0 / rate_hz)
            hooks.wait_for(events * channels, timeout_s=60)
            latencies = [r.time - sent[r.body["id"]] for r in hooks.received]
            per_channel = {
                path: sum(1 for r in hooks.received if r.path == path)
                for path in {r.path for r in hooks.received}
            }
            notifier.close(timeout_s=0.1)
            store.close()
    assert set(per_channel.values()) == {events}, per_channel  # exactly once on each
    return percentiles(latencies)


def main(quick: bool) -> dict[str, dict[str, float]]:
    events = 50 if quick else 200
    cases = {
        "1 channel": (1, False),
        "20 channels": (20, False),
        "20 channels + a dead and a hanging one": (20, True),
    }
    results = {name: _run(n, broken, events, rate_hz=20.0) for name, (n, broken) in cases.items()}
    rows = "\n".join(
        f"| {name} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} | {r['n']} |"
        for name, r in results.items()
    )
    table = (
        "## Notification latency\n\n"
        "| channels | p50 (ms) | p95 (ms) | max (ms) | messages |\n|---|---|---|---|---|\n" + rows
    )
    notes = (
        f"Goal: p95 <= 2 s. {events} events at 20 a second, each about its own device (no "
        "rate limit applies), from `Notifier.tell` to a web server on loopback receiving the "
        "POST; every event arrived exactly once on every live channel. The dead channel "
        "(a port nobody listens on) retries with its backoff and the hanging one (answers "
        "after 30 s, timeout 5 s) blocks only its own thread."
    )
    publish("notification_latency", {"events": events, "results": results}, table, notes)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 events, not 200")
    main(parser.parse_args().quick)
