"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, on a
free loopback port, trust authentication, gone with the folder. PostgreSQL refuses to
run as root, so as root it runs as the ``postgres`` user Debian's package creates."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy

from simulators.opcua_station import free_port


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))  # Debian's layout
    return candidates[-1] if candidates else None


def available() -> bool:
    """Whether this machine has PostgreSQL's server programs."""
    return _binary("initdb") is not None and _binary("pg_ctl") is not None


class ThrowawayPostgres:
    """One server; :meth:`database` hands each test a fresh database on it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sdl-postgres-"))
        self.port = free_port()
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        data = self.folder / "data"
        self._run(
            _binary("initdb"),
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self._run(
            _binary("pg_ctl"), "-D", data, "-l", self.folder / "log", "-o", options, "-w", "start"
        )
        # psycopg 3 named, as the store names it: SQLAlchemy 2.0 would take psycopg2
        admin = self.url("postgres").replace("postgresql://", "postgresql+psycopg://")
        self._admin = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")

    def _run(self, *command: object) -> None:
        subprocess.run(
            [str(c) for c in command],
            check=True,
            capture_output=True,
            user=self._user,
            cwd=self.folder,
        )

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as c:
            c.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self._admin.dispose()
        self._run(_binary("pg_ctl"), "-D", self.folder / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
