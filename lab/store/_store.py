"""The lab store: every bluesky document, every trial and every sample, in one file.

SQLAlchemy Core over SQLite (WAL) by default, so a facility can point the same code at
PostgreSQL. The store is the source of truth: a campaign resumes from it.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pint
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import SQLAlchemyError

from devices import DeviceBusy, ResourceLock
from lab.errors import LabError
from lab.files.provenance import FileRecord, canonical_sha256
from lab.states import TrialStatus
from lab.store._accounts import Accounts
from lab.store._audit import AuditLog, make_append_only
from lab.store._diagnoses import DiagnosisLog
from lab.store._migrate import migrate
from lab.store._notifications import NotificationLog
from lab.store._refills import RefillLog
from lab.store._schema import (
    campaigns,
    documents,
    files,
    metadata,
    runs,
    samples,
    trial_values,
    trials,
    unit_name,
)
from planners import ParameterValue

ureg = pint.get_application_registry()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a document")


@dataclass
class TrialRecord:
    """A trial as stored: its parameters and outcomes, status, run and sample, who decided
    it, and the planner's suggestion.

    Outcomes are numbers in the unit ``outcome_units`` gives for each (``""`` for a pure
    number): the numbers the planner was told.
    """

    campaign: str
    idx: int
    status: TrialStatus
    parameters: dict[str, ParameterValue]
    planner: str
    outcomes: dict[str, float] | None
    error: str | None
    run_uid: str | None
    sample_id: str | None
    proposed: float
    finished: float | None
    decided_by: str | None = None
    outcome_units: dict[str, str] = field(default_factory=dict)
    suggestion: dict[str, Any] | None = None
    session: int | None = None

    def outcome_quantities(self) -> dict[str, pint.Quantity]:
        """The outcomes with their units."""
        return {
            k: ureg.Quantity(v, self.outcome_units.get(k, ""))
            for k, v in (self.outcomes or {}).items()
        }


@dataclass
class RunRecord:
    """A bluesky run, indexed from its start and stop documents."""

    uid: str
    scan_id: int
    plan_name: str | None
    started: float
    finished: float | None
    exit_status: str | None
    reason: str | None
    campaign: str | None
    trial: int | None
    operator: str | None
    station: str | None = None


class StoreError(LabError):
    """The store cannot be read or written (a full disk, a database server that is down or
    refuses): what it already holds is kept. Raised in place of the database driver's error
    (kept as ``__cause__``), so no caller needs to know SQLAlchemy.

    Args:
        reason: the database's own words, one line.
    """

    status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"the store cannot be read or written: {reason}")
        self.reason = reason


def _as_store_error(context: ExceptionContext) -> None:
    """SQLAlchemy's ``handle_error`` hook: every failure of the database becomes a StoreError."""
    original = context.original_exception
    reason = (str(original).strip().splitlines() or [type(original).__name__])[0]
    raise StoreError(reason) from context.sqlalchemy_exception or original


class CampaignMismatch(LabError):
    """A store already holds a campaign of this name, defined differently."""

    status = 409


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a database server (a SQLAlchemy URL) rather than a file."""
    return "://" in str(location)


def store_label(location: str | Path) -> str:
    """``location`` fit to print: a URL's password, if one was written in it, hidden."""
    if not is_database_url(location):
        return str(location)
    return make_url(str(location)).render_as_string(hide_password=True)


class StoreInUse(LabError):
    """Another process runs campaigns on this store."""

    status = 409


class Store:
    """The lab's record: campaigns, trials, samples, runs with their documents, and (for
    the server) users, sessions and the audit log.

    Args:
        url_or_path: a SQLite file path (created with its folder, the embedded default),
            or a SQLAlchemy URL such as ``postgresql://user@host/db`` (a facility's
            server; the database must exist).
    """

    def __init__(self, url_or_path: str | Path) -> None:
        url = str(url_or_path)
        self._claim: ResourceLock | None = None
        #: the connection that holds a database server's claim on this store
        self._held: Connection | None = None
        self._label = store_label(url)
        if not is_database_url(url):
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            self._claim = ResourceLock.for_file(
                url,
                "store",
                advice="one process runs campaigns on a store (stop it, or use another --store)",
            )
            url = f"sqlite:///{url}"
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # psycopg 3
        self.url = url
        self.engine: Engine = create_engine(
            url, json_serializer=lambda o: json.dumps(o, default=_jsonable)
        )
        event.listen(self.engine, "handle_error", _as_store_error)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _create_tables(self.engine)
        _add_missing_columns(self.engine)
        migrate(self.engine)
        make_append_only(self.engine)
        #: descriptor uid -> its run and stream
        self._descriptors: dict[str, tuple[str, str | None]] = {}
        self.accounts = Accounts(self.engine)
        self.audit = AuditLog(self.engine)
        self.diagnoses = DiagnosisLog(self.engine)
        self.notifications = NotificationLog(self.engine)
        self.refills = RefillLog(self.engine)

    @property
    def label(self) -> str:
        """The store as it was named (a file's path, or a URL with its password hidden)."""
        return self._label

    def claim(self) -> None:
        """Take this store for this process's campaigns: a second process that runs
        campaigns on it is refused (:class:`StoreInUse`) rather than interleaved. Users and
        reports may still read and write it.

        A file is claimed by what it is (device and inode), in the one folder every process
        claims in; a database on a server by an advisory lock the server holds for this
        process's connection, so every machine that reaches it sees the claim."""
        if self._claim is not None:
            try:
                self._claim.acquire()
            except DeviceBusy as err:
                raise StoreInUse(err.message) from None
            return
        if self._held is not None:
            return
        connection = self.engine.connect()
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _SERVER_CLAIM}
        ).scalar()
        connection.commit()
        if not taken:
            holder = connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :low "
                    "AND granted LIMIT 1"
                ),
                {"low": _SERVER_CLAIM & 0xFFFFFFFF},
            ).scalar()
            connection.close()
            raise StoreInUse(
                f"{self._label} is in use by another process (database backend "
                f"{holder}); one process runs campaigns on a store (stop it, or use another "
                "--store)"
            )
        self._held = connection

    def close(self) -> None:
        """Release the claim (if taken) and close the database connections."""
        if self._claim is not None:
            self._claim.release()
        if self._held is not None:
            # released in so many words: the server drops it with the session too, but only
            # once it has seen the connection go, which a claim right after may beat
            with contextlib.suppress(SQLAlchemyError):
                self._held.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SERVER_CLAIM})
                self._held.commit()
            self._held.close()
            self._held = None
        self.engine.dispose()

    # --- campaigns -------------------------------------------------------------------
    def open_campaign(self, name: str, definition: dict[str, Any], lab: dict[str, Any]) -> bool:
        """Create the campaign, or check the stored one is the same; True if it existed.

        Campaigns are the same when their definitions are, their files compared by content
        (:mod:`lab.files.provenance`). A store written before that named files by path; such a
        campaign continues if all else is the same, and takes the files' present content.

        Args:
            name: the campaign's name.
            definition: :meth:`lab.files.campaign_file.CampaignConfig.definition`, with the
                planner's name and seed.
            lab: the lab file's settings, as used.
        """
        identity = canonical_sha256(definition)
        with self.engine.begin() as c:
            row = c.execute(select(campaigns).where(campaigns.c.name == name)).first()
            if row is None:
                c.execute(
                    insert(campaigns).values(
                        name=name,
                        created=time.time(),
                        definition=definition,
                        lab=lab,
                        identity=identity,
                    )
                )
                return False
        mismatch = _mismatch(name, row.definition, definition)
        if mismatch and self.trials(name):
            raise CampaignMismatch(mismatch)
        if mismatch or row.identity != identity:
            # a campaign refused before its first trial is no campaign yet: the corrected
            # file starts it afresh; a store from before identities gains its own
            with self.engine.begin() as c:
                c.execute(
                    update(campaigns)
                    .where(campaigns.c.name == name)
                    .values(definition=definition, lab=lab, identity=identity)
                )
        return not mismatch

    def campaign_mismatch(self, name: str, definition: dict[str, Any]) -> str | None:
        """Why ``definition`` cannot continue the stored campaign ``name`` (None if it can,
        or if there is no such campaign yet)."""
        stored = self.campaign(name)
        return None if stored is None else _mismatch(name, stored["definition"], definition)

    def campaign_names(self) -> list[str]:
        """The stored campaigns' names, oldest first."""
        with self.engine.connect() as c:
            return [
                r.name for r in c.execute(select(campaigns.c.name).order_by(campaigns.c.created))
            ]

    def set_best(self, name: str, trials: list[int], rule: str) -> None:
        """Record which trials the planner now holds best (several: its Pareto front), and
        by which rule ("model": its model's estimate; "observed": the measured values)."""
        with self.engine.begin() as c:
            c.execute(
                update(campaigns)
                .where(campaigns.c.name == name)
                .values(best={"trials": trials, "rule": rule})
            )

    def campaign(self, name: str) -> dict[str, Any] | None:
        """A stored campaign's row (name, created, definition, lab, best), or None."""
        with self.engine.connect() as c:
            row = c.execute(select(campaigns).where(campaigns.c.name == name)).first()
        return None if row is None else dict(row._mapping)

    # --- trials ----------------------------------------------------------------------
    def add_trial(
        self,
        campaign: str,
        idx: int,
        parameters: Mapping[str, ParameterValue],
        planner: str,
        status: TrialStatus = TrialStatus.PROPOSED,
        decided_by: str | None = None,
        suggestion: dict[str, Any] | None = None,
        session: int | None = None,
    ) -> None:
        """Record a proposed trial.

        Args:
            campaign: the campaign's name.
            idx: the trial's number.
            parameters: its values with their units (a choice by its name), by
                parameter name.
            planner: ``planner/generator`` that proposed it.
            status: where it is.
            decided_by: who approved or edited it, if anyone.
            suggestion: what the planner said of it (seed, model, prediction).
            session: which run of the campaign proposed it (see :meth:`next_session`).
        """
        with self.engine.begin() as c:
            c.execute(
                insert(trials).values(
                    campaign=campaign,
                    idx=idx,
                    status=status,
                    planner=planner,
                    proposed=time.time(),
                    decided_by=decided_by,
                    suggestion=suggestion,
                    session=session,
                )
            )
            _write_values(c, campaign, idx, "parameter", parameters)
            _count_change(c, campaign)

    def trial(self, campaign: str, idx: int) -> TrialRecord | None:
        """One trial, or None if the campaign has no such index.

        Args:
            campaign: the campaign's name.
            idx: the trial's number.
        """
        found = self._trials(campaign, idx)
        return found[0] if found else None

    def update_trial(
        self,
        campaign: str,
        idx: int,
        outcomes: Mapping[str, pint.Quantity | float] | Literal["keep"] | None = "keep",
        **values: Any,
    ) -> None:
        """Change a trial; a finished status stamps the time.

        Args:
            campaign: the campaign's name.
            idx: the trial's number.
            outcomes: its outcomes with their units (a pure number may be a float); None
                removes them; by default they stay as they are.
            values: other columns: ``status``, ``error``, ``run_uid``, ``sample_id``,
                ``decided_by``.
        """
        if values.get("status") in (TrialStatus.COMPLETED, TrialStatus.FAILED):
            values.setdefault("finished", time.time())
        with self.engine.begin() as c:
            if values:
                c.execute(
                    update(trials)
                    .where((trials.c.campaign == campaign) & (trials.c.idx == idx))
                    .values(**values)
                )
            if outcomes != "keep":
                c.execute(
                    delete(trial_values).where(
                        (trial_values.c.campaign == campaign)
                        & (trial_values.c.trial == idx)
                        & (trial_values.c.kind == "outcome")
                    )
                )
                _write_values(c, campaign, idx, "outcome", outcomes or {})
            _count_change(c, campaign)

    def trial_counts(self, campaign: str) -> dict[str, int]:
        """How many trials of the campaign have each status.

        Args:
            campaign: the campaign's name.
        """
        query = (
            select(trials.c.status, func.count())
            .where(trials.c.campaign == campaign)
            .group_by(trials.c.status)
        )
        with self.engine.connect() as c:
            return {status: int(n) for status, n in c.execute(query)}

    def trials(self, campaign: str) -> list[TrialRecord]:
        """Every trial of a campaign, in index order.

        Args:
            campaign: the campaign's name.
        """
        return self._trials(campaign)

    def _trials(self, campaign: str, idx: int | None = None) -> list[TrialRecord]:
        rows_query = select(trials).where(trials.c.campaign == campaign).order_by(trials.c.idx)
        values_query = (
            select(trial_values)
            .where(trial_values.c.campaign == campaign)
            .order_by(trial_values.c.trial, trial_values.c.kind, trial_values.c.position)
        )
        if idx is not None:
            rows_query = rows_query.where(trials.c.idx == idx)
            values_query = values_query.where(trial_values.c.trial == idx)
        with self.engine.connect() as c:
            rows = c.execute(rows_query).all()
            numbers = c.execute(values_query).all()
        parameters: dict[int, dict[str, ParameterValue]] = {}
        outcomes: dict[int, dict[str, float]] = {}
        units: dict[int, dict[str, str]] = {}
        for v in numbers:
            magnitude = math.nan if v.magnitude is None else v.magnitude
            if v.kind == "parameter":
                value = v.choice if v.choice is not None else ureg.Quantity(magnitude, v.unit)
                parameters.setdefault(v.trial, {})[v.name] = value
            else:
                outcomes.setdefault(v.trial, {})[v.name] = magnitude
                units.setdefault(v.trial, {})[v.name] = v.unit
        return [
            TrialRecord(
                **{**r._mapping, "status": TrialStatus(r.status)},
                parameters=parameters.get(r.idx, {}),
                outcomes=outcomes.get(r.idx),
                outcome_units=units.get(r.idx, {}),
            )
            for r in rows
        ]

    def next_session(self, campaign: str) -> int:
        """A number for a new run of the campaign (a start or a resume), one more than any
        trial's so far.

        Args:
            campaign: the campaign's name.
        """
        with self.engine.connect() as c:
            found = c.execute(
                select(func.max(trials.c.session)).where(trials.c.campaign == campaign)
            ).scalar()
        return int(found or 0) + 1

    # --- files -------------------------------------------------------------------------
    def keep_file(self, record: FileRecord) -> str:
        """Keep a file's text by its SHA-256 (once, however many campaigns use it).

        Args:
            record: the file as used.
        """
        with self.engine.begin() as c:
            if c.execute(select(files.c.sha256).where(files.c.sha256 == record.sha256)).first():
                return record.sha256
            c.execute(
                insert(files).values(sha256=record.sha256, name=record.name, text=record.text)
            )
        return record.sha256

    def file(self, sha256: str) -> FileRecord | None:
        """A kept file by its SHA-256, or None.

        Args:
            sha256: the digest a definition or start document names it by.
        """
        with self.engine.connect() as c:
            row = c.execute(select(files).where(files.c.sha256 == sha256)).first()
        return None if row is None else FileRecord(row.name, row.text)

    # --- samples and documents ----------------------------------------------------------
    def add_sample(
        self,
        sample_id: str,
        campaign: str,
        trial: int,
        composition: dict[str, str],
        fate: str,
        measured: list[dict[str, Any]] | None = None,
    ) -> None:
        """Record a vial: its trial, its composition (text with units), its fate, and what
        package steps measured of it (each ``step``, ``reading`` and ``value`` with units)."""
        with self.engine.begin() as c:
            c.execute(
                insert(samples).values(
                    id=sample_id,
                    campaign=campaign,
                    trial=trial,
                    composition=composition,
                    fate=fate,
                    measured=measured or [],
                )
            )

    def update_sample(self, sample_id: str, **values: Any) -> None:
        """Change a vial's columns (composition, fate, measured)."""
        with self.engine.begin() as c:
            c.execute(update(samples).where(samples.c.id == sample_id).values(**values))

    def samples(self, campaign: str) -> list[dict[str, Any]]:
        """A campaign's vials (id, trial, composition, fate, measured), in trial order.

        Args:
            campaign: the campaign's name.
        """
        query = select(samples).where(samples.c.campaign == campaign).order_by(samples.c.trial)
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query)]

    def sample_ids(self, prefix: str) -> list[str]:
        """Every sample whose id starts with ``prefix`` (a plate's wells: ``plate/``).

        Args:
            prefix: the start of the ids.
        """
        query = select(samples.c.id).where(samples.c.id.startswith(prefix, autoescape=True))
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(query)]

    def sample(self, sample_id: str) -> dict[str, Any] | None:
        """One vial's row, or None."""
        with self.engine.connect() as c:
            row = c.execute(select(samples).where(samples.c.id == sample_id)).first()
        return None if row is None else dict(row._mapping)

    def add_document(self, run_uid: str, name: str, doc: dict[str, Any]) -> None:
        """Keep one event-model document of a run, unchanged."""
        with self.engine.begin() as c:
            c.execute(insert(documents).values(run_uid=run_uid, name=name, doc=doc))

    # --- runs ------------------------------------------------------------------------
    def record(self, name: str, doc: dict[str, Any]) -> None:
        """A RunEngine subscriber: keep every document of every run, index the run, and
        link a campaign's trial to its run as soon as the run starts."""
        run_uid = doc["uid"] if name == "start" else doc.get("run_start")
        stream = doc.get("name") if name == "descriptor" else None
        if name in ("event", "event_page"):  # a descriptor's events point at the descriptor
            run_uid, stream = self._descriptor(doc.get("descriptor"))
        elif run_uid is None:
            run_uid, _ = self._descriptor(doc.get("descriptor"))
        with self.engine.begin() as c:
            c.execute(insert(documents).values(run_uid=run_uid, name=name, doc=doc, stream=stream))
            if name == "start":
                c.execute(
                    insert(runs).values(
                        uid=doc["uid"],
                        scan_id=int(doc.get("scan_id") or 0),
                        plan_name=doc.get("plan_name"),
                        started=doc["time"],
                        campaign=doc.get("campaign"),
                        trial=doc.get("trial"),
                        operator=doc.get("operator"),
                        station=doc.get("station"),
                    )
                )
                # the run of a trial, or of a plate's batch of trials
                indices = doc.get("trials") or (
                    [doc["trial"]] if doc.get("trial") is not None else []
                )
                if doc.get("campaign") is not None and indices:
                    c.execute(
                        update(trials)
                        .where((trials.c.campaign == doc["campaign"]) & trials.c.idx.in_(indices))
                        .values(run_uid=doc["uid"])
                    )
            elif name == "stop":
                c.execute(
                    update(runs)
                    .where(runs.c.uid == run_uid)
                    .values(
                        finished=doc["time"],
                        exit_status=doc.get("exit_status"),
                        reason=doc.get("reason") or None,
                    )
                )
            elif name == "descriptor":
                self._descriptors[doc["uid"]] = (run_uid, stream)

    def _descriptor(self, descriptor: str | None) -> tuple[str, str | None]:
        """The run and the stream of a descriptor, from its document."""
        if descriptor in self._descriptors:
            return self._descriptors[descriptor]
        with self.engine.connect() as c:
            row = c.execute(
                select(documents.c.run_uid, documents.c.stream).where(
                    (documents.c.name == "descriptor")
                    & (documents.c.doc["uid"].as_string() == descriptor)
                )
            ).first()
        if row is None:
            raise ValueError(f"document refers to unknown descriptor {descriptor!r}")
        found = self._descriptors[str(descriptor)] = (str(row.run_uid), row.stream)
        return found

    def last_document_id(self) -> int:
        """The newest document's row number: unchanged, nothing derived from the documents
        (a timeline, say) can have changed, whichever process records into the store."""
        with self.engine.connect() as c:
            return int(c.execute(select(func.max(documents.c.id))).scalar() or 0)

    def last_scan_id(self) -> int:
        """The highest scan id recorded, so a restarted RunEngine keeps counting."""
        with self.engine.connect() as c:
            return int(c.execute(select(func.max(runs.c.scan_id))).scalar() or 0)

    def runs(self, limit: int = 100, campaign: str | None = None) -> list[RunRecord]:
        """The latest runs (of one campaign, if named), newest first."""
        query = select(runs).order_by(runs.c.started.desc()).limit(limit)
        if campaign is not None:
            query = query.where(runs.c.campaign == campaign)
        with self.engine.connect() as c:
            return [RunRecord(**r._mapping) for r in c.execute(query)]

    def run(self, uid: str) -> RunRecord | None:
        """One run by its uid, or None."""
        with self.engine.connect() as c:
            row = c.execute(select(runs).where(runs.c.uid == uid)).first()
        return None if row is None else RunRecord(**row._mapping)

    def stream(self, campaign: str, stream: str) -> list[TrialStream]:
        """One event stream of each trial's run (once for a plate's batch), read without the runs' other documents
        (a trial's spectra are most of its bytes): the campaign's timeline at 1,000 trials
        is one query, not 1,000 reads of every document.

        Args:
            campaign: the campaign's name.
            stream: the stream's name (e.g. ``conditions``).
        """
        trial_runs = (
            select(trials.c.idx, trials.c.run_uid)
            .where((trials.c.campaign == campaign) & trials.c.run_uid.is_not(None))
            .subquery()
        )
        starts = (
            select(trial_runs.c.idx, trial_runs.c.run_uid, runs.c.station)
            .join(runs, runs.c.uid == trial_runs.c.run_uid)
            .order_by(trial_runs.c.idx)
        )
        events = (
            select(documents.c.run_uid, documents.c.doc)
            .where(documents.c.run_uid.in_(select(trial_runs.c.run_uid)))
            .where((documents.c.name == "event") & (documents.c.stream == stream))
            .order_by(documents.c.id)
        )
        with self.engine.connect() as c:
            found: dict[str, TrialStream] = {}
            for idx, uid, station in c.execute(starts):  # a plate's run: its first trial's
                found.setdefault(uid, TrialStream(idx, uid, station, []))
            for uid, doc in c.execute(events):
                found[uid].data.append(doc["data"])
        return list(found.values())

    def documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        """Every document of a run as ``(name, doc)`` pairs, in the order they were emitted."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(documents.c.name, documents.c.doc)
                .where(documents.c.run_uid == run_uid)
                .order_by(documents.c.id)
            )
            return [(r.name, r.doc) for r in rows]


@dataclass(frozen=True)
class TrialStream:
    """One event stream of a trial's run: the trial (of a plate's batch, the first), its
    run, the station it ran on, and each event's data in order."""

    trial: int
    run_uid: str
    station: str | None
    data: list[dict[str, Any]]


#: the advisory lock key of a store on a database server ("SDL" and "STORE" in ASCII)
_SERVER_CLAIM = 0x53444C_53544F5245 & 0x7FFFFFFFFFFFFFFF


def _count_change(c: Connection, campaign: str) -> None:
    """One more change to the campaign's trials (see ``campaigns.trials_version``)."""
    version = func.coalesce(campaigns.c.trials_version, 0) + 1
    c.execute(update(campaigns).where(campaigns.c.name == campaign).values(trials_version=version))


def _write_values(
    c: Connection,
    campaign: str,
    idx: int,
    kind: str,
    values: Mapping[str, pint.Quantity | float | str],
) -> None:
    rows = []
    for position, (name, value) in enumerate(values.items()):
        row = {"campaign": campaign, "trial": idx, "kind": kind, "name": name}
        if isinstance(value, str):  # a choice
            rows.append(
                row | {"magnitude": None, "unit": "", "position": position, "choice": value}
            )
            continue
        q = value if isinstance(value, pint.Quantity) else ureg.Quantity(float(value), "")
        number = {"magnitude": float(q.m), "unit": unit_name(q), "choice": None}
        rows.append(row | number | {"position": position})
    if rows:
        c.execute(insert(trial_values), rows)


def _legacy(definition: dict[str, Any]) -> bool:
    """A definition stored before files entered by content (they were absolute paths)."""
    return isinstance(definition.get("protocol"), str)


def _without_files(definition: dict[str, Any]) -> dict[str, Any]:
    objectives = [{**o, "target": None} for o in definition.get("objectives", [])]
    return {**definition, "protocol": None, "objectives": objectives}


def _mismatch(name: str, stored: dict[str, Any], definition: dict[str, Any]) -> str | None:
    if stored == definition:
        return None
    if _legacy(stored) and _without_files(stored) == _without_files(definition):
        return None  # its files were named by path: what they held then is not known
    changed = sorted(k for k in set(stored) | set(definition) if stored.get(k) != definition.get(k))
    return (
        f"the store already holds campaign {name!r} with a different definition "
        f"(changed: {', '.join(changed)}); use another --store or campaign name"
    )


def _create_tables(engine: Engine) -> None:
    """Create what is missing. Two processes opening a new store at once may both find a
    table missing; the second CREATE then fails, and a second look finds it there."""
    for attempt in range(3):
        try:
            metadata.create_all(engine)
            return
        except StoreError as err:
            if "already exists" not in err.reason or attempt == 2:
                raise


def _add_missing_columns(engine: Engine) -> None:
    """Stores written by an older version gain the (nullable) columns added since."""
    existing = inspect(engine)
    with engine.begin() as c:
        for table in metadata.sorted_tables:
            have = {col["name"] for col in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have and column.nullable:
                    kind = column.type.compile(engine.dialect)
                    c.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # the lab server and a CLI may share a store
    cursor.close()
