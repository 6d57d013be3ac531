"""A lab's record as pandas DataFrames, from its store or from an exported bundle::

    from lab.data import open_data
    with open_data("runs/colour-match/store.sqlite") as data:   # or a bundle folder or .zip
        trials = data.trials("colour-match")
        trials.attrs["units"]            # {"cyan [mL]": "milliliter", ...}
        wl, absorbance = data.spectrum(trials.run_uid[0])

Numbers with units sit in columns named with the unit (``cyan [mL]``, ``yield [%]``); a
pure number's column has none. ``DataFrame.attrs["units"]`` gives each such column's
unit by pint's full name, so ``ureg.Quantity(df[col].to_numpy(), units[col])`` restores
quantities. See docs/data.md.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pint

from devices import parse_quantity, unit_symbol
from lab.store import Store, TrialRecord
from lab.values import format_value

ureg = pint.get_application_registry()

#: a bundle's copy of the store, beside the files other tools read (see lab.outputs.bundle)
BUNDLE_STORE = "store.sqlite"


def column_name(name: str, units: Any) -> str:
    """``name [unit]`` with the unit's symbol (``cyan [mL]``), or just ``name`` for a pure number.

    Args:
        name: the parameter or outcome.
        units: its unit (a pint unit).
    """
    return name if units == ureg.dimensionless else f"{name} [{unit_symbol(units)}]"


def trial_row(t: TrialRecord) -> dict[str, Any]:
    """A trial as one table row: ``trial``, ``status``, each parameter and outcome as a
    number in a column named with its unit (a choice: its name, in a column named for
    the parameter), ``error``, ``planner``, ``generator``, ``run_uid`` and ``sample``.

    Args:
        t: the trial as stored.
    """
    row: dict[str, Any] = {"trial": t.idx, "status": t.status}
    for name, q in [*t.parameters.items(), *t.outcome_quantities().items()]:
        if isinstance(q, str):
            row[name] = q
        else:
            row[column_name(name, q.units)] = float(q.m)
    planner, _, generator = t.planner.partition("/")
    row.update(
        error=t.error, planner=planner, generator=generator, run_uid=t.run_uid, sample=t.sample_id
    )
    return row


def trial_json(record: TrialRecord) -> dict[str, Any]:
    """A trial as JSON, as the API, the dashboard and ``lab campaign show --json`` give it:
    parameters as text with units, outcomes as numbers with ``outcome_units``.

    Args:
        record: the trial as stored.
    """
    return {
        "campaign": record.campaign,
        "trial": record.idx,
        "status": record.status,
        "parameters": {k: format_value(v) for k, v in record.parameters.items()},
        "outcomes": record.outcomes,
        "outcome_units": record.outcome_units,
        "error": record.error,
        "planner": record.planner,
        "run_uid": record.run_uid,
        "sample_id": record.sample_id,
        "proposed": record.proposed,
        "finished": record.finished,
        "decided_by": record.decided_by,
        "session": record.session,
        "suggestion": record.suggestion,
    }


def _units(records: list[TrialRecord]) -> dict[str, str]:
    found = {}
    for t in records:
        for name, q in [*t.parameters.items(), *t.outcome_quantities().items()]:
            if isinstance(q, pint.Quantity) and q.units != ureg.dimensionless:
                found[column_name(name, q.units)] = str(q.units)
    return found


class LabData:
    """Read-only views of a store: trials, samples and runs as DataFrames, a run's
    documents and spectrum. Open it with :func:`open_data`.

    Args:
        store: the store to read.
        cleanup: a folder to remove on :meth:`close` (an unpacked bundle).
    """

    def __init__(self, store: Store, cleanup: Path | None = None) -> None:
        self.store = store
        self._cleanup = cleanup

    def campaigns(self) -> list[str]:
        """The campaigns' names, oldest first."""
        return self.store.campaign_names()

    def _campaign(self, campaign: str | None) -> str:
        names = self.campaigns()
        if campaign is None and len(names) == 1:
            return names[0]
        if campaign not in names:
            raise KeyError(f"no campaign {campaign!r} here; there are {names}")
        return campaign

    def trials(self, campaign: str | None = None) -> Any:
        """One row a trial (see :func:`trial_row`), units in ``attrs["units"]``.

        Args:
            campaign: its name; may be left out when there is only one.
        """
        import pandas as pd

        records = self.store.trials(self._campaign(campaign))
        frame = pd.DataFrame([trial_row(t) for t in records])
        chosen = {k for t in records for k, v in t.parameters.items() if isinstance(v, str)}
        for name in chosen:  # a choice is a category (so Parquet keeps it as one)
            frame[name] = frame[name].astype("category")
        frame.attrs["units"] = _units(records)
        return frame

    def samples(self, campaign: str | None = None) -> Any:
        """One row a vial: ``sample``, ``trial``, ``fate``, each reagent's volume in a
        column named with its unit, and what package steps measured of it
        (``balance-mass (step 5) [g]``, steps counted from 0).

        Args:
            campaign: its name; may be left out when there is only one.
        """
        import pandas as pd

        rows, units = [], {}
        for s in self.store.samples(self._campaign(campaign)):
            row: dict[str, Any] = {"sample": s["id"], "trial": s["trial"], "fate": s["fate"]}
            for reagent, text in s["composition"].items():
                q = parse_quantity(text)
                row[column_name(reagent, q.units)] = float(q.m)
                units[column_name(reagent, q.units)] = str(q.units)
            for taken in s.get("measured") or []:
                q = parse_quantity(taken["value"])
                column = column_name(f"{taken['reading']} (step {taken['step']})", q.units)
                row[column], units[column] = float(q.m), str(q.units)
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.attrs["units"] = units
        return frame

    def runs(self, campaign: str | None = None) -> Any:
        """One row a bluesky run (of one campaign, if named), oldest first: ``uid``,
        ``scan_id``, ``plan_name``, ``started``, ``finished``, ``exit_status``, ``reason``,
        ``campaign``, ``trial``, ``operator``.

        Args:
            campaign: only this campaign's runs; every run if None.
        """
        import pandas as pd

        found = self.store.runs(limit=1_000_000, campaign=campaign)
        return pd.DataFrame([vars(r) for r in reversed(found)])

    def documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        """A run's event-model documents as ``(name, doc)`` pairs, in order.

        Args:
            run_uid: the run's uid.
        """
        return self.store.documents(run_uid)

    def spectrum(self, run_uid: str) -> tuple[np.ndarray, np.ndarray]:
        """The last spectrum a run measured: wavelengths (nm) and absorbance.

        Args:
            run_uid: the run's uid.

        Raises:
            KeyError: the run measured no spectrum (an analyser's run, a failed one).
        """
        docs = self.documents(run_uid)
        primary = {d["uid"]: d for n, d in docs if n == "descriptor" and d["name"] == "primary"}
        for name, doc in reversed(docs):
            if name != "event" or doc["descriptor"] not in primary:
                continue
            for device, config in primary[doc["descriptor"]]["configuration"].items():
                key = f"{device}-wavelengths"
                if key in config["data"] and f"{device}-absorbance" in doc["data"]:
                    return (
                        np.asarray(config["data"][key], dtype=float),
                        np.asarray(doc["data"][f"{device}-absorbance"], dtype=float),
                    )
        raise KeyError(f"run {run_uid} measured no spectrum")

    def close(self) -> None:
        """Close the store (and remove an unpacked bundle's copy)."""
        self.store.close()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)

    def __enter__(self) -> LabData:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_data(path: str | Path) -> LabData:
    """A store file, or a bundle written by ``lab campaign export`` (a folder or a zip).

    Args:
        path: the store (``.sqlite``), the bundle's folder, or its ``.zip``.

    Raises:
        FileNotFoundError: nothing there, or a folder or zip that is no bundle.
    """
    path = Path(path)
    if path.is_dir() or zipfile.is_zipfile(path):
        return _open_bundle(path)
    if not path.is_file():
        raise FileNotFoundError(f"no store or bundle at {path}")
    return LabData(Store(path))


def _open_bundle(path: Path) -> LabData:
    """A copy of the bundle's store, so that reading it cannot change the bundle."""
    scratch = Path(tempfile.mkdtemp(prefix="sdl-bundle-"))
    try:
        if path.is_dir():
            if not (path / BUNDLE_STORE).is_file():
                raise FileNotFoundError(f"{path} is no bundle: it has no {BUNDLE_STORE}")
            shutil.copyfile(path / BUNDLE_STORE, scratch / BUNDLE_STORE)
        else:
            with zipfile.ZipFile(path) as z:
                inner = next((n for n in z.namelist() if Path(n).name == BUNDLE_STORE), None)
                if inner is None:
                    raise FileNotFoundError(f"{path} is no bundle: it has no {BUNDLE_STORE}")
                (scratch / BUNDLE_STORE).write_bytes(z.read(inner))
        return LabData(Store(scratch / BUNDLE_STORE), cleanup=scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
