"""One error root for the lab: every error it raises for a person to read is a
``LabError`` carrying the HTTP status the server answers it with."""

from __future__ import annotations

import pytest

from lab.accounts.users import UserError
from lab.campaigns.approvals import InvalidEdit, UnknownProposal
from lab.errors import ConfigError, Conflict, LabError, NotFound
from lab.runtime.emergency_stop import ResetError
from lab.server import SecretError
from lab.store import CampaignMismatch, StoreInUse
from lab.workcells import WorkcellError


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (NotFound, 404),
        (UnknownProposal, 404),
        (Conflict, 409),
        (ResetError, 409),
        (CampaignMismatch, 409),
        (StoreInUse, 409),
        (ConfigError, 422),
        (InvalidEdit, 422),
        (UserError, 422),
        (WorkcellError, 502),
        (SecretError, 500),
    ],
)
def test_every_lab_error_has_one_root_and_its_status(kind: type[LabError], status: int) -> None:
    assert issubclass(kind, LabError) and kind.status == status
