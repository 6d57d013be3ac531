"""The lab's campaign folder: which of its YAML files are campaigns, what each offers
(its defaults, or the error that makes it unusable), read again only when a file changes."""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.errors import ConfigError, NotFound
from lab.files.campaign_checks import campaign_protocol
from lab.files.campaign_file import CampaignConfig, load_campaign
from protocols import Protocol

#: what tells a folder's files apart from the last read: name, modification time, size
Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class _Read:
    signature: Signature
    files: dict[str, Path]
    summaries: dict[str, dict[str, Any]]


class CampaignFolder:
    """The campaign files an operator may start.

    Args:
        path: the folder (other YAML there, such as the lab or protocol files, is skipped).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read: _Read | None = None
        self._reading = threading.Lock()

    def files(self) -> dict[str, Path]:
        """Campaign name -> its file."""
        return dict(self._current().files)

    def entries(self) -> dict[str, tuple[Path, dict[str, Any]]]:
        """Campaign name -> its file and what the overview shows of it (its description and
        defaults, or ``{"error": ...}`` if it cannot be used), from one look at the folder."""
        read = self._current()
        return {name: (path, dict(read.summaries[name])) for name, path in read.files.items()}

    def load(self, name: str) -> tuple[CampaignConfig, Protocol, Path]:
        """A campaign file of the folder, checked, with its protocol; raises
        :class:`NotFound` or :class:`ConfigError`.

        Args:
            name: the campaign's name.
        """
        path = self._current().files.get(name)
        if path is None:
            raise NotFound(f"no campaign {name!r} in {self.path}")
        config = load_campaign(path)
        return config, campaign_protocol(config), path

    def check_draft(
        self, campaign: str, protocol: str | None = None
    ) -> tuple[CampaignConfig, Protocol]:
        """A campaign file not yet in the folder (an agent's draft), read as if it were:
        beside a copy of the folder's other files, with ``protocol`` (YAML text) as the
        protocol file it names. Raises :class:`ConfigError` listing every problem; the
        folder is not touched.

        Args:
            campaign: the draft campaign file, as YAML text.
            protocol: a draft protocol file, as YAML text; the folder's own if None.
        """
        with tempfile.TemporaryDirectory(prefix="sdl-draft-") as tmp:
            scratch = Path(tmp)
            for file in self.path.iterdir():
                if file.is_file():
                    shutil.copy2(file, scratch / file.name)
            path = scratch / "draft.yaml"
            path.write_text(campaign)
            data = _yaml_mapping(campaign, "the campaign draft")
            if protocol is not None:
                named = data.get("protocol")
                if not isinstance(named, str) or "/" in named or "\\" in named:
                    raise ConfigError("the campaign draft", ["protocol: name the protocol file"])
                _yaml_mapping(protocol, "the protocol draft")
                (scratch / named).write_text(protocol)
            try:
                config = load_campaign(path)
                return config, campaign_protocol(config)
            except ConfigError as err:  # named as the caller knows them, not by the copy
                source = Path(err.source).name
                shown = "the campaign draft" if source == path.name else source
                raise ConfigError(shown, err.problems) from None

    def _current(self) -> _Read:
        """The folder as read, read again only when a file in it has changed (every page
        asks; parsing every YAML file each time cost more than the answer)."""
        signature = tuple(
            (p.name, st.st_mtime_ns, st.st_size)
            for p in sorted(self.path.iterdir())
            if p.is_file() and (st := p.stat())
        )
        with self._reading:
            if self._read is None or self._read.signature != signature:
                self._read = _read(self.path, signature)
            return self._read


def _yaml_mapping(text: str, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(what, [f"not YAML: {err}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(what, ["is not a mapping of fields"])
    return data


def _read(folder: Path, signature: Signature) -> _Read:
    files: dict[str, Path] = {}
    for path in sorted(folder.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and {"parameters", "objectives"} <= set(data):
            files[str(data.get("name", path.stem))] = path
    summaries: dict[str, dict[str, Any]] = {}
    for name, path in files.items():
        try:
            config = load_campaign(path)
        except ConfigError as err:
            summaries[name] = {"error": str(err)}
            continue
        summaries[name] = {
            "description": config.description,
            "default_trials": config.trials,
            "default_planner": config.planner.name,
            "default_seed": config.planner.seed,
            "approval": config.approval,
        }
    return _Read(signature, files, summaries)
