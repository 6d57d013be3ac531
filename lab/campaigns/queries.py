"""What the dashboard's pages read of the campaigns: the overview, one campaign with its
trials and best, the stations' activity, the timeline and the spectra. Each answer is read
from the store, and read again only when what it shows has changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.campaigns.folder import CampaignFolder
from lab.campaigns.sessions import CampaignSession
from lab.data import trial_json
from lab.errors import NotFound
from lab.files.campaign_file import read_target
from lab.records.best import best_trials
from lab.records.measurement import Spectrometers, measurement_from_documents, well_of
from lab.records.time_use import account
from lab.records.timeline import Span, campaign_spans, end_to_end, station_activity
from lab.store import Store, TrialRecord, TrialStatus


class CampaignQueries:
    """Answers the pages' questions about campaigns.

    Args:
        store: the lab's store.
        folder: the campaign files operators may start.
        sessions: campaign name -> its latest start in this process (the manager's).
        spectrometer: the device whose readings are a run's spectrum.
        lanes: the executor's lanes (the stations, or workcells), as they are now.
        active: the campaign holding the devices, if any.
    """

    def __init__(
        self,
        store: Store,
        folder: CampaignFolder,
        sessions: Mapping[str, CampaignSession],
        spectrometer: Spectrometers,
        lanes: Callable[[], Sequence[str]],
        active: Callable[[], CampaignSession | None],
    ) -> None:
        self.store = store
        self.folder = folder
        self.sessions = sessions
        self.spectrometer = spectrometer
        self._lanes = lanes
        self._active = active
        #: campaign -> (its trials' version when read, their counts, their JSON and best)
        self._details: dict[str, tuple[Any, dict[str, int], dict[str, Any]]] = {}
        #: campaign -> (the newest document when it was read, its timeline)
        self._timelines: dict[str, tuple[int, list[Span]]] = {}

    def overview(self) -> list[dict[str, Any]]:
        """Every campaign there is a file or a record of, with its latest session."""
        files = self.folder.entries()  # one look at the folder for the whole overview
        names = list(files) + [n for n in self.store.campaign_names() if n not in files]
        return [self._entry(name, self.store.trial_counts(name), files) for name in names]

    def _entry(
        self,
        name: str,
        counts: dict[str, int],
        files: dict[str, tuple[Path, dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """One campaign as the overview shows it, from its trials' counts by status (and
        the folder's entries, if already read)."""
        path, summary = (files if files is not None else self.folder.entries()).get(
            name, (None, {})
        )
        session = self.sessions.get(name)
        return {
            "name": name,
            "file": str(path) if path else None,
            "trials": sum(counts.values()),
            "completed": counts.get(TrialStatus.COMPLETED, 0),
            "failed": counts.get(TrialStatus.FAILED, 0),
            "session": session.as_json() if session else None,
            **summary,
        }

    def detail(self, name: str) -> dict[str, Any]:
        """One campaign: its overview entry, every trial, and the trials its planner holds
        best. Its trials are read again only when they have changed since the last time
        (the store counts every change), so a page that polls a campaign of 1,000 trials
        costs the count.

        Args:
            name: the campaign's name.
        """
        info = self.store.campaign(name)
        version = None if info is None else (info["trials_version"], repr(info.get("best")))
        cached = self._details.get(name)
        if cached is None or version is None or cached[0] != version:
            records = self.trials(name)
            counts: dict[str, int] = {}
            for record in records:
                counts[record.status] = counts.get(record.status, 0) + 1
            cached = (
                version,
                counts,
                {**self.best(name, records), "trial_list": [trial_json(r) for r in records]},
            )
            self._details[name] = cached
        _, counts, trials = cached
        return {**self._entry(name, counts), **trials}

    def _known(self, name: str) -> None:
        if name not in self.folder.files() and self.store.campaign(name) is None:
            raise NotFound(f"no campaign {name!r}")

    def trials(self, name: str) -> list[TrialRecord]:
        """A campaign's trials as the API shows them.

        Args:
            name: the campaign's name.
        """
        self._known(name)
        return self.store.trials(name)

    def best(self, name: str, records: list[TrialRecord] | None = None) -> dict[str, Any]:
        """The trials the planner holds best (its Pareto front, for several objectives),
        the rule that chose them ("model" or "observed"), as recorded while it ran, and
        the objectives that are maximised (the others are minimised).

        Args:
            name: the campaign's name.
            records: its trials, if already read.
        """
        info = self.store.campaign(name)
        if info is None:
            return {"best_trials": [], "best_rule": None, "maximised": []}
        if records is None:
            records = self.trials(name)
        chosen, rule = best_trials(records, info["definition"], info.get("best"))
        objectives = info["definition"].get("objectives", [])
        maximised = [o["name"] for o in objectives if o.get("minimize") is False]
        return {"best_trials": [r.idx for r in chosen], "best_rule": rule, "maximised": maximised}

    def stations(self) -> dict[str, Any]:
        """Each synthesis station's trial in progress and the trials waiting for one
        (see :func:`lab.records.timeline.station_activity`)."""
        session = self._active()
        return station_activity(self.store, session.name if session else None, list(self._lanes()))

    def timeline(self, name: str) -> list[Span]:
        """Every step of the campaign's trials: device, trial, station and lab times, the
        campaign's sessions one after another (:func:`lab.records.timeline.end_to_end`).

        Args:
            name: the campaign's name.
        """
        self._known(name)
        newest = self.store.last_document_id()
        cached = self._timelines.get(name)
        if cached is None or cached[0] != newest:
            cached = self._timelines[name] = (newest, end_to_end(campaign_spans(self.store, name)))
        return cached[1]

    def time_use(self, name: str) -> dict[str, Any]:
        """Where the campaign's lab time went (see :mod:`lab.records.time_use`).

        Args:
            name: the campaign's name.
        """
        return account(self.timeline(name)).as_json()

    def target(self, name: str) -> dict[str, list[float]] | None:
        """The target spectrum of a campaign with a spectral objective.

        Args:
            name: the campaign's name.
        """
        config, _, _ = self.folder.load(name)
        spectral = next((o for o in config.objectives if o.kind == "spectral_distance"), None)
        if spectral is None or spectral.target is None:
            return None
        wl, a = read_target(spectral.target)
        return {"wavelength_nm": wl.tolist(), "absorbance": a.tolist()}

    def spectrum(self, run_uid: str, sample: str | None = None) -> dict[str, Any]:
        """The measured spectrum of one run, for the dashboard's plot; ValueError if the
        run took none (an analyser's run).

        Args:
            run_uid: the run's uid.
            sample: the trial's sample (a plate's run holds each well's spectrum).
        """
        docs = self.store.documents(run_uid)
        m = measurement_from_documents(docs, self.spectrometer, {}, well_of(sample))
        wavelengths, absorbance = m.spectrum()  # ValueError: the run took no spectrum
        return {
            "run_uid": run_uid,
            "wavelength_nm": wavelengths.tolist(),
            "absorbance": absorbance.tolist(),
        }
