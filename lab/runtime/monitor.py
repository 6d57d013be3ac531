"""A live picture of the lab: every instrument's state and readings, with the time each was
read, and where every vial is.

The monitor reads the instruments themselves (never a cache) on the devices' event loop. An
instrument with a command in flight is not polled (a query would queue behind a move); its
readings then age, and past the device's ``stale_after`` they are marked stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices import (
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InstrumentDevice,
)
from lab.runtime.lab import Lab

Publish = Callable[[str, Any], None]


@dataclass
class DeviceView:
    """What the Lab page shows of one instrument."""

    name: str
    kind: str
    transport: str
    stale_after_s: float
    identity: str = ""
    state: str = "disconnected"  # idle | busy | fault | disconnected | estopped
    last_error: str | None = None
    readings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self, now: float) -> dict[str, Any]:
        """The device as the Lab page shows it, readings with their age and staleness.

        Args:
            now: the current time (seconds since the epoch), to age the readings.
        """
        readings = [
            {
                **r,
                "age_s": now - r["time"],
                # a measurement's age is when it was taken, not a poll that went unanswered
                "stale": not r["measured"] and now - r["time"] > self.stale_after_s,
            }
            for r in self.readings
        ]
        return {
            "name": self.name,
            "kind": self.kind,
            "transport": self.transport,
            "identity": self.identity,
            "state": self.state,
            "last_error": self.last_error,
            "stale_after_s": self.stale_after_s,
            "readings": readings,
        }


class LabMonitor:
    """Polls every instrument each ``period_s`` and publishes the ``lab`` topic.

    Args:
        lab: the connected lab.
        publish: ``publish(topic, data)``, callable from any thread.
        period_s: seconds between polls.
    """

    def __init__(self, lab: Lab, publish: Publish, period_s: float = 0.5) -> None:
        self._lab = lab
        self._publish = publish
        self.period_s = period_s
        self.views = {
            name: DeviceView(
                name,
                lab.config.kind_name(name),
                cfg.transport.type,
                float(cfg.stale_after.m_as("s")),
            )
            for name, cfg in lab.config.devices.items()
        }
        #: the last snapshot taken (None before the first poll)
        self.latest: dict[str, Any] | None = None

    def note_error(self, device: str, message: str) -> None:
        """An error a plan met on ``device``; shown until a later one replaces it.

        Args:
            device: the device's name.
            message: the error.
        """
        name = device if device in self.views else device.split("-", 1)[0]  # "station-heater"
        if name in self.views:
            self.views[name].last_error = message

    async def run(self) -> None:
        """Read every device each period and publish what changed (runs on the devices' loop until cancelled)."""
        for device in self._lab.devices.instruments:
            try:
                self.views[device.name].identity = str(await device.identity())
            except DeviceError as err:
                self.views[device.name].last_error = str(err)
        while True:
            self.latest = await self.snapshot()
            self._publish("lab", self.latest)
            await asyncio.sleep(self.period_s)

    async def snapshot(self) -> dict[str, Any]:
        """Every device and vial now, for a page that just opened."""
        instruments = self._lab.devices.instruments
        await asyncio.gather(*(self._poll(d) for d in instruments))
        now = time.time()
        return {
            "time": now,
            "devices": [self.views[d.name].as_json(now) for d in instruments],
            "vials": self._vials(),
        }

    async def _poll(self, device: InstrumentDevice) -> None:
        view = self.views[device.name]
        if device.driver.busy:
            view.state = "busy"
            return
        try:
            reported = await device.driver.state()
            readings = {**await device.read(), **await device.read_configuration()}
            described = {**await device.describe(), **await device.describe_configuration()}
        except (DeviceDisconnected, DeviceTimeout) as err:
            view.state, view.last_error = "disconnected", str(err)
            return
        except DeviceError as err:
            view.state, view.last_error = "fault", str(err)
            return
        if reported.startswith("error"):
            view.state, view.last_error = "fault", reported.removeprefix("error").strip()
        else:
            view.state = {"estop": "estopped", "busy": "busy"}.get(reported, "idle")
        measured = {signal.name for signal in device.measured()}
        # a pushed value is current as of this poll, which the device just answered
        pushed = {signal.name for signal in device.pushed()}
        now = time.time()
        path_of = device.reading_names()
        order = list(path_of)  # as the device declares them: rows never swap places
        view.readings = [
            {
                **_reading(key, path_of.get(key, key), reading, described[key]),
                **({"time": now} if key in pushed else {}),
                "measured": key in measured,
            }
            for key, reading in sorted(
                readings.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 0
            )
            if not described[key].get("shape")  # a spectrum is plotted on the Campaigns page
        ]

    def _vials(self) -> list[dict[str, Any]]:
        """Where each vial is, from what the instruments themselves report."""
        d, out = self._lab.devices, []
        for view, key, where in (
            *((self.views[a.name], f"{a.name}-holding", f"{a.name} (gripper)") for a in d.all_arms),
            *((self.views[s.name], f"{s.name}-vial", s.name) for s in d.stations),
            *((self.views[s.name], f"{s.name}-vial", s.name) for s, _ in d.all_spectrometers),
        ):
            reading = next((r for r in view.readings if r["key"] == key), None)
            if reading and reading["value"]:
                out.append({"vial": reading["value"], "where": where, "time": reading["time"]})
        return out


def _reading(key: str, label: str, reading: Any, described: Any) -> dict[str, Any]:
    value = reading["value"]
    if hasattr(value, "item"):
        value = value.item()
    return {
        "key": key,
        "label": label,
        "value": value,
        "units": described.get("units"),
        "time": reading["timestamp"],
    }
