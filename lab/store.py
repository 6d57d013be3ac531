"""The lab store: every bluesky document, every trial and every sample, in one file.

SQLAlchemy Core over SQLite (WAL) by default, so a facility can point the same code at
PostgreSQL. The store is the source of truth: a campaign resumes from it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)

metadata = MetaData()

campaigns = Table(
    "campaigns",
    metadata,
    Column("name", String, primary_key=True),
    Column("created", Float, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("lab", JSON, nullable=False),
)

trials = Table(
    "trials",
    metadata,
    Column("campaign", String, ForeignKey("campaigns.name"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("status", String, nullable=False),  # proposed | running | completed | failed
    Column("parameters", JSON, nullable=False),  # name -> "1.5 milliliter"
    Column("planner", String, nullable=False),  # provenance: planner and generator
    Column("outcomes", JSON),
    Column("error", Text),
    Column("run_uid", String),
    Column("sample_id", String),
    Column("proposed", Float, nullable=False),
    Column("finished", Float),
)

samples = Table(
    "samples",
    metadata,
    Column("id", String, primary_key=True),
    Column("campaign", String, nullable=False),
    Column("trial", Integer, nullable=False),
    Column("composition", JSON, nullable=False),  # reagent -> "1.5 milliliter"
    Column("fate", String, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uid", String, nullable=False, index=True),
    Column("name", String, nullable=False),
    Column("doc", JSON, nullable=False),
)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a document")


@dataclass
class TrialRecord:
    campaign: str
    idx: int
    status: str
    parameters: dict[str, str]
    planner: str
    outcomes: dict[str, float] | None
    error: str | None
    run_uid: str | None
    sample_id: str | None
    proposed: float
    finished: float | None


class CampaignMismatch(Exception):
    pass


class Store:
    def __init__(self, url_or_path: str | Path) -> None:
        url = str(url_or_path)
        if "://" not in url:
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{url}"
        self.url = url
        self.engine: Engine = create_engine(
            url, json_serializer=lambda o: json.dumps(o, default=_jsonable)
        )
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- campaigns -------------------------------------------------------------------
    def open_campaign(self, name: str, definition: dict[str, Any], lab: dict[str, Any]) -> bool:
        """Create the campaign, or check the stored one is the same; True if it existed."""
        with self.engine.begin() as c:
            row = c.execute(select(campaigns).where(campaigns.c.name == name)).first()
            if row is None:
                c.execute(
                    insert(campaigns).values(
                        name=name, created=time.time(), definition=definition, lab=lab
                    )
                )
                return False
        if row.definition != definition:
            changed = sorted(
                k
                for k in set(row.definition) | set(definition)
                if row.definition.get(k) != definition.get(k)
            )
            raise CampaignMismatch(
                f"the store already holds campaign {name!r} with a different definition "
                f"(changed: {', '.join(changed)}); use another --store or campaign name"
            )
        return True

    def campaign_names(self) -> list[str]:
        with self.engine.connect() as c:
            return [
                r.name for r in c.execute(select(campaigns.c.name).order_by(campaigns.c.created))
            ]

    def campaign(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(select(campaigns).where(campaigns.c.name == name)).first()
        return None if row is None else dict(row._mapping)

    # --- trials ----------------------------------------------------------------------
    def add_trial(self, campaign: str, idx: int, parameters: dict[str, str], planner: str) -> None:
        with self.engine.begin() as c:
            c.execute(
                insert(trials).values(
                    campaign=campaign,
                    idx=idx,
                    status="proposed",
                    parameters=parameters,
                    planner=planner,
                    proposed=time.time(),
                )
            )

    def update_trial(self, campaign: str, idx: int, **values: Any) -> None:
        if values.get("status") in ("completed", "failed"):
            values.setdefault("finished", time.time())
        with self.engine.begin() as c:
            c.execute(
                update(trials)
                .where((trials.c.campaign == campaign) & (trials.c.idx == idx))
                .values(**values)
            )

    def trials(self, campaign: str) -> list[TrialRecord]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(trials).where(trials.c.campaign == campaign).order_by(trials.c.idx)
            )
            return [TrialRecord(**r._mapping) for r in rows]

    # --- samples and documents ----------------------------------------------------------
    def add_sample(
        self, sample_id: str, campaign: str, trial: int, composition: dict[str, str], fate: str
    ) -> None:
        with self.engine.begin() as c:
            c.execute(
                insert(samples).values(
                    id=sample_id, campaign=campaign, trial=trial, composition=composition, fate=fate
                )
            )

    def sample(self, sample_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(select(samples).where(samples.c.id == sample_id)).first()
        return None if row is None else dict(row._mapping)

    def add_document(self, run_uid: str, name: str, doc: dict[str, Any]) -> None:
        with self.engine.begin() as c:
            c.execute(insert(documents).values(run_uid=run_uid, name=name, doc=doc))

    def documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(documents.c.name, documents.c.doc)
                .where(documents.c.run_uid == run_uid)
                .order_by(documents.c.id)
            )
            return [(r.name, r.doc) for r in rows]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
