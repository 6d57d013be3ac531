"""Diagnostic results kept over time, so staff see a device drift before it fails."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, insert, select

from lab.store._schema import diagnoses

#: the columns a result carries (what ``hw_tests.CheckResult.as_dict`` gives)
FIELDS = ("device", "check", "status", "value", "magnitude", "unit", "warn", "fail", "hint")


class DiagnosisLog:
    """Appends each diagnosis's results; reads a device's history and the latest of each."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, lab: str, session: float, results: Iterable[dict[str, Any]]) -> None:
        """Keep one diagnosis's results (dicts of :class:`hw_tests.CheckResult` fields) under its start time."""
        rows = [
            {"lab": lab, "session": session, "detail": r.get("detail"), "time": r["time"]}
            | {k: r.get(k) for k in FIELDS}
            for r in results
        ]
        if rows:
            with self._engine.begin() as c:
                c.execute(insert(diagnoses), rows)

    def history(self, device: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The device's results, oldest first (the last ``limit``)."""
        query = (
            select(diagnoses)
            .where(diagnoses.c.device == device)
            .order_by(diagnoses.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as c:
            return [dict(r._mapping) for r in reversed(c.execute(query).all())]

    def latest(self) -> dict[str, list[dict[str, Any]]]:
        """Each device's results from its most recent diagnosis."""
        last = (
            select(diagnoses.c.device, func.max(diagnoses.c.session).label("session"))
            .group_by(diagnoses.c.device)
            .subquery()
        )
        query = (
            select(diagnoses)
            .join(
                last,
                (diagnoses.c.device == last.c.device) & (diagnoses.c.session == last.c.session),
            )
            .order_by(diagnoses.c.id)
        )
        out: dict[str, list[dict[str, Any]]] = {}
        with self._engine.connect() as c:
            for r in c.execute(query):
                out.setdefault(r.device, []).append(dict(r._mapping))
        return out
