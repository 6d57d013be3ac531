"""One campaign as one bundle that can be checked: export it, verify it, replay it.

A bundle (a folder, or the same zipped) holds::

    manifest.json          format, campaign, identity, software, and every file's SHA-256
    store.sqlite           the campaign's part of the store (read it with lab.data)
    runs/<scan>-<uid>.jsonl  each run's event-model documents, one ``[name, doc]`` a line
    trials.csv, trials.parquet, samples.csv, samples.parquet, runs.csv
    planner/experiment.json  the planner's own saved experiment (Ax JSON), if it keeps one
    files/                 the campaign, protocol, lab and target files as they ran
    plots/                 the campaign's figures

The texts of the files come from the store (kept when the campaign ran), never from
where the files lie now.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from lab.data import BUNDLE_STORE, open_data
from lab.files.campaign_file import CampaignConfig
from lab.files.provenance import canonical_sha256, sha256_hex, software
from lab.records.measurement import SPECTRA_FROM
from lab.store import Store, TrialRecord, TrialStatus
from lab.store._schema import campaigns, documents, files, runs, samples, trial_values, trials

MANIFEST = "manifest.json"
FORMAT = "sdl-lab-bundle/1"

Progress = Callable[[str], None]


# --- the campaign as it was defined --------------------------------------------------------
def stored_campaign(store: Store, name: str, folder: Path) -> CampaignConfig:
    """The campaign as its store defines it, its files written into ``folder`` from the
    store's copies: what ran, wherever the files lie now.

    Args:
        store: the store that ran it (or a bundle's).
        name: the campaign's name.
        folder: where to put its protocol, target and descriptors files.

    Raises:
        KeyError: no such campaign.
        ValueError: a store from before files were kept (its files are not known).
    """
    info = store.campaign(name)
    if info is None:
        raise KeyError(f"no campaign {name!r} in the store")
    definition = info["definition"]
    if isinstance(definition.get("protocol"), str):
        raise ValueError(
            f"campaign {name!r} was stored before its files were kept (by path "
            f"{definition['protocol']}): run it once more to record them"
        )
    data = dict(definition)
    data["protocol"] = _materialise(store, definition["protocol"], folder)
    data["objectives"] = [
        {**o, "target": _materialise(store, o["target"], folder) if o.get("target") else None}
        for o in definition["objectives"]
    ]
    data["parameters"] = {
        n: {**p, "descriptors": _materialise(store, p["descriptors"], folder)}
        if p.get("descriptors")
        else p
        for n, p in definition["parameters"].items()
    }
    try:
        return CampaignConfig.model_validate(data, context={"base_dir": folder})
    except ValidationError as err:
        raise ValueError(f"campaign {name!r} as stored does not validate: {err}") from None


def _materialise(store: Store, ref: dict[str, str], folder: Path) -> str:
    record = store.file(ref["sha256"])
    if record is None:
        raise ValueError(f"the store lacks {ref['name']} (SHA-256 {ref['sha256'][:12]}...)")
    path = folder / ref["name"]
    path.write_text(record.text, encoding="utf-8")
    return str(path)


# --- export ----------------------------------------------------------------------------
def export_campaign(store: Store, name: str, out: Path, progress: Progress | None = None) -> Path:
    """Write the campaign's bundle to ``out``: a new folder, or a ``.zip``.

    Args:
        store: the store that ran it.
        name: the campaign's name.
        out: the folder to create (it must not exist, or be empty), or a ``.zip`` file.
        progress: told what is being written, step by step.

    Raises:
        KeyError: no such campaign.
        FileExistsError: ``out`` exists and is not an empty folder.
    """
    say = progress or (lambda _: None)
    if store.campaign(name) is None:
        raise KeyError(f"no campaign {name!r} in the store; it holds {store.campaign_names()}")
    zipped = out.suffix == ".zip"
    if out.exists() and (zipped or not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists; name a new folder or .zip")
    with tempfile.TemporaryDirectory(prefix="sdl-export-") as scratch:
        folder = Path(scratch) / "bundle" if zipped else out
        folder.mkdir(parents=True, exist_ok=True)
        say("the campaign's store")
        _copy_campaign(store, name, folder / BUNDLE_STORE)
        with open_data(folder / BUNDLE_STORE) as data:
            say("runs as JSON Lines")
            _write_runs(data.store, folder / "runs")
            say("tables (CSV, Parquet)")
            _write_table(data.trials(name), folder / "trials")
            _write_table(data.samples(name), folder / "samples")
            data.runs(name).to_csv(folder / "runs.csv", index=False)
            say("the campaign's files")
            written = _write_files(data.store, name, folder / "files")
            campaign = stored_campaign(data.store, name, Path(scratch))
            say("the planner's experiment")
            _write_planner(data.store, campaign, folder / "planner")
            say("plots")
            _write_plots(data.store, campaign, folder / "plots")
            info = data.store.campaign(name)
            assert info is not None
        _write_manifest(folder, name, info["identity"], written)
        if zipped:
            say(f"zipping into {out}")
            _zip(folder, out)
    return out


def _copy_campaign(store: Store, name: str, path: Path) -> None:
    """The campaign's rows, its runs with their documents, and the files it names."""
    target = Store(path)
    try:
        with store.engine.connect() as src, target.engine.begin() as dst:
            run_uids = select(runs.c.uid).where(runs.c.campaign == name)
            for table, where in (
                (campaigns, campaigns.c.name == name),
                (trials, trials.c.campaign == name),
                (trial_values, trial_values.c.campaign == name),
                (samples, samples.c.campaign == name),
                (runs, runs.c.campaign == name),
                (documents, documents.c.run_uid.in_(run_uids)),
            ):
                rows = [dict(r._mapping) for r in src.execute(select(table).where(where))]
                if rows:
                    dst.execute(table.insert(), rows)
            needed = _file_refs(store, name)
            for r in src.execute(select(files).where(files.c.sha256.in_(needed))):
                dst.execute(files.insert(), [dict(r._mapping)])
    finally:
        target.close()


def _file_refs(store: Store, name: str) -> set[str]:
    """The SHA-256 of every file the campaign's definition and runs name."""
    info = store.campaign(name)
    assert info is not None
    definition = info["definition"]
    found = (
        {definition["protocol"]["sha256"]} if isinstance(definition["protocol"], dict) else set()
    )
    found |= {o["target"]["sha256"] for o in definition["objectives"] if o.get("target")}
    for t in store.trials(name):
        start = _start_document(store, t)
        if start is not None:
            found |= {ref["sha256"] for ref in start["provenance"]["files"].values()}
    return found


def _start_document(store: Store, t: TrialRecord) -> dict[str, Any] | None:
    if t.run_uid is None:
        return None
    start = next((d for n, d in store.documents(t.run_uid) if n == "start"), None)
    return start if start is not None and "provenance" in start else None


def _write_runs(store: Store, folder: Path) -> None:
    """Each run through suitcase-jsonl, the bluesky project's JSON Lines serializer."""
    import suitcase.jsonl

    folder.mkdir()
    for run in sorted(store.runs(limit=1_000_000), key=lambda r: r.scan_id):
        suitcase.jsonl.export(
            iter(store.documents(run.uid)),
            str(folder),
            file_prefix=f"{run.scan_id:05d}-{run.uid}",
        )


def _write_table(frame: Any, stem: Path) -> None:
    """CSV (units in the column names) and Parquet (also in each field's metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame.to_csv(stem.with_suffix(".csv"), index=False)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    units = frame.attrs.get("units", {})
    schema = pa.schema(
        [f.with_metadata({"unit": units[f.name]}) if f.name in units else f for f in table.schema],
        metadata={b"units": json.dumps(units).encode()},
    )
    pq.write_table(table.cast(schema), stem.with_suffix(".parquet"))


def _write_files(store: Store, name: str, folder: Path) -> dict[str, str]:
    """Each file the campaign ran with, by its own name (a later version of the same name
    gains its SHA-256's first digits); returns SHA-256 -> path in the bundle."""
    folder.mkdir()
    written: dict[str, str] = {}
    for sha in sorted(_file_refs(store, name)):
        record = store.file(sha)
        if record is None:
            continue  # verify reports what is missing
        path = folder / record.name
        if path.exists():
            path = path.with_name(f"{path.stem}-{sha[:12]}{path.suffix}")
        path.write_text(record.text, encoding="utf-8")
        written[sha] = f"files/{path.name}"
    return written


def _write_planner(store: Store, campaign: CampaignConfig, folder: Path) -> None:
    """The planner rebuilt from the record, saved in its own format (Ax JSON)."""
    from lab.campaigns.replay import rebuilt_planner

    planner = rebuilt_planner(store, campaign)
    save = getattr(planner, "save", None)
    if save is not None:
        folder.mkdir()
        save(folder / "experiment.json")


def _write_plots(store: Store, campaign: CampaignConfig, folder: Path) -> None:
    from lab.outputs.report import write_plots
    from lab.records.best import best_trial

    info = store.campaign(campaign.name)
    assert info is not None
    spectrometer = [
        n for n, d in info["lab"]["devices"].items() if d.get("kind") in SPECTRA_FROM
    ] or [""]
    write_plots(store, campaign, folder, spectrometer, best_trial(store, campaign))


def _write_manifest(folder: Path, name: str, identity: str, files_by_sha: dict[str, str]) -> None:
    listed = {
        str(p.relative_to(folder)): {
            "sha256": sha256_hex(p.read_bytes()),
            "bytes": p.stat().st_size,
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "format": FORMAT,
        "campaign": name,
        "identity": identity,
        "created": time.time(),
        "software": software(),
        "campaign_files": files_by_sha,
        "files": listed,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def _zip(folder: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder))


# --- verify ----------------------------------------------------------------------------
@dataclass
class VerifyReport:
    """What :func:`verify` found: files that do not match the manifest, and for each
    measurement (a completed trial) the links of its provenance chain that are missing."""

    campaign: str
    manifest_problems: list[str] = field(default_factory=list)
    measurements: int = 0
    gaps: dict[int, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> int:
        """Measurements whose chain is whole."""
        return self.measurements - len(self.gaps)

    @property
    def share(self) -> float:
        """The share of measurements whose chain is whole (1.0 with none to check)."""
        return self.complete / self.measurements if self.measurements else 1.0

    @property
    def ok(self) -> bool:
        """Every file as the manifest says, every chain whole."""
        return not self.manifest_problems and not self.gaps


@contextmanager
def _unpacked(bundle: Path) -> Iterator[Path]:
    """The bundle's folder (a zip unpacked into a temporary one)."""
    if bundle.is_dir():
        yield bundle
        return
    if not zipfile.is_zipfile(bundle):
        raise FileNotFoundError(f"{bundle} is neither a bundle folder nor a zip")
    with tempfile.TemporaryDirectory(prefix="sdl-verify-") as scratch:
        with zipfile.ZipFile(bundle) as z:
            z.extractall(scratch)
        yield Path(scratch)


def verify(bundle: Path) -> VerifyReport:
    """Check a bundle: every file against the manifest's SHA-256 (none missing, none
    added), then each measurement's chain (see docs/data.md).

    Args:
        bundle: the bundle's folder or zip.

    Raises:
        FileNotFoundError: no bundle there, or no manifest in it.
    """
    with _unpacked(bundle) as folder:
        if not (folder / MANIFEST).is_file():
            raise FileNotFoundError(f"{bundle} has no {MANIFEST}: not a bundle")
        manifest = json.loads((folder / MANIFEST).read_text())
        report = VerifyReport(str(manifest.get("campaign")))
        report.manifest_problems = _manifest_problems(folder, manifest)
        if (folder / BUNDLE_STORE).is_file():
            with open_data(folder) as data:
                _check_chains(data.store, report, manifest)
    return report


def _manifest_problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    present = {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    for name in sorted(set(listed) - present):
        problems.append(f"{name}: listed in the manifest, missing")
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: not in the manifest")
    for name in sorted(set(listed) & present):
        if sha256_hex((folder / name).read_bytes()) != listed[name]["sha256"]:
            problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
    return problems


def _check_chains(store: Store, report: VerifyReport, manifest: dict[str, Any]) -> None:
    name = report.campaign
    info = store.campaign(name)
    if info is None:
        report.manifest_problems.append(f"{BUNDLE_STORE}: no campaign {name!r}")
        return
    identity = canonical_sha256(info["definition"])
    if identity != info["identity"] or identity != manifest.get("identity"):
        report.manifest_problems.append("the campaign's definition does not match its identity")
    in_bundle = set(manifest.get("campaign_files", {}))
    for t in store.trials(name):
        if t.status != TrialStatus.COMPLETED:
            continue
        report.measurements += 1
        missing = _chain_gaps(store, t, identity, in_bundle)
        if missing:
            report.gaps[t.idx] = missing


def _own_links(
    start: dict[str, Any], provenance: dict[str, Any], trial: int
) -> tuple[dict[str, Any], Any, Any] | None:
    """A trial's suggestion, protocol and protocol hash in its run's start document: the
    run's own, or (a plate's batch) the trial's entries in its lists; None if the run is
    not the trial's."""
    if start.get("trial") == trial:
        return (
            provenance.get("suggestion") or {},
            start.get("protocol"),
            provenance.get("protocol_sha256"),
        )
    batch = start.get("trials") or []
    if trial not in batch:
        return None
    i = batch.index(trial)

    def nth(items: Any) -> Any:
        return items[i] if isinstance(items, list) and i < len(items) else None

    return (
        nth(provenance.get("suggestions")) or {},
        nth(start.get("protocols")),
        nth(provenance.get("protocols_sha256")),
    )


def _chain_gaps(store: Store, t: TrialRecord, identity: str, in_bundle: set[str]) -> list[str]:
    """The links missing from one measurement's chain."""
    if t.run_uid is None:
        return ["run"]
    docs = store.documents(t.run_uid)
    start = next((d for n, d in docs if n == "start"), None)
    if start is None:
        return ["start document"]
    gaps = []
    if not any(n == "event" for n, _ in docs):
        gaps.append("measurement (no event)")
    provenance = start.get("provenance") or {}
    own = _own_links(start, provenance, t.idx)
    if start.get("campaign") != t.campaign or own is None:
        gaps.append("start document's campaign and trial")
    if provenance.get("campaign_identity") != identity:
        gaps.append("campaign identity")
    suggestion, protocol, protocol_sha256 = own or ({}, None, None)
    if not suggestion.get("generator") or "seed" not in suggestion:
        gaps.append("the planner's suggestion")
    if protocol_sha256 != canonical_sha256(protocol):
        gaps.append("protocol as run")
    refs = provenance.get("files") or {}
    for key in ("protocol", "lab"):
        if key not in refs:
            gaps.append(f"{key} file")
    for key, ref in refs.items():
        if ref["sha256"] not in in_bundle or store.file(ref["sha256"]) is None:
            gaps.append(f"{key} file {ref['name']} (SHA-256 {ref['sha256'][:12]}...)")
    devices = provenance.get("devices") or {}
    if not devices:
        gaps.append("device identities")
    for device, about in devices.items():
        if not about.get("model") or not about.get("firmware"):
            gaps.append(f"{device}'s identity")
    if not (provenance.get("software") or {}).get("version"):
        gaps.append("software version")
    sample = store.sample(t.sample_id) if t.sample_id else None
    if sample is None or not sample["composition"]:
        gaps.append("vial (or well) and its composition")
    if not t.outcomes or not t.parameters:
        gaps.append("parameters and outcomes")
    return gaps
