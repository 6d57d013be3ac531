"""Bring a store written by an older version up to the present schema, in place."""

from __future__ import annotations

import json
from typing import Any

import pint
from sqlalchemy import Engine, bindparam, insert, inspect, select, text, update

from devices import parse_quantity
from lab.store._schema import campaigns, documents, runs, trial_values, unit_name

ureg = pint.get_application_registry()

#: the unit an outcome of each objective kind was told to the planner in, before stores
#: kept units (a measured field without a unit is left as a pure number: it was one)
_LEGACY_UNITS = {"total_volume": "milliliter"}


def migrate(engine: Engine) -> None:
    """Every step whose old form the store still has; each is one transaction."""
    if "parameters" in {c["name"] for c in inspect(engine).get_columns("trials")}:
        _trial_values_from_json(engine)
    _streams_and_stations(engine)
    _sample_measurements(engine)
    _choices(engine)


def _choices(engine: Engine) -> None:
    """Parameters may name a choice (a catalyst); an older store's values gain the column,
    empty (its parameters were all numbers)."""
    if "choice" in {c["name"] for c in inspect(engine).get_columns("trial_values")}:
        return
    with engine.begin() as c:
        c.execute(text("ALTER TABLE trial_values ADD COLUMN choice VARCHAR"))


def _sample_measurements(engine: Engine) -> None:
    """Samples keep what package steps measured of them (a weighing); an older store's
    samples table gains the column, empty."""
    if "measured" in {c["name"] for c in inspect(engine).get_columns("samples")}:
        return
    with engine.begin() as c:
        c.execute(text("ALTER TABLE samples ADD COLUMN measured JSON"))


def _streams_and_stations(engine: Engine) -> None:
    """Documents name their stream (descriptors and their events) and runs their station,
    so that one stream is read without the others; older stores learn them from their
    documents, once."""
    with engine.begin() as c:
        unnamed = select(documents.c.id, documents.c.doc).where(
            (documents.c.name == "descriptor") & documents.c.stream.is_(None)
        )
        found = c.execute(unnamed).all()
        if not found:
            return
        streams = {row.doc["uid"]: row.doc.get("name") for row in found}
        c.execute(
            update(documents)
            .where(documents.c.id == bindparam("row"))
            .values(stream=bindparam("s")),
            [{"row": row.id, "s": row.doc.get("name")} for row in found],
        )
        events = c.execute(
            select(documents.c.id, documents.c.doc).where(
                (documents.c.name == "event") & documents.c.stream.is_(None)
            )
        ).all()
        named = [
            {"row": row.id, "s": streams[row.doc.get("descriptor")]}
            for row in events
            if row.doc.get("descriptor") in streams
        ]
        if named:
            c.execute(
                update(documents)
                .where(documents.c.id == bindparam("row"))
                .values(stream=bindparam("s")),
                named,
            )
        starts = c.execute(
            select(documents.c.run_uid, documents.c.doc).where(documents.c.name == "start")
        ).all()
        stations = [
            {"run": row.run_uid, "s": row.doc["station"]}
            for row in starts
            if row.doc.get("station")
        ]
        if stations:
            c.execute(
                update(runs).where(runs.c.uid == bindparam("run")).values(station=bindparam("s")),
                stations,
            )


def _trial_values_from_json(engine: Engine) -> None:
    """Parameters and outcomes were JSON (``"1.5 milliliter"``, bare numbers); now each is
    a row of ``trial_values`` with its magnitude and unit."""
    with engine.begin() as c:
        units = {
            row.name: _outcome_units(_loaded(row.definition))
            for row in c.execute(select(campaigns.c.name, campaigns.c.definition))
        }
        rows = []
        legacy = c.execute(text("SELECT campaign, idx, parameters, outcomes FROM trials"))
        for campaign, idx, parameters, outcomes in legacy:
            key = {"campaign": campaign, "trial": idx}
            for i, (name, value) in enumerate((_loaded(parameters) or {}).items()):
                q = _written(value)
                number = _number(q.m, unit_name(q), i)
                rows.append(key | {"kind": "parameter", "name": name} | number)
            for i, (name, value) in enumerate((_loaded(outcomes) or {}).items()):
                number = _number(value, units.get(campaign, {}).get(name, ""), i)
                rows.append(key | {"kind": "outcome", "name": name} | number)
        if rows:
            c.execute(insert(trial_values), rows)
        c.execute(text('ALTER TABLE trials DROP COLUMN "parameters"'))
        c.execute(text('ALTER TABLE trials DROP COLUMN "outcomes"'))


def _written(text: str) -> pint.Quantity:
    """What ``devices.format_quantity`` wrote (``"1.5 milliliter"``, ``"nan milliliter"``)."""
    number, _, unit = text.partition(" ")
    return ureg.Quantity(float(number), unit)


def _number(magnitude: float, unit: str, position: int) -> dict[str, Any]:
    return {"magnitude": float(magnitude), "unit": unit, "position": position}


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _outcome_units(definition: dict[str, Any]) -> dict[str, str]:
    found = {}
    for objective in [
        *definition.get("objectives", []),
        *definition.get("outcome_constraints", []),
    ]:
        kind = objective.get("kind")
        unit = objective.get("unit") if kind == "measured" else _LEGACY_UNITS.get(kind)
        if unit:
            found[objective["name"]] = str(parse_quantity(f"1 {unit}").units)
    return found
