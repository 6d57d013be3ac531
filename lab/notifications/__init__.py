"""Telling people what the lab does while nobody watches: its events (read off the state
it publishes) sent to webhooks, chat, e-mail or any Apprise service, with routes, rate
limits, quiet hours, retries, and every delivery recorded in the store."""

from lab.notifications.channels import DeliveryError, Message, channel_target
from lab.notifications.events import Event, EventWatcher
from lab.notifications.notifier import Notifier

__all__ = ["DeliveryError", "Event", "EventWatcher", "Message", "Notifier", "channel_target"]
