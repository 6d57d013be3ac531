"""Where a measurement came from: the files a campaign ran with (by content, not path),
the software that ran it, and the instruments that took it.

A campaign is identified by the SHA-256 of its definition, in which each file it names
(protocol, target spectrum) enters as its own SHA-256: a moved checkout is the same
campaign, an edited protocol at the same path is not. Each trial's run carries the chain
in its start document (see :func:`run_provenance`); the store keeps the texts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

#: the libraries whose versions decide what a run did, recorded with every run
LIBRARIES = ("bluesky", "ophyd-async", "event-model", "ax-platform", "botorch", "torch", "pint")


def sha256_hex(data: bytes | str) -> str:
    """The SHA-256 of ``data`` (text as UTF-8), in hex.

    Args:
        data: bytes, or text.
    """
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class FileRecord:
    """A file as a campaign used it: its name (not its folder) and text, and their digest."""

    name: str
    text: str

    @property
    def sha256(self) -> str:
        """The SHA-256 of the text."""
        return sha256_hex(self.text)

    @classmethod
    def read(cls, path: str | Path) -> FileRecord:
        """The file at ``path`` as it is now.

        Args:
            path: the file.
        """
        path = Path(path)
        return cls(path.name, path.read_text(encoding="utf-8"))

    def ref(self) -> dict[str, str]:
        """What a definition or a start document names it by."""
        return {"name": self.name, "sha256": self.sha256}


def canonical_sha256(data: Any) -> str:
    """The SHA-256 of JSON data in canonical form (sorted keys, no spaces): a campaign
    definition's identity, a protocol as run.

    Args:
        data: JSON-able data (files in it given by :meth:`FileRecord.ref`).
    """
    return sha256_hex(json.dumps(data, sort_keys=True, separators=(",", ":")))


@functools.cache
def software() -> dict[str, Any]:
    """This package's version and git commit (when run from a checkout, with ``dirty`` if
    it has uncommitted changes), Python's and the deciding libraries' versions."""
    found: dict[str, Any] = {"package": "sdl-lab", "version": _version("sdl-lab")}
    found.update(_git_commit(Path(__file__).resolve().parent.parent))
    found["python"] = platform.python_version()
    found["libraries"] = {name: _version(name) for name in LIBRARIES}
    return found


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_commit(root: Path) -> dict[str, Any]:
    if not (root / ".git").exists():
        return {"git_commit": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None}
    return {"git_commit": commit, "dirty": bool(changes)}


def diagnosis_summary(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A device's latest diagnosis in brief: when, its worst status, and each check's
    status and value (a calibration's result among them); None if it has had none.

    Args:
        results: the rows of its latest diagnosis (``DiagnosisLog.latest``).
    """
    if not results:
        return None
    order = ("fail", "warn", "pass", "skipped")
    worst = min((r["status"] for r in results), key=lambda s: order.index(s) if s in order else 0)
    return {
        "time": results[0]["session"],
        "status": worst,
        "checks": {r["check"]: {"status": r["status"], "value": r["value"]} for r in results},
    }
