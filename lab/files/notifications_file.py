"""The lab file's ``notifications:`` section: where the lab's events go (webhooks, chat,
e-mail, any service Apprise knows), which events go where, quiet hours and rate limits.

Secrets never sit in the file: a channel names the environment variable that holds its
webhook address, token or password (``url_env``, ``token_env``, ``password_env``), read
when the lab starts, and never logged."""

from __future__ import annotations

import datetime as dt
import os
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, field_validator, model_validator

from protocols._name_field import Name
from protocols._quantity_field import Timeout


class Severity(StrEnum):
    """How urgent an event is; quiet hours hold everything below their bar."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class EventKind(StrEnum):
    """What the lab tells people about."""

    CAMPAIGN_STARTED = "campaign_started"
    CAMPAIGN_FINISHED = "campaign_finished"
    CAMPAIGN_STOPPED = "campaign_stopped"
    TRIAL_FAILED = "trial_failed"
    DEVICE_FAULT = "device_fault"
    EMERGENCY_STOP = "emergency_stop"
    INTERLOCK_TRIPPED = "interlock_tripped"
    EMERGENCY_RESET = "emergency_reset"
    LEFT_UNSAFE = "left_unsafe"
    APPROVAL_WAITING = "approval_waiting"
    DIAGNOSIS_FAILED = "diagnosis_failed"
    CONSUMABLE_LOW = "consumable_low"
    MORNING_SUMMARY = "morning_summary"


#: each event's severity unless the file says otherwise
DEFAULT_SEVERITY = {
    EventKind.CAMPAIGN_STARTED: Severity.INFO,
    EventKind.CAMPAIGN_FINISHED: Severity.INFO,
    EventKind.CAMPAIGN_STOPPED: Severity.WARNING,
    EventKind.TRIAL_FAILED: Severity.WARNING,
    EventKind.DEVICE_FAULT: Severity.ERROR,
    EventKind.EMERGENCY_STOP: Severity.CRITICAL,
    EventKind.INTERLOCK_TRIPPED: Severity.CRITICAL,
    EventKind.EMERGENCY_RESET: Severity.INFO,
    EventKind.LEFT_UNSAFE: Severity.CRITICAL,
    EventKind.APPROVAL_WAITING: Severity.INFO,
    EventKind.DIAGNOSIS_FAILED: Severity.ERROR,
    EventKind.CONSUMABLE_LOW: Severity.WARNING,
    EventKind.MORNING_SUMMARY: Severity.INFO,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _web_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url[:80]!r} is not a web address (http:// or https://, with a host)")
    return url


def secret_from(variable: str) -> str:
    """The value of an environment variable a channel names, or ValueError saying which."""
    value = os.environ.get(variable, "")
    if not value:
        raise ValueError(f"the environment variable {variable} is not set")
    return value


class _Channel(_Model):
    timeout: Timeout = Field(
        "10 s",
        validate_default=True,
        description="how long one attempt may take before it counts as failed",
    )
    attempts: int = Field(default=4, ge=1, le=10, description="tries before it is recorded failed")


class WebhookChannel(_Channel):
    """The event as JSON, POSTed to a web address (a lab's own service, a relay)."""

    kind: Literal["webhook"]
    url: str | None = Field(None, description="the address, if it holds no secret")
    url_env: str | None = Field(None, description="environment variable holding the address")
    token_env: str | None = Field(
        None, description="environment variable holding a token sent as 'Authorization: Bearer'"
    )
    format: Literal["json", "slack"] = Field(
        default="json",
        description="json: the event's fields; slack: {\"text\": ...}, which Slack's and "
        "Teams' incoming webhooks take",
    )

    @field_validator("url")
    @classmethod
    def _address(cls, url: str | None) -> str | None:
        return None if url is None else _web_address(url)

    @model_validator(mode="after")
    def _one_address(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give the address as url or, if it holds a secret, as url_env")
        return self


class EmailChannel(_Channel):
    """An e-mail over SMTP (STARTTLS or TLS when the server offers it)."""

    kind: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    password_env: str | None = Field(None, description="environment variable with the password")
    sender: str = Field(description="the From address")
    to: list[str] = Field(min_length=1, description="who receives it")

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        for address in [value] if isinstance(value, str) else value:
            if "@" not in address.strip("@"):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


class AppriseChannel(_Channel):
    """Any of the ~100 services Apprise knows (Matrix, Telegram, Pushover, ntfy, ...), by
    its Apprise URL, which holds the service's token and so comes from the environment."""

    kind: Literal["apprise"]
    url_env: str = Field(description="environment variable holding the Apprise URL")


ChannelConfig = Annotated[WebhookChannel | EmailChannel | AppriseChannel, Discriminator("kind")]


class Route(_Model):
    """Where one kind of event goes, and how urgent it is."""

    channels: list[Name] | None = Field(None, description="default: every channel")
    severity: Severity | None = Field(None, description="default: the event's own")
    send: bool = Field(default=True, description="false: never sent")


class QuietHours(_Model):
    """A stretch of the day when only urgent events are sent; the rest wait and go as one
    message when it ends."""

    start: dt.time = Field(description="e.g. '22:00', the lab computer's local time")
    end: dt.time = Field(description="e.g. '07:00'")
    below: Severity = Field(
        default=Severity.ERROR, description="events below this severity wait until the end"
    )

    def holds(self, now: dt.datetime, severity: Severity) -> bool:
        """Whether an event of ``severity`` at ``now`` waits."""
        if severity.rank >= self.below.rank:
            return False
        t = now.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class NotificationsConfig(_Model):
    """Where the lab's events go."""

    channels: dict[Name, ChannelConfig] = Field(min_length=1, description="name -> channel")
    events: dict[EventKind, Route] = Field(
        default_factory=dict, description="event -> route; an event not named goes everywhere"
    )
    quiet_hours: QuietHours | None = None
    rate_limit: Timeout = Field(
        "5 min",
        validate_default=True,
        description="one message per kind of event and campaign (or device) within this; "
        "what comes meanwhile is counted into one follow-up",
    )
    dashboard: str | None = Field(
        None, description="the dashboard's address as people reach it, for links in messages"
    )
    summary_at: dt.time | None = Field(
        None,
        description="send the morning summary (what ran since the last one, what waits) "
        "each day at this local time, e.g. '07:30'",
    )

    @field_validator("dashboard")
    @classmethod
    def _dashboard(cls, url: str | None) -> str | None:
        return None if url is None else _web_address(url).rstrip("/")

    @model_validator(mode="after")
    def _routes_name_channels(self) -> NotificationsConfig:
        for kind, route in self.events.items():
            for name in route.channels or []:
                if name not in self.channels:
                    raise ValueError(
                        f"events.{kind}.channels: no channel {name!r} "
                        f"(channels: {', '.join(self.channels)})"
                    )
        return self

    def route(self, kind: EventKind) -> tuple[Severity, list[str]]:
        """An event's severity and the channels it goes to (none if it is not sent)."""
        route = self.events.get(kind, Route())
        severity = route.severity or DEFAULT_SEVERITY[kind]
        if not route.send:
            return severity, []
        return severity, list(route.channels or self.channels)
