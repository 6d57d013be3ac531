"""A facility's store: a campaign run, resumed, shown and exported with its store on a
PostgreSQL server (a throwaway one, started by the tests), through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import Store
from lab.store import StoreInUse
from tests.postgres import ThrowawayPostgres
from tests.system.lab_process import lab_command

pytestmark = pytest.mark.system


def test_a_campaign_runs_resumes_and_exports_on_postgresql(
    example_dir: Path, tmp_path: Path, postgres: ThrowawayPostgres
):
    url = postgres.database()
    campaign = example_dir / "campaign.yaml"
    first = lab_command("campaign", "run", campaign, "--trials", "2", "--store", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"store: {url}" in first.stdout
    # plots go where a store file would have put them: runs/<campaign>/
    assert (tmp_path / "runs" / "colour-match" / "colour-match-best_so_far.png").is_file()

    again = lab_command("campaign", "run", campaign, "--trials", "3", "--store", url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    db = Store(url)
    try:
        trials = db.trials("colour-match")
        assert [t.status for t in trials] == ["completed"] * 3
        assert [t.session for t in trials] == [1, 1, 2]  # the second command resumed
        names = [n for n, _ in db.documents(trials[-1].run_uid)]
        assert names[0] == "start" and names[-1] == "stop" and "event" in names
        assert db.sample(trials[-1].sample_id)["trial"] == 2
    finally:
        db.close()

    shown = lab_command("campaign", "show", url, "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert [t["status"] for t in json.loads(shown.stdout)["trials"]] == ["completed"] * 3

    bundle = tmp_path / "bundle"
    exported = lab_command("campaign", "export", url, "colour-match", bundle, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    verified = lab_command("campaign", "verify", bundle, "--json", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert (report["ok"], report["measurements"], report["complete"]) == (True, 3, 3)


def test_a_server_that_refuses_is_named_without_its_password(
    tmp_path: Path, postgres: ThrowawayPostgres
):
    url = postgres.url("no_such_db").replace("postgres@", "postgres:s3cret@")
    shown = lab_command("campaign", "show", url, cwd=tmp_path)
    assert shown.returncode == 2
    assert "cannot open the store" in shown.stderr and "no_such_db" in shown.stderr
    assert "s3cret" not in shown.stderr + shown.stdout


def test_a_store_on_a_server_is_claimed_by_one_process_at_a_time(postgres: ThrowawayPostgres):
    """Two campaign runners on one database server's store once both ran (trials ran twice)."""
    url = postgres.database()
    first, second = Store(url), Store(url)
    try:
        first.claim()
        with pytest.raises(StoreInUse) as refused:
            second.claim()
        assert "is in use by another process" in str(refused.value)
        assert "postgres:" not in str(refused.value) or "***" in str(refused.value)
        first.close()  # the server drops the claim with the session
        second.claim()
    finally:
        first.close()
        second.close()
