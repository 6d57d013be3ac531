"""The lab process: one owner of the instruments, the store, the RunEngine thread and the
campaigns, which the web app (and through it the dashboard and scripts) talks to."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bluesky.run_engine import get_bluesky_event_loop

from devices import DeviceError
from lab.campaigns.manager import CampaignManager
from lab.campaigns.runner import LabSide
from lab.errors import ConfigError, Conflict
from lab.files.lab_file import LabConfig
from lab.files.notifications_file import EventKind
from lab.notifications import Event, Notifier
from lab.outputs.overnight import overnight, render
from lab.records.consumables import Supply
from lab.runtime.executor import Executor
from lab.runtime.lab import Lab, build_lab, threaded_run_engine
from lab.runtime.monitor import LabMonitor
from lab.runtime.process import LabProcess
from lab.server._auth import Auth
from lab.server._consumables import ConsumablesDesk
from lab.server._diagnostics import DiagnosticsDesk
from lab.server._publisher import Publisher
from lab.server._sila import LabSilaServer
from lab.store import Store
from lab.store.tiled import TiledMirror, TiledSummary
from lab.workcells import WorkcellPool


class LabServer:
    """Everything the web app serves, composed and connected: the lab's own instruments,
    or (``workcells`` given) workcells behind their queue servers, whose campaigns this
    process coordinates.

    Args:
        config: the lab file, already validated.
        store: the lab's store; closed by :meth:`close`.
        secret: the server's secret (see ``lab.server._auth.check_secret``).
        campaign_dir: the folder of campaign files operators may start.
        monitor_period_s: seconds between polls of the instruments.
        workcells: name -> a workcell's ZeroMQ control address; each records its runs
            into ``store``. Their devices are watched by their own workers: this process
            shows no device readings and runs no diagnostics.
        tiled: a Tiled client and its URL: every run of this lab's own devices is written
            there too (see :class:`lab.store.tiled.TiledMirror`).
        sila: the port to serve the lab on over SiLA 2, and the folder of its identity
            (see :class:`lab.server._sila.LabSilaServer`); None: no SiLA 2.
    """

    def __init__(
        self,
        config: LabConfig,
        store: Store,
        secret: str,
        campaign_dir: Path,
        monitor_period_s: float = 0.5,
        workcells: Mapping[str, str] | None = None,
        tiled: tuple[Any, str] | None = None,
        sila: tuple[int, Path] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.auth = Auth(store, secret)  # refuses a weak secret before any device opens
        #: the lab's events to people, if the lab file says where (secrets read now)
        self.notifier: Notifier | None = None
        if config.notifications is not None:
            try:
                self.notifier = Notifier(
                    config.notifications,
                    config.name,
                    store.notifications,
                    summary=lambda since: render(
                        overnight(store, since, supplies=self._supplies()), config.name
                    ),
                )
            except ValueError as err:
                raise ConfigError(f"lab {config.name}", [str(err)]) from None
        store.claim()
        self.publisher = Publisher()
        self._own: Lab | None = None
        self.monitor: LabMonitor | None = None
        self.lab: LabSide
        self.executor: Executor
        if workcells:
            pool = WorkcellPool.reach(config, workcells)
            self.lab, self.executor, self.process = pool, pool, pool.process()
        else:
            own = self._own = build_lab(config, store, threaded_run_engine())
            self.process = LabProcess.of(own)
            assert self.process.executor is not None
            self.lab, self.executor = own, self.process.executor
            self.monitor = LabMonitor(own, self._publish, monitor_period_s)
        #: every run also in Tiled; what reached it, once closed
        self.mirror = TiledMirror(tiled[0], store, tiled[1]) if tiled and self._own else None
        self.tiled: TiledSummary | None = None
        if self.mirror is not None and self._own is not None:
            for run_engine in self._own.run_engines:
                run_engine.subscribe(self.mirror)
        self.manager = CampaignManager(
            self.lab,
            store,
            self.executor,
            self.process,
            self.monitor,
            campaign_dir,
            self._publish,
        )
        world = self._own.world if self._own is not None else None
        self.consumables = ConsumablesDesk(config, store, self.lab, self.manager, world)
        self.diagnostics: DiagnosticsDesk | None = None
        if self._own is not None:
            self.diagnostics = DiagnosticsDesk(self._own, self.manager, store, self._publish)
        #: the lab over SiLA 2, started with the server
        self.sila = LabSilaServer(self, *sila) if sila is not None and self._own else None
        self._monitoring: Future[None] | None = None
        self._closed = False
        #: after :meth:`close`: None if the station confirmed its safe state, else why not
        self.left_unsafe: str | None = None

    def _supplies(self) -> list[Supply]:
        """The consumables for the morning summary; none if the devices cannot be read."""
        try:
            return self.consumables.now()
        except Conflict:
            return []

    def _publish(self, topic: str, data: Any) -> None:
        """To every page, and to the notifier (one queue put: it never waits on a channel)."""
        self.publisher.publish(topic, data)
        if self.notifier is not None:
            self.notifier.observe(topic, data)

    def start(self) -> None:
        """Start watching the instruments (on the devices' event loop)."""
        if self.monitor is not None:
            self._monitoring = asyncio.run_coroutine_threadsafe(
                self.monitor.run(), get_bluesky_event_loop()
            )
        self.manager.publish_control()
        self.process.start()
        if self.sila is not None:
            self.sila.start()

    def close(self) -> None:
        """Campaigns end (their cleanup runs), each station goes to its safe state, the
        devices disconnect, simulators stop and their files go, the store closes."""
        if self._closed:
            return
        self._closed = True
        if self.sila is not None:  # no new orders from SiLA clients while closing
            self.sila.stop()
        self.process.stop_watching()  # first: nothing presses the stop while closing
        self.manager.shutdown()
        if self._monitoring is not None:
            self._monitoring.cancel()
        self.executor.close()
        if self._own is None:
            self._close_notifier()
            self.store.close()
            return
        for station in self._own.devices.stations:
            try:
                self._own.call(station.stop())
            except DeviceError as err:  # said loudly by whoever closes the lab; never "safe"
                self.left_unsafe = "; ".join(filter(None, (self.left_unsafe, str(err))))
        heating = self._own.cooling_problems()  # a stuck heater reads its setpoint as set
        self.left_unsafe = "; ".join(filter(None, (self.left_unsafe, *heating))) or None
        if self.mirror is not None:  # before the store closes: it catches up from there
            self.tiled = self.mirror.close()
        self._close_notifier()
        self._own.close()

    def _close_notifier(self) -> None:
        """Tell of a station left unsafe, send what waits, then stop (before the store
        closes: every delivery is recorded there)."""
        if self.notifier is None:
            return
        if self.left_unsafe:
            self.notifier.tell(
                Event(
                    EventKind.LEFT_UNSAFE,
                    "lab",
                    "Lab stopped, LEFT UNSAFE",
                    f"The lab server stopped and a device did not confirm its safe state: "
                    f"{self.left_unsafe}. Check it by hand.",
                )
            )
        self.notifier.close()
