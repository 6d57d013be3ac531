"""The notification log: each message the lab sent to a channel, or gave up on, and why."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from lab.store._schema import notifications


@dataclass(frozen=True)
class Delivery:
    """One message to one channel: what, when, and how it went."""

    id: int
    time: float
    event_time: float
    event: str
    severity: str
    subject: str
    title: str
    channel: str
    status: str
    attempts: int
    more: int
    error: str | None


class NotificationLog:
    """Appends deliveries and reads them back, newest first."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(
        self,
        *,
        event_time: float,
        event: str,
        severity: str,
        subject: str,
        title: str,
        channel: str,
        status: str,
        attempts: int,
        more: int = 0,
        error: str | None = None,
    ) -> None:
        """Record one delivery (``status``: sent or failed)."""
        with self._engine.begin() as c:
            c.execute(
                insert(notifications).values(
                    time=time.time(),
                    event_time=event_time,
                    event=event,
                    severity=severity,
                    subject=subject,
                    title=title[:500],
                    channel=channel,
                    status=status,
                    attempts=attempts,
                    more=more,
                    error=None if error is None else error[:500],
                )
            )

    def entries(
        self, limit: int = 200, since: float | None = None, channel: str | None = None
    ) -> list[Delivery]:
        """Newest first; ``since`` keeps the deliveries from that time on."""
        query = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(notifications.c.time >= since)
        if channel:
            query = query.where(notifications.c.channel == channel)
        with self._engine.connect() as c:
            return [Delivery(**r._mapping) for r in c.execute(query)]
