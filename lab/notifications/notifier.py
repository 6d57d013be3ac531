"""The lab's notifier: events in, messages out, and nothing it does ever slows the lab.

What the lab publishes is handed over in one queue put (:meth:`Notifier.observe`, called
from any thread); one thread turns it into events, applies the routes, the rate limit
(one message per kind and subject within ``rate_limit``, then one follow-up counting the
rest) and quiet hours (what is below their bar waits, then goes as one digest per
channel); each channel has a thread of its own that sends, retries with a doubling
backoff, and records how it went in the store. A channel that hangs or fails holds up
only its own messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.files.notifications_file import EventKind, NotificationsConfig, Severity
from lab.notifications.channels import DeliveryError, Message, Send, channel
from lab.notifications.events import Event, EventWatcher
from lab.store import NotificationLog

log = logging.getLogger(__name__)

_STOP = object()


@dataclass
class _Window:
    """The rate limit of one kind of event about one subject."""

    sent: float
    held: int = 0
    last: Message | None = None


class _Lane:
    """One channel's own thread: its messages in order, each retried until sent or given up."""

    def __init__(
        self, name: str, send: Send, attempts: int, backoff_s: float, record: Callable[..., None]
    ) -> None:
        self.name = name
        self._send, self._attempts, self._backoff_s = send, attempts, backoff_s
        self._record = record
        self.queue: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (message := self.queue.get()) is not _STOP:
            error = None
            for attempt in range(1, self._attempts + 1):
                try:
                    self._send(message)
                except DeliveryError as err:
                    error = str(err)
                except Exception as err:  # a library's own failure: recorded, never raised
                    error = f"{type(err).__name__}: {err}"
                else:
                    self._record(message, self.name, "sent", attempt, None)
                    break
                if attempt < self._attempts:
                    time.sleep(self._backoff_s * 2 ** (attempt - 1))
            else:
                log.warning(
                    "notification %r not delivered to %s: %s", message.title, self.name, error
                )
                self._record(message, self.name, "failed", self._attempts, error)


class Notifier:
    """Sends the lab's events to the channels of a lab file's ``notifications:`` section.

    Args:
        config: the section.
        lab: the lab's name, in every message.
        log: where each delivery is recorded (the store's notification log).
        backoff_s: the wait before the second attempt, doubled before each next one.
        now: the wall clock (quiet hours and the summary's time are local time).
        summary: the morning summary's text since a time (seconds since the epoch), sent
            each day at the section's ``summary_at``.

    Raises:
        ValueError: a channel's secret is not in the environment (naming the variable).
    """

    def __init__(
        self,
        config: NotificationsConfig,
        lab: str,
        log: NotificationLog,
        backoff_s: float = 1.0,
        now: Callable[[], dt.datetime] = dt.datetime.now,
        summary: Callable[[float], str] | None = None,
    ) -> None:
        self._config, self._lab, self._log, self._now = config, lab, log, now
        senders = {}
        for name, cfg in config.channels.items():
            try:
                senders[name] = channel(cfg)
            except ValueError as err:
                raise ValueError(f"notifications.channels.{name}: {err}") from None
        self._lanes = {
            name: _Lane(name, send, config.channels[name].attempts, backoff_s, self._record)
            for name, send in senders.items()
        }
        self._limit_s = float(config.rate_limit.m_as("s"))
        self._windows: dict[tuple[EventKind, str], _Window] = {}
        self._quiet: list[tuple[Message, list[str]]] = []
        self._summary = summary
        start = now()
        at = config.summary_at
        #: the day of the last summary (today's is not sent late when the lab starts after it)
        self._summarised = start.date() if at is not None and start.time() >= at else None
        self._summary_since = start.timestamp() - 24 * 3600
        self._watcher = EventWatcher()
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    # --- from the lab ----------------------------------------------------------------------
    def observe(self, topic: str, data: Any) -> None:
        """A state the lab published: one queue put, whatever the channels are doing."""
        self._inbox.put((topic, data))

    def tell(self, event: Event) -> None:
        """An event the published state does not show (say, LEFT UNSAFE at shutdown)."""
        self._inbox.put(event)

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (waiting at most ``timeout_s`` for each channel), then stop."""
        self._inbox.put(_STOP)
        self._thread.join(timeout_s)
        for lane in self._lanes.values():
            lane.queue.put(_STOP)
        for lane in self._lanes.values():
            lane.thread.join(timeout_s)

    # --- the notifier's thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._inbox.get(timeout=1.0)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._flush(force=True)
                return
            try:
                if isinstance(item, Event):
                    self._route(item)
                elif item is not None:
                    for event in self._watcher.observe(*item):
                        self._route(event)
                self._flush()
            except Exception:  # a bug here must never reach the lab's publishing
                log.exception("the notifier could not handle %r", item)

    def _route(self, event: Event) -> None:
        severity, channels = self._config.route(event.kind)
        if not channels:
            return
        link = f"{self._config.dashboard}{event.path}" if self._config.dashboard else None
        message = Message(event, self._lab, str(severity), link)
        key = (event.kind, event.subject)
        window = self._windows.get(key)
        if window is not None and event.time - window.sent < self._limit_s:
            window.held += 1
            window.last = message
            return
        self._windows[key] = _Window(sent=event.time)
        self._deliver(message, channels, severity)

    def _deliver(self, message: Message, channels: list[str], severity: Severity) -> None:
        quiet = self._config.quiet_hours
        if quiet is not None and quiet.holds(self._now(), severity):
            self._quiet.append((message, channels))
            return
        for name in channels:
            self._lanes[name].queue.put(message)

    def _morning(self) -> None:
        """The summary, once a day at its time."""
        at, now = self._config.summary_at, self._now()
        if self._summary is None or at is None or now.time() < at or self._summarised == now.date():
            return
        self._summarised = now.date()
        since, self._summary_since = self._summary_since, now.timestamp()
        text = self._summary(since)
        self._route(
            Event(EventKind.MORNING_SUMMARY, "lab", "Morning summary", text, time=now.timestamp())
        )

    def _flush(self, force: bool = False) -> None:
        """The follow-ups whose rate-limit window has passed, and the quiet hours' digest
        once they are over."""
        self._morning()
        now = time.time()
        for key, window in self._windows.items():
            if window.held and window.last and (force or now - window.sent >= self._limit_s):
                last = window.last
                follow_up = Message(last.event, last.lab, last.severity, last.link, window.held - 1)
                window.sent, window.held, window.last = now, 0, None
                severity, channels = self._config.route(key[0])
                self._deliver(follow_up, channels, severity)
        quiet = self._config.quiet_hours
        if self._quiet and (force or quiet is None or not quiet.holds(self._now(), Severity.INFO)):
            held, self._quiet = self._quiet, []
            for name in self._lanes:
                mine = [m for m, channels in held if name in channels]
                if mine:
                    self._lanes[name].queue.put(_digest(mine))

    def _record(
        self, message: Message, channel: str, status: str, attempts: int, error: str | None
    ) -> None:
        e = message.event
        try:
            self._log.append(
                event_time=e.time,
                event=str(e.kind),
                severity=message.severity,
                subject=e.subject,
                title=e.title,
                channel=channel,
                status=status,
                attempts=attempts,
                more=message.more,
                error=error,
            )
        except Exception:  # a store gone does not stop the messages
            log.exception("the notification to %s could not be recorded", channel)


def _digest(messages: list[Message]) -> Message:
    """What waited through the quiet hours, as one message."""
    first = messages[0]
    lines = [f"- {m.event.title}: {m.event.text}" for m in messages]
    event = Event(
        first.event.kind,
        "quiet hours",
        f"{len(messages)} event{'s' if len(messages) > 1 else ''} during the quiet hours",
        "\n".join(lines),
        time=first.event.time,
    )
    worst = max((Severity(m.severity) for m in messages), key=lambda s: s.rank)
    return Message(event, first.lab, str(worst), first.link, sum(m.more for m in messages))
