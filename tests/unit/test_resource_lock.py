"""Claims key on what a resource is, not how it is spelled, in one folder whatever the
environment says: once, another TMPDIR or ``localhost`` for ``127.0.0.1`` let a second
process drive a station a campaign was using."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from devices import DeviceBusy, ResourceLock
from devices._resource_lock import endpoint_identity, file_identity


def test_every_spelling_of_a_loopback_endpoint_is_one_claim() -> None:
    names = {
        endpoint_identity(f"opc.tcp://{host}:4840/sdl/station")
        for host in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.0.0.1")
    }
    assert names == {"opc.tcp-loopback-4840"}
    assert endpoint_identity("opc.tcp://127.0.0.1:4841/") != endpoint_identity(
        "opc.tcp://localhost:4840/"
    )


def test_a_file_is_claimed_by_what_it_is(tmp_path: Path) -> None:
    real = tmp_path / "store.sqlite"
    real.write_text("")
    link = tmp_path / "other-name.sqlite"
    link.symlink_to(real)
    hard = tmp_path / "hard.sqlite"
    os.link(real, hard)
    assert file_identity(str(real)) == file_identity(str(link)) == file_identity(str(hard))
    leader, follower = pty.openpty()
    try:
        port = os.ttyname(follower)
        named = tmp_path / "station"
        named.symlink_to(port)
        first = file_identity(port)
        assert first.startswith("pty-") and file_identity(str(named)) == first
    finally:
        os.close(leader)
        os.close(follower)
    leader, follower = pty.openpty()  # the kernel gives the freed number out again
    try:
        assert os.ttyname(follower) != port or file_identity(port) != first
    finally:
        os.close(leader)
        os.close(follower)


def test_another_tmpdir_does_not_split_a_claim(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    store.write_text("")
    mine = ResourceLock.for_file(str(store), "store")
    mine.acquire()
    try:
        script = (
            "import sys\n"
            "from devices import DeviceBusy, ResourceLock\n"
            f"lock = ResourceLock.for_file({str(tmp_path / 'link')!r}, 'store')\n"
            "try:\n    lock.acquire()\nexcept DeviceBusy as err:\n    print(err)\n"
        )
        (tmp_path / "link").symlink_to(store)
        other = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": str(tmp_path), "SDL_LOCK_DIR": str(tmp_path)},
            cwd=Path(__file__).resolve().parents[2],
        )
        assert f"is in use by process {os.getpid()}" in other.stdout, other.stderr
    finally:
        mine.release()


def test_a_claim_on_localhost_refuses_one_on_127_0_0_1() -> None:
    first = ResourceLock.for_endpoint("opc.tcp://127.0.0.1:59999/x", "station")
    first.acquire()
    try:
        with pytest.raises(DeviceBusy) as refused:
            ResourceLock.for_endpoint("opc.tcp://localhost:59999/x", "diagnose").acquire()
        assert "opc.tcp://localhost:59999/x is in use by process" in str(refused.value)
    finally:
        first.release()
