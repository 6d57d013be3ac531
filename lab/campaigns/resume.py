"""A campaign picked up where the store left it: the session opened with its provenance,
and every stored trial told to a fresh planner, so a campaign resumes after any stop
without repeating or losing a trial."""

from __future__ import annotations

from typing import Any, Protocol

from lab.campaigns.measuring import Measuring, magnitudes
from lab.campaigns.samples import CampaignSamples
from lab.files.campaign_file import CampaignConfig
from lab.files.lab_file import LabConfig
from lab.files.provenance import FileRecord, canonical_sha256, diagnosis_summary, software
from lab.store import Store, TrialRecord, TrialStatus
from planners import Planner, PlannerError, Suggestion
from protocols import Protocol as LabProtocol


class Identified(Protocol):
    """What the lab tells of its instruments and its file."""

    config: LabConfig

    def identities(self) -> dict[str, dict[str, str]]:
        """What each instrument says it is, by device name."""
        ...


def session_provenance(
    store: Store, campaign: CampaignConfig, lab: Identified, definition: dict[str, Any]
) -> dict[str, Any]:
    """What every run of a session carries in its start document: the campaign's identity,
    its files by name and SHA-256 (their texts go into the store), each instrument's
    identity with its latest diagnosis, and the software.

    Args:
        store: where the files' texts are kept.
        campaign: the campaign file.
        lab: the lab, asked what its instruments are.
        definition: the campaign's definition (see :func:`~lab.campaigns.planning.campaign_definition`).
    """
    files: dict[str, FileRecord] = {**campaign.files(), "lab": lab.config.file()}
    for record in files.values():
        store.keep_file(record)
    latest = store.diagnoses.latest()
    devices = {
        name: {**identity, "diagnosis": diagnosis_summary(latest.get(name, []))}
        for name, identity in lab.identities().items()
    }
    return {
        "campaign_identity": canonical_sha256(definition),
        "files": {key: record.ref() for key, record in files.items()},
        "devices": devices,
        "software": software(),
    }


class Resume:
    """Replays a campaign's stored trials into its planner.

    Args:
        store: where the trials are.
        campaign: the campaign's name.
        planner: a fresh planner, told every stored trial.
        measuring: reads a stored run's measurement back.
        samples: the campaign's ledger, told of a trial completed while the lab was down.
        protocol: the campaign's protocol template.
    """

    def __init__(
        self,
        store: Store,
        campaign: str,
        planner: Planner,
        measuring: Measuring,
        samples: CampaignSamples,
        protocol: LabProtocol,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.planner = planner
        self.measuring = measuring
        self.samples = samples
        self.protocol = protocol

    def replay(self) -> list[Suggestion]:
        """Replay the stored trials into the planner; returns the trials to run now.

        A trial that never started a run is run now, under its own number; one cut off
        mid-run is failed, not repeated (its vial may hold reagent already); an undecided
        proposal is rejected."""
        queued = []
        for r in self.store.trials(self.campaign):
            unfinished = r.status in (TrialStatus.PROPOSED, TrialStatus.RUNNING)
            if unfinished and r.run_uid is None:
                again = self.planner.attach(r.parameters, r.planner.split("/", 1)[-1])
                _same_index(again.index, r)
                queued.append(again)  # nothing ran: nothing can be done twice
                continue
            if unfinished:
                self._settle_interrupted(r)
            elif r.status == TrialStatus.AWAITING_APPROVAL:
                r.status, r.error = TrialStatus.REJECTED, "not decided before the lab stopped"
                self.store.update_trial(self.campaign, r.idx, status=r.status, error=r.error)
            completed = r.status == TrialStatus.COMPLETED
            wanted = completed and self.planner.wants_measurements
            index = self.planner.replay(
                r.parameters,
                r.outcomes if completed else None,
                r.error or "",
                abandoned=r.status == TrialStatus.REJECTED,
                measurement=self.measuring.of_trial(r) if wanted else None,
            )
            _same_index(index, r)
        return queued

    def _settle_interrupted(self, r: TrialRecord) -> None:
        """A trial whose run the last process left unfinished: completed if its
        measurement reached the store (a measurement is never thrown away), failed
        otherwise (never repeated)."""
        assert r.run_uid is not None
        interrupted = f"interrupted while {r.status}; not repeated"
        r.status, r.error = TrialStatus.FAILED, interrupted
        try:
            _, outcomes = self.measuring.measure(r.run_uid, r.parameters)
        except ValueError as err:
            if "no measurement" not in str(err):
                r.error = f"{interrupted}; objective: {err}"
            self.store.update_trial(self.campaign, r.idx, status=r.status, error=r.error)
            return
        r.status, r.error, r.outcomes = TrialStatus.COMPLETED, None, magnitudes(outcomes)
        self.store.update_trial(
            self.campaign, r.idx, outcomes=outcomes, status=r.status, error=None
        )
        documents = self.store.documents(r.run_uid)
        self.samples.record(r.idx, documents, self.protocol.fill(r.parameters))


def _same_index(index: int, r: TrialRecord) -> None:
    if index != r.idx:
        raise PlannerError(f"replay gave trial {index}, the store holds {r.idx}")
