"""Every run also in a Tiled server, as Bluesky writes it (bluesky's ``TiledWriter``), so
that a facility reads the lab's data with the tools it reads its beamlines' with. The lab's
own store stays the record: Tiled gets a copy, in a thread of its own, so a slow or absent
server never holds up a run; what it missed is written again from the store."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.store._store import Store

log = logging.getLogger(__name__)

#: what ``--tiled`` takes to start a Tiled server of the lab's own, beside the store
LOCAL = "local"


class TiledError(Exception):
    """A Tiled server that cannot be used: unreachable, refusing the key, or not Tiled."""


@dataclass
class TiledSummary:
    """What reached Tiled: the server, the runs written, and those that were not (with why)."""

    url: str
    written: int = 0
    missing: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"tiled: {self.written} run(s) at {self.url}"
        if self.missing:
            reasons = sorted(set(self.missing.values()))
            text += (
                f"; {len(self.missing)} not written ({'; '.join(reasons)}): they are in the "
                "store, and the next run with --tiled writes them"
            )
        return text


def connect(url: str, api_key: str | None = None, timeout: float = 5.0) -> Any:
    """A Tiled client of ``url`` (the key: ``api_key``, else ``TILED_API_KEY``);
    :class:`TiledError` in words if it cannot be used."""
    from tiled.client import from_uri

    try:
        return from_uri(url, api_key=api_key, timeout=timeout)
    except Exception as err:  # httpx, tiled and JSON errors alike: say which server, and why
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TiledError(
            f"tiled: cannot use {url} ({reason}); check the URL, that a Tiled server answers "
            "there, and TILED_API_KEY"
        ) from None


class TiledMirror:
    """Writes each run the lab records to a Tiled server: a RunEngine callback that only
    queues the document; a thread writes it. A run whose writing fails is written again,
    whole, from ``store`` at :meth:`close`.

    Args:
        client: a Tiled client with write access (see :func:`connect`).
        store: the lab's store, which holds every document of every run.
        url: the server's address, for messages.
    """

    def __init__(self, client: Any, store: Store, url: str) -> None:
        self.client = client
        self.store = store
        self.url = url
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._descriptors: dict[str, str] = {}
        self._failed: dict[str, str] = {}
        self._seen: list[str] = []
        self._campaigns: set[str] = set()
        #: why the server stopped taking runs, once it has
        self._down: str | None = None
        #: runs written whole as they ran
        self._written: set[str] = set()
        self._writer = self._new_writer()
        self._thread = threading.Thread(target=self._write_all, name="tiled-mirror", daemon=True)
        self._thread.start()

    def _new_writer(self) -> Any:
        from bluesky.callbacks.tiled_writer import TiledWriter

        return TiledWriter(self.client, batch_size=1)  # each event as it comes

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Queue one document (a RunEngine subscription: returns at once)."""
        self._queue.put((name, doc))

    def _write_all(self) -> None:
        while (item := self._queue.get()) is not None:
            name, doc = item
            run = self._run_of(name, doc)
            if name == "start":
                self._seen.append(doc["uid"])
                if doc.get("campaign"):
                    self._campaigns.add(str(doc["campaign"]))
                if self._down is not None:  # written from the store at close, if it is back
                    self._failed[doc["uid"]] = self._down
            if run is None or run in self._failed:
                continue
            try:
                self._writer(name, doc)
                if name == "stop":
                    self._written.add(run)
            except Exception as err:  # the server went away, refused, or choked
                reason = _short(str(err).strip().splitlines()[0] if str(err).strip() else repr(err))
                log.warning("tiled: run %s not written to %s: %s", run, self.url, reason)
                # the writer's state of every run in flight is lost with it; nothing more
                # is written live (each request would wait out the client's retries)
                self._down = reason
                for uid in self._seen:
                    self._failed.setdefault(uid, reason)

    def _run_of(self, name: str, doc: dict[str, Any]) -> str | None:
        if name == "start":
            return str(doc["uid"])
        if name == "descriptor":
            self._descriptors[doc["uid"]] = doc["run_start"]
        if name in ("descriptor", "stop", "resource", "stream_resource"):
            return doc.get("run_start")
        if name in ("event", "event_page"):
            return self._descriptors.get(doc["descriptor"])
        return None

    def close(self, wait: float = 10.0) -> TiledSummary:
        """Write what is queued (up to ``wait`` seconds), then every run seen whose
        writing failed, and every other run of the same campaigns Tiled does not hold
        whole (an outage of an earlier session), from the store."""
        self._queue.put(None)
        self._thread.join(wait)
        if self._thread.is_alive():  # still waiting on the server: what it missed is caught up
            self._down = self._down or "the server did not answer in time"
            for uid in self._seen:
                self._failed.setdefault(uid, self._down)
        summary = TiledSummary(self.url)
        wanted = list(dict.fromkeys(self._seen + self._stored_runs()))
        if not _answers(self.url):
            summary.written = len(self._written)
            summary.missing = {
                uid: f"{self.url} does not answer" for uid in wanted if uid not in self._written
            }
            return summary
        for uid in wanted:
            reason = self._failed.get(uid, "")
            if uid in self._written or (uid not in self._failed and self._held_whole(uid)):
                summary.written += 1
                continue
            try:
                self.write_from_store(uid)
                summary.written += 1
            except Exception as err:
                summary.missing[uid] = _short(str(err) or reason or type(err).__name__)
        return summary

    def _stored_runs(self) -> list[str]:
        found: list[str] = []
        for campaign in sorted(self._campaigns):
            found += [r.uid for r in reversed(self.store.runs(100_000, campaign))]
        return found

    def _held_whole(self, uid: str) -> bool:
        try:
            return uid in self.client and "stop" in self.client[uid].metadata
        except Exception:
            return False

    def write_from_store(self, uid: str) -> None:
        """Write one run again, whole, from the store (replacing a partial copy)."""
        docs = self.store.documents(uid)
        if not docs or docs[-1][0] != "stop":
            raise TiledError("still running, or its documents are not in the store")
        if uid in self.client:
            self.client.delete_contents(uid, recursive=True, external_only=False)
        writer = self._new_writer()
        for name, doc in docs:
            writer(name, doc)


def _answers(url: str) -> bool:
    """The server answers at all, asked once (no retries): a catch-up is worth trying."""
    import httpx

    try:
        return httpx.get(f"{url.rstrip('/')}/api/v1/", timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False


def _short(reason: str) -> str:
    return reason if len(reason) <= 160 else reason[:157] + "..."


@contextlib.contextmanager
def tiled_server(tiled: str | None, folder: Path) -> Iterator[tuple[Any, str] | None]:
    """A client of the Tiled server ``tiled`` names, with its URL: a URL (the key in
    ``TILED_API_KEY``), ``local`` for a server of the lab's own in ``folder`` (stopped
    on leaving), or None for no Tiled at all."""
    if tiled is None:
        yield None
    elif tiled == LOCAL:
        server = LocalTiled(folder)
        server.start()
        try:
            yield connect(server.url, server.api_key), server.url
        finally:
            server.stop()
    else:
        yield connect(tiled), tiled


class LocalTiled:
    """A Tiled server of the lab's own on 127.0.0.1 (``tiled serve catalog``), its
    catalog and data in ``folder`` so that it keeps them across restarts: anyone on this
    machine reads it, the lab writes with a fresh API key.

    Args:
        folder: where its catalog (``catalog.db``) and data (``data/``) live.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.api_key = secrets.token_hex(32)  # Tiled takes letters and digits only
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server; returns once it answers."""
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        catalog = self.folder / "catalog.db"
        args = [
            *(sys.executable, "-m", "tiled", "serve", "catalog", str(catalog)),
            # arrays as files, tables (the event streams, spectra in them) in DuckDB
            *("--write", str(data), "--write", f"duckdb:///{self.folder / 'tables.duckdb'}"),
            *("--host", "127.0.0.1", "--port", str(self.port)),
            *(["--init"] if not catalog.exists() else []),
            "--public",  # anyone on this machine reads; writing takes the key
        ]
        env = {**os.environ, "TILED_SINGLE_USER_API_KEY": self.api_key}
        logged = self.folder / "server.log"
        with logged.open("ab") as out:
            # a session of its own: a Ctrl-C at the terminal reaches the lab, which
            # writes what Tiled missed before it stops this server
            self._process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TiledError(f"tiled: the local server did not start; see {logged}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise TiledError(f"tiled: the local server did not answer within {timeout:g} s")

    def stop(self) -> None:
        """Stop the server (its catalog stays)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
