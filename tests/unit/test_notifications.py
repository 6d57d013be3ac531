"""Notifications: events read off the published state, the lab file's section, and the
notifier over real wires (a web server and an SMTP server on loopback): routes, rate
limits, quiet hours, retries, channels that fail or hang, every delivery recorded."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from lab.errors import ConfigError
from lab.files.lab_file import load_lab_config
from lab.files.notifications_file import EventKind, NotificationsConfig, QuietHours, Severity
from lab.notifications import Event, EventWatcher, Notifier
from lab.store import Store
from tests.webhooks import Receiver, webhook_receiver


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "store.sqlite")
    yield db
    db.close()


def config(**section: Any) -> NotificationsConfig:
    return NotificationsConfig.model_validate(section)


def event(kind: EventKind = EventKind.TRIAL_FAILED, subject: str = "colour-match") -> Event:
    return Event(kind, subject, f"{kind} about {subject}", "what happened, in words")


def kinds(events: list[Event]) -> list[str]:
    return [str(e.kind) for e in events]


# --- events ---------------------------------------------------------------------------------
def test_each_change_of_the_published_state_is_told_once():
    w = EventWatcher()
    stop = {"by": "olga", "reason": "a spill", "time": 1.0, "devices": {"arm": "safe"}}
    assert kinds(w.observe("control", {"lab": "emergency stop", "estop": stop})) == [
        "emergency_stop"
    ]
    assert w.observe("control", {"lab": "emergency stop", "estop": stop}) == []  # the same
    assert kinds(w.observe("control", {"lab": "idle", "estop": None})) == ["emergency_reset"]
    assert w.observe("control", {"lab": "idle", "estop": None}) == []
    unsafe = {**stop, "time": 2.0, "devices": {"arm": "safe", "station": "NOT confirmed: gone"}}
    told = w.observe("control", {"estop": unsafe})
    assert kinds(told) == ["emergency_stop", "left_unsafe"] and "station" in told[1].text
    door = {**stop, "by": "interlock door", "time": 3.0}  # a trip is told as what it was
    [tripped] = w.observe("control", {"estop": door})
    assert (tripped.kind, tripped.title) == ("interlock_tripped", "Interlock tripped: door")

    short = {"name": "c", "consumable": {"text": "cyan runs short: the next trial needs 2 mL"}}
    short["consumable"] |= {"short": True, "time": 5.0}
    session0 = {"state": "running", "started_by": "ann", "total": 5, "done": 0, "planner": "ax"}
    [low] = w.observe("campaign", {**short, **session0, "state": "starting"})
    assert (low.kind, low.subject, low.title) == (
        "consumable_low",
        "c short",
        "Campaign c paused: cyan runs short",
    )
    assert w.observe("campaign", {**short, **session0, "state": "starting"}) == []  # said once

    session = {"name": "c", "state": "running", "started_by": "ann", "total": 5, "done": 0}
    session |= {"planner": "ax", "best": None, "stopped": None}
    assert kinds(w.observe("campaign", session)) == ["campaign_started"]
    assert w.observe("campaign", {**session, "done": 1}) == []
    done = w.observe("campaign", {**session, "state": "finished", "done": 5, "best": {"e": 0.1}})
    assert kinds(done) == ["campaign_finished"] and "best e 0.1" in done[0].text

    failed = {"campaign": "c", "trial": 3, "status": "failed", "error": "the arm dropped it"}
    told = w.observe("trial", failed)
    assert kinds(told) == ["trial_failed"] and told[0].text == "the arm dropped it"
    assert told[0].path == "/campaigns/c#trial-3"
    assert w.observe("trial", failed) == []  # published again: not news
    assert w.observe("trial", {**failed, "trial": 4, "status": "completed"}) == []

    waiting = [{"campaign": "c", "trial": 6}]
    assert kinds(w.observe("proposals", waiting)) == ["approval_waiting"]
    assert w.observe("proposals", waiting) == []
    assert len(w.observe("proposals", [*waiting, {"campaign": "c", "trial": 7}])) == 1

    fault = {"devices": [{"name": "arm", "state": "fault", "last_error": "motor stalled"}]}
    assert kinds(w.observe("lab", fault)) == ["device_fault"]
    assert w.observe("lab", fault) == []

    assert w.observe("diagnosis", {"running": {"step": "arm"}, "latest": {}}) == []
    rows = {"arm": [{"check": "repeatability", "status": "fail"}, {"check": "x", "status": "pass"}]}
    told = w.observe("diagnosis", {"running": None, "latest": rows, "error": None})
    assert kinds(told) == ["diagnosis_failed"] and told[0].text == "arm: repeatability"


# --- the lab file's section -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "words"),
    [
        (
            {"channels": {"a": {"kind": "webhook", "url": "hooks.example.org/x"}}},
            "not a web address",
        ),
        ({"channels": {"a": {"kind": "webhook"}}}, "give the address as url or"),
        (
            {"channels": {"a": {"kind": "email", "host": "h", "sender": "lab", "to": ["x@y"]}}},
            "'lab' is not an e-mail address",
        ),
        ({"channels": {"a": {"kind": "pager"}}}, "tag 'pager'"),
        (
            {
                "channels": {"a": {"kind": "apprise", "url_env": "X"}},
                "events": {"emergency_stop": {"channels": ["b"]}},
            },
            "events.emergency_stop.channels: no channel 'b' (channels: a)",
        ),
        (
            {"channels": {"a": {"kind": "apprise", "url_env": "X"}}, "events": {"lunch": {}}},
            "events.lunch",
        ),
    ],
)
def test_a_bad_section_is_refused_naming_what(section: dict[str, Any], words: str):
    with pytest.raises(ValidationError) as refused:
        config(**section)
    assert words in str(refused.value)


def test_the_lab_file_names_the_field_of_a_bad_channel(example_dir: Path):
    lab = yaml.safe_load((example_dir / "lab.yaml").read_text())
    lab["notifications"] = {"channels": {"chat": {"kind": "webhook", "url": "ftp://x/y"}}}
    (example_dir / "lab.yaml").write_text(yaml.safe_dump(lab, sort_keys=False))
    with pytest.raises(ConfigError) as refused:
        load_lab_config(example_dir / "lab.yaml")
    assert "notifications.channels.chat.url: 'ftp://x/y' is not a web address" in str(refused.value)


def test_quiet_hours_over_midnight_hold_only_what_is_below_their_bar():
    quiet = QuietHours.model_validate({"start": "22:00", "end": "07:00"})
    night, day = dt.datetime(2026, 12, 6, 23, 30), dt.datetime(2026, 12, 7, 9, 0)
    assert quiet.holds(night, Severity.WARNING) and not quiet.holds(day, Severity.WARNING)
    assert quiet.holds(dt.datetime(2026, 12, 7, 6, 59), Severity.INFO)
    assert not quiet.holds(night, Severity.ERROR)  # at the bar: sent at once


def test_a_secret_not_in_the_environment_is_named(store: Store, monkeypatch):
    monkeypatch.delenv("LAB_TEST_HOOK", raising=False)
    section = config(channels={"chat": {"kind": "webhook", "url_env": "LAB_TEST_HOOK"}})
    with pytest.raises(ValueError) as refused:
        Notifier(section, "lab", store.notifications)
    assert str(refused.value) == (
        "notifications.channels.chat: the environment variable LAB_TEST_HOOK is not set"
    )


# --- the notifier over real wires -----------------------------------------------------------
def test_webhooks_get_the_event_as_json_or_as_chat_text(store: Store, hooks: Receiver, monkeypatch):
    monkeypatch.setenv("LAB_TEST_TOKEN", "s3cret-token")
    monkeypatch.setenv("LAB_TEST_CHAT", f"{hooks.url}/chat")
    section = config(
        channels={
            "ops": {"kind": "webhook", "url": f"{hooks.url}/ops", "token_env": "LAB_TEST_TOKEN"},
            "chat": {"kind": "webhook", "url_env": "LAB_TEST_CHAT", "format": "slack"},
        },
        events={"campaign_finished": {"channels": ["chat"]}, "campaign_started": {"send": False}},
        dashboard="https://lab.example.org/",
    )
    notifier = Notifier(section, "sim-lab", store.notifications)
    notifier.tell(event(EventKind.EMERGENCY_STOP, "lab"))
    notifier.tell(event(EventKind.CAMPAIGN_FINISHED))  # routed to chat only
    notifier.tell(event(EventKind.CAMPAIGN_STARTED))  # never sent
    notifier.close()
    (ops,) = [r for r in hooks.received if r.path == "/ops"]
    assert ops.headers["Authorization"] == "Bearer s3cret-token"
    assert ops.body["event"] == "emergency_stop" and ops.body["severity"] == "critical"
    assert ops.body["lab"] == "sim-lab" and ops.body["link"] == "https://lab.example.org/"
    chat = hooks.bodies("/chat")
    assert [b["text"].splitlines()[0] for b in chat] == [
        "*[sim-lab] emergency_stop about lab*",
        "*[sim-lab] campaign_finished about colour-match*",
    ]
    log = store.notifications.entries()
    assert sorted((d.event, d.channel, d.status) for d in log) == [
        ("campaign_finished", "chat", "sent"),
        ("emergency_stop", "chat", "sent"),
        ("emergency_stop", "ops", "sent"),
    ]


def test_a_fault_storm_is_one_message_then_one_counting_the_rest(store: Store, hooks: Receiver):
    section = config(
        channels={"ops": {"kind": "webhook", "url": f"{hooks.url}/ops"}}, rate_limit="0.5 s"
    )
    notifier = Notifier(section, "lab", store.notifications)
    for trial in range(50):  # fifty failures in one campaign, as fast as they come
        notifier.observe(
            "trial", {"campaign": "c", "trial": trial, "status": "failed", "error": "e"}
        )
    notifier.observe("trial", {"campaign": "other", "trial": 0, "status": "failed", "error": "e"})
    first = hooks.wait_for(2)
    assert sorted(b["subject"] for b in first) == ["c", "other"]  # another subject still told
    bodies = hooks.wait_for(3, timeout_s=5)
    follow_up = bodies[2]
    assert follow_up["subject"] == "c" and follow_up["more"] == 48  # 1 + (1 + 48) = 50
    time.sleep(0.6)
    notifier.close()
    assert len(hooks.bodies()) == 3


def test_a_dead_or_hanging_channel_holds_up_only_itself(store: Store, hooks: Receiver):
    with socket.socket() as s:  # a port nobody listens on: refused at once
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    with webhook_receiver() as hanging:
        hanging.hang_s = 2.0
        section = config(
            channels={
                "good": {"kind": "webhook", "url": f"{hooks.url}/good"},
                "dead": {"kind": "webhook", "url": dead, "attempts": 3},
                "slow": {"kind": "webhook", "url": hanging.url, "timeout": "0.2 s", "attempts": 2},
            }
        )
        notifier = Notifier(section, "lab", store.notifications, backoff_s=0.05)
        sent = time.time()
        notifier.tell(event(EventKind.DEVICE_FAULT, "arm"))
        hooks.wait_for(1)
        (good,) = hooks.received
        assert good.time - sent < 1.0  # not behind the others' retries
        notifier.close()
    log = {d.channel: d for d in store.notifications.entries()}
    assert (log["good"].status, log["good"].attempts) == ("sent", 1)
    assert (log["dead"].status, log["dead"].attempts) == ("failed", 3)
    assert log["dead"].error == "could not reach the webhook (ConnectError)"
    assert (log["slow"].status, log["slow"].error) == ("failed", "no answer within 0.2 s")
    assert dead not in str([vars(d) for d in log.values()])  # the address is never recorded


def test_a_refusing_webhook_is_retried_and_recorded(store: Store, hooks: Receiver):
    hooks.status = 503
    section = config(channels={"ops": {"kind": "webhook", "url": hooks.url, "attempts": 2}})
    notifier = Notifier(section, "lab", store.notifications, backoff_s=0.01)
    notifier.tell(event())
    notifier.close()
    (delivery,) = store.notifications.entries()
    assert (delivery.status, delivery.attempts, delivery.error) == (
        "failed",
        2,
        "the webhook answered 503",
    )


def test_quiet_hours_hold_the_rest_and_send_one_digest(store: Store, hooks: Receiver):
    clock = {"now": dt.datetime(2026, 12, 6, 23, 0)}
    section = config(
        channels={"ops": {"kind": "webhook", "url": hooks.url}},
        quiet_hours={"start": "22:00", "end": "07:00", "below": "critical"},
    )
    notifier = Notifier(section, "lab", store.notifications, now=lambda: clock["now"])
    notifier.tell(event(EventKind.TRIAL_FAILED, "a"))
    notifier.tell(event(EventKind.CAMPAIGN_FINISHED, "a"))
    notifier.tell(event(EventKind.EMERGENCY_STOP, "lab"))  # critical: at once
    (stop,) = hooks.wait_for(1)
    assert stop["event"] == "emergency_stop"
    time.sleep(1.2)
    assert len(hooks.bodies()) == 1  # the rest wait
    clock["now"] = dt.datetime(2026, 12, 7, 7, 0)
    digest = hooks.wait_for(2, timeout_s=5)[1]
    assert digest["title"] == "2 events during the quiet hours"
    assert "trial_failed about a" in digest["text"] and "campaign_finished" in digest["text"]
    notifier.close()


class _Mailbox:
    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[Any] = []
        self.refuse = refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        self.messages.append(envelope)
        return "250 OK"


@pytest.mark.parametrize("refuse", [False, True])
def test_email_over_smtp(store: Store, refuse: bool):
    mailbox = _Mailbox(refuse)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        section = config(
            channels={
                "mail": {
                    "kind": "email",
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "none",
                    "sender": "lab@example.org",
                    "to": ["staff@example.org"],
                    "attempts": 1,
                }
            }
        )
        notifier = Notifier(section, "sim-lab", store.notifications)
        notifier.tell(event(EventKind.LEFT_UNSAFE, "lab"))
        notifier.close()
    finally:
        smtp.stop()
    (delivery,) = store.notifications.entries()
    if refuse:
        assert delivery.status == "failed" and "the mail server refused" in (delivery.error or "")
        assert "550" in (delivery.error or "")
        return
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["staff@example.org"]
    text = envelope.content.decode()
    assert "Subject: CRITICAL [sim-lab] left_unsafe about lab" in text
    assert "what happened, in words" in text
    assert delivery.status == "sent"
