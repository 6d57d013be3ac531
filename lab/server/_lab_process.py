"""The lab process: one owner of the instruments, the store, the RunEngine thread and the
campaigns, which the web app (and through it the dashboard and scripts) talks to."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from pathlib import Path

from bluesky.run_engine import get_bluesky_event_loop

from devices import DeviceError
from lab.compose import build_lab, threaded_run_engine
from lab.config import LabConfig
from lab.executor import InProcessExecutor
from lab.interlocks import Watchdog
from lab.manager import CampaignManager
from lab.monitor import LabMonitor
from lab.safety import Safety
from lab.server._auth import Auth
from lab.server._diagnostics import DiagnosticsDesk
from lab.server._publisher import Publisher
from lab.store import Store
from protocols import PLANS


class LabServer:
    """Everything the web app serves, composed and connected.

    Args:
        config: the lab file, already validated.
        store: the lab's store; closed by :meth:`close`.
        secret: the server's secret (see ``lab.server._auth.check_secret``).
        campaign_dir: the folder of campaign files operators may start.
        monitor_period_s: seconds between polls of the instruments.
    """

    def __init__(
        self,
        config: LabConfig,
        store: Store,
        secret: str,
        campaign_dir: Path,
        monitor_period_s: float = 0.5,
    ) -> None:
        self.config = config
        self.store = store
        self.auth = Auth(store, secret)  # refuses a weak secret before any device opens
        store.claim()
        self.publisher = Publisher()
        self.lab = build_lab(config, store, threaded_run_engine())
        self.safety = Safety(self.lab)
        self.executor = InProcessExecutor(
            self.lab.run_engines, self.lab.devices, PLANS, refusal=self.safety.refusal
        )
        self.monitor = LabMonitor(self.lab, self.publisher.publish, monitor_period_s)
        self.manager = CampaignManager(
            self.lab,
            store,
            self.executor,
            self.safety,
            self.monitor,
            campaign_dir,
            self.publisher.publish,
        )
        self.diagnostics = DiagnosticsDesk(self.lab, self.manager, store, self.publisher.publish)
        self.watchdog = Watchdog(
            self.lab, self.executor, lambda why: self.manager.emergency_stop(why)
        )
        self._monitoring: Future[None] | None = None
        self._closed = False
        #: after :meth:`close`: None if the station confirmed its safe state, else why not
        self.left_unsafe: str | None = None

    def start(self) -> None:
        """Start watching the instruments (on the devices' event loop)."""
        self._monitoring = asyncio.run_coroutine_threadsafe(
            self.monitor.run(), get_bluesky_event_loop()
        )
        self.manager.publish_control()
        self.watchdog.start()

    def close(self) -> None:
        """Campaigns end (their cleanup runs), each station goes to its safe state, the
        devices disconnect, simulators stop and their files go, the store closes."""
        if self._closed:
            return
        self._closed = True
        self.watchdog.stop()
        self.manager.shutdown()
        if self._monitoring is not None:
            self._monitoring.cancel()
        self.executor.close()
        for station in self.lab.devices.stations:
            try:
                self.lab.call(station.stop())
            except DeviceError as err:  # said loudly by whoever closes the lab; never "safe"
                self.left_unsafe = "; ".join(filter(None, (self.left_unsafe, str(err))))
        self.lab.close()
