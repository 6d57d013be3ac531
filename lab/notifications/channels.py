"""Where a message goes: a webhook (the event as JSON, or Slack's and Teams' ``{"text"}``),
an e-mail over SMTP, or any service Apprise knows. A channel sends one message or raises
:class:`DeliveryError` saying why in words; the notifier retries and records it.

Apprise covers the long tail (Matrix, Telegram, Pushover, ntfy, Discord, ... about a
hundred services behind one URL scheme), is maintained, pure Python and asks no server;
the webhook and e-mail channels are our own because their payload and headers are ours
to define (the event's fields as JSON; a bearer token)."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from lab.files.notifications_file import (
    AppriseChannel,
    ChannelConfig,
    EmailChannel,
    WebhookChannel,
    secret_from,
)
from lab.notifications.events import Event


class DeliveryError(Exception):
    """A message not delivered, in words (never with the channel's secret in them)."""


@dataclass(frozen=True)
class Message:
    """An event as sent: its words, how urgent, how many like it it stands for, a link."""

    event: Event
    lab: str
    severity: str
    link: str | None
    more: int = 0  # events of the same kind and subject held back by the rate limit

    @property
    def title(self) -> str:
        return f"[{self.lab}] {self.event.title}"

    @property
    def text(self) -> str:
        lines = [self.event.text]
        if self.more:
            lines.append(f"({self.more} more like it since the last message)")
        if self.link:
            lines.append(self.link)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        e = self.event
        return {
            "id": e.id,
            "lab": self.lab,
            "event": str(e.kind),
            "severity": self.severity,
            "subject": e.subject,
            "title": e.title,
            "text": e.text,
            "more": self.more,
            "link": self.link,
            "time": dt.datetime.fromtimestamp(e.time, dt.UTC).isoformat(),
        }


Send = Callable[[Message], None]


def channel_target(config: ChannelConfig) -> str:
    """Where a channel sends, for people and never a secret: a webhook's host (or the
    variable holding its address), the e-mail addresses, the Apprise URL's variable."""
    if isinstance(config, EmailChannel):
        return ", ".join(config.to)
    if isinstance(config, WebhookChannel) and config.url is not None:
        parts = urllib.parse.urlsplit(config.url)  # no user, password, path or query
        return f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    return f"${config.url_env}"


def channel(config: ChannelConfig) -> Send:
    """The sender of one channel; its secrets read from the environment now (ValueError
    naming the variable that is not set)."""
    if isinstance(config, WebhookChannel):
        return _webhook(config)
    if isinstance(config, EmailChannel):
        return _email(config)
    return _apprise(config)


def _webhook(config: WebhookChannel) -> Send:
    url = config.url or secret_from(config.url_env or "")
    headers = {"User-Agent": "sdl-lab notifications"}
    if config.token_env:
        headers["Authorization"] = f"Bearer {secret_from(config.token_env)}"
    timeout = config.timeout.m_as("s")
    client = httpx.Client(headers=headers, timeout=timeout)  # its connections kept alive

    def send(message: Message) -> None:
        body = (
            message.as_json()
            if config.format == "json"
            else {"text": f"*{message.title}*\n{message.text}"}
        )
        try:
            answer = client.post(url, json=body)
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer within {timeout:g} s") from None
        except httpx.HTTPError as err:  # the address stays out: it may hold a token
            raise DeliveryError(f"could not reach the webhook ({type(err).__name__})") from None
        if answer.status_code >= 300:
            raise DeliveryError(f"the webhook answered {answer.status_code}")

    return send


def _email(config: EmailChannel) -> Send:
    password = secret_from(config.password_env) if config.password_env else None
    timeout = config.timeout.m_as("s")

    def send(message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = f"{message.severity.upper()} {message.title}"
        mail["From"] = config.sender
        mail["To"] = ", ".join(config.to)
        mail.set_content(message.text)
        try:
            if config.security == "tls":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                server = smtplib.SMTP(config.host, config.port, timeout=timeout)
            with server:
                if config.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if config.user:
                    server.login(config.user, password or "")
                server.send_message(mail)
        except smtplib.SMTPException as err:
            raise DeliveryError(f"the mail server refused: {err}") from None
        except OSError as err:
            raise DeliveryError(
                f"could not reach the mail server {config.host}:{config.port}: {err}"
            ) from None

    return send


def _apprise(config: AppriseChannel) -> Send:
    import apprise

    service = apprise.Apprise()
    if not service.add(secret_from(config.url_env)):
        raise ValueError(f"{config.url_env} holds no URL Apprise knows")

    def send(message: Message) -> None:
        if not service.notify(title=message.title, body=message.text):
            raise DeliveryError("Apprise could not deliver it (see its service's answer)")

    return send
