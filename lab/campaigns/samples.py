"""The campaign's side of the sample ledger: each trial's vial with what the station
confirmed it received, and the vials a fault left behind once they are cleared."""

from __future__ import annotations

from typing import Any

from devices import format_quantity
from lab.files.lab_file import LabConfig
from lab.records.ledger import confirmed_composition, measured_by_steps, vials_handled
from lab.store import Store
from protocols import Protocol as LabProtocol

Documents = list[tuple[str, dict[str, Any]]]


class CampaignSamples:
    """Writes a campaign's vials into the store's ledger.

    Args:
        store: where the ledger is kept.
        campaign: the campaign's name.
        config: the lab file (which arm moves vials, which pumps each station has).
    """

    def __init__(self, store: Store, campaign: str, config: LabConfig) -> None:
        self.store = store
        self.campaign = campaign
        self.config = config

    def vials_handled(self, documents: Documents) -> list[str]:
        """The vials a run's arm moved, in the order it moved them."""
        return vials_handled(documents, [name for name, _ in self.config.arms])

    def record(
        self, index: int, documents: Documents, protocol: LabProtocol, fate: str = "waste"
    ) -> None:
        """The trial's vial into the ledger, with what the station confirmed it received
        and what package steps measured of it.

        Args:
            index: the trial's number.
            documents: its run's documents.
            protocol: its protocol, as it ran.
            fate: where the vial went.
        """
        vial = next(iter(self.vials_handled(documents)), None)
        if vial is None:
            return
        start = next(doc for name, doc in documents if name == "start")
        station = start.get("station") or self.config.stations[0][0]
        pumps = self.config.devices[station].pumps  # type: ignore[union-attr]
        composition = confirmed_composition(documents, protocol, station, pumps)
        if self.store.sample(vial) is None:
            contents = {k: format_quantity(v) for k, v in composition.items()}
            measured = measured_by_steps(documents)
            self.store.add_sample(vial, self.campaign, index, contents, fate, measured)
        self.store.update_trial(self.campaign, index, sample_id=vial)

    def cleared(self, vial: str) -> None:
        """A vial a fault left behind went to the waste; one the ledger never saw is added,
        with the trial whose run last moved it."""
        fate = "waste: cleared after a fault"
        if self.store.sample(vial) is not None:
            self.store.update_sample(vial, fate=fate)
            return
        trial = next(
            (
                r.idx
                for r in reversed(self.store.trials(self.campaign))
                if r.run_uid and vial in self.vials_handled(self.store.documents(r.run_uid))
            ),
            -1,
        )
        self.store.add_sample(vial, self.campaign, trial, {}, f"{fate} (contents not recorded)")
