"""Diagnostics from the dashboard: staff start one, the lab process runs it on the devices
it owns (nothing else may start meanwhile), and the results go to the store and, live, to
every page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hw_tests import diagnose
from lab.campaigns.manager import CampaignManager
from lab.runtime.lab import Lab
from lab.store import Store

log = logging.getLogger(__name__)


class DiagnosticsDesk:
    """One diagnosis at a time, in a thread of its own.

    Args:
        lab: the lab process's connected lab.
        manager: whose device claim keeps campaigns and plans out meanwhile.
        store: where results are kept (``diagnoses`` table).
        publish: ``publish(topic, data)``, from any thread.
    """

    def __init__(
        self,
        lab: Lab,
        manager: CampaignManager,
        store: Store,
        publish: Callable[[str, Any], None],
    ) -> None:
        self._lab = lab
        self._manager = manager
        self._store = store
        self._publish = publish
        #: the diagnosis in progress: who started it, when, and the step it is at
        self.running: dict[str, Any] | None = None
        #: why the last diagnosis ended early (a device left unsafe, ...), if it did
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    def state(self) -> dict[str, Any]:
        """The diagnosis in progress (if any), why the last one ended early (if it did), and each device's latest results."""
        return {
            "running": self.running,
            "error": self.error,
            "latest": self._store.diagnoses.latest(),
        }

    def start(self, by: str, devices: Sequence[str] = ()) -> None:
        """Raises ``Conflict`` (from the manager) if a campaign, a plan or another
        diagnosis has the devices, and ``ValueError`` for an unknown device."""
        unknown = sorted(set(devices) - set(self._lab.config.devices))
        if unknown:
            raise ValueError(
                f"unknown devices {unknown}; the lab has {sorted(self._lab.config.devices)}"
            )
        self._manager.take_devices(f"diagnosis started by {by}")
        self.running = {"by": by, "started": time.time(), "step": "starting"}
        self.thread = threading.Thread(
            target=self._run, args=(list(devices),), name="diagnosis", daemon=True
        )
        self.thread.start()
        self._publish("diagnosis", self.state())

    def _run(self, devices: list[str]) -> None:
        def progress(device: str, step: str) -> None:
            if self.running is not None:
                self.running["step"] = f"{device}: {step}"
                self._publish("diagnosis", self.state())

        self.error = None
        try:
            diagnosis = diagnose(self._lab, devices, progress, connected=True)
            self._store.diagnoses.add(
                diagnosis.lab, diagnosis.started, diagnosis.as_dict()["results"]
            )
        except Exception as err:  # told to whoever watches; the thread must not die unheard
            log.exception("diagnosis ended early")
            self.error = str(err)
        finally:
            self.running = None
            self._manager.release_devices()
            self._publish("diagnosis", self.state())
