"""Users, sessions and the audit log in a real store: a SQLite file and a PostgreSQL
database."""

from __future__ import annotations

import time

import pytest
import sqlalchemy

from lab.accounts.users import UserError, add_user, authenticate, remove_user, set_password
from lab.store import Store, StoreError, is_database_url


@pytest.fixture
def store(store_url: str):
    db = Store(store_url)
    yield db
    db.close()


def test_the_audit_log_cannot_be_rewritten(store: Store):
    store.audit.append("campaign start", "ok", user="ann", target="colour-match")
    store.audit.append("reset", "refused (403): needs role staff", user="bob")
    for sql in ("UPDATE audit SET outcome = 'ok'", "DELETE FROM audit"):
        with pytest.raises(StoreError, match="append-only"), store.engine.begin() as c:
            c.execute(sqlalchemy.text(sql))
    entries = store.audit.entries()
    assert [(e.user, e.action, e.outcome) for e in entries] == [
        ("bob", "reset", "refused (403): needs role staff"),
        ("ann", "campaign start", "ok"),
    ]
    assert [e.action for e in store.audit.entries(before=entries[0].id)] == ["campaign start"]


def test_passwords_are_hashed_and_checked(store: Store):
    add_user(store, "ann", "operator", "correct horse")
    assert store.accounts.user("ann").password_hash.startswith("$argon2id$")
    assert "correct horse" not in store.accounts.user("ann").password_hash
    assert authenticate(store, "ann", "correct horse").role == "operator"
    assert authenticate(store, "ann", "wrong horse") is None
    assert authenticate(store, "nobody", "correct horse") is None
    set_password(store, "ann", "battery staple")
    assert authenticate(store, "ann", "correct horse") is None
    assert authenticate(store, "ann", "battery staple") is not None


@pytest.mark.parametrize(
    ("name", "role", "password", "words"),
    [
        ("ann smith", "operator", "long enough", "use 1-64 letters"),
        ("ann", "admin", "long enough", "choose one of viewer, operator, staff"),
        ("ann", "viewer", "short", "at least 8 characters"),
    ],
)
def test_bad_users_are_refused(store: Store, name, role, password, words):
    with pytest.raises(UserError, match=words):
        add_user(store, name, role, password)
    assert store.accounts.users() == []


def test_the_last_staff_user_stays_and_sessions_go_with_their_user(store: Store):
    add_user(store, "root", "staff", "staff password")
    add_user(store, "ann", "operator", "ann password")
    with pytest.raises(UserError, match="exists already"):
        add_user(store, "ann", "viewer", "another one")
    with pytest.raises(UserError, match="last staff user"):
        remove_user(store, "root")
    store.accounts.add_session("h1", "ann", "token", time.time() + 60)
    store.accounts.add_session("h2", "ann", "token", time.time() - 1)
    assert store.accounts.session("h1").user == "ann"
    assert store.accounts.session("h2") is None  # expired
    remove_user(store, "ann")
    assert store.accounts.session("h1") is None
    with pytest.raises(UserError, match="no user 'ann'"):
        remove_user(store, "ann")


def test_an_agent_is_never_staff_and_its_grants_go_with_it(store: Store, store_url: str):
    from typer.testing import CliRunner

    from lab.cli import app

    with pytest.raises(UserError, match="never staff"):
        add_user(store, "bot", "staff", "a long passphrase", agent=True)
    add_user(store, "bot", "operator", "a long passphrase", agent=True)
    add_user(store, "ann", "operator", "a long passphrase")
    assert store.accounts.user("bot").agent and not store.accounts.user("ann").agent
    store.accounts.grant_unattended("bot", "colour-match", "root")
    store.accounts.grant_unattended("bot", "colour-match", "root")  # once is enough
    assert store.accounts.unattended("bot") == ["colour-match"]
    assert store.accounts.revoke_unattended("bot", "colour-match")
    assert not store.accounts.revoke_unattended("bot", "colour-match")
    store.accounts.grant_unattended("bot", "amine", "root")
    remove_user(store, "bot")
    assert store.accounts.unattended("bot") == []
    if not is_database_url(store_url):  # the command line, on the same file
        path = store_url
        cli = CliRunner()
        grant = cli.invoke(app, ["users", "grant", "ann", "amine", "--store", path])
        assert grant.exit_code != 0 and "no agent user 'ann'" in grant.output
        added = cli.invoke(
            app,
            ["users", "add", "bot2", "--agent", "--password-stdin", "--store", path],
            input="a long passphrase\n",
        )
        assert added.exit_code == 0 and "an agent" in added.output, added.output
        granted = cli.invoke(app, ["users", "grant", "bot2", "amine", "--store", path])
        assert granted.exit_code == 0 and "may run amine unattended" in granted.output
        assert store.accounts.unattended("bot2") == ["amine"]


def test_runs_are_indexed_and_scan_ids_survive_a_reopen(store_url: str):
    from bluesky import RunEngine
    from bluesky.plans import count
    from ophyd_async.core import soft_signal_rw

    first = Store(store_url)
    engine = RunEngine({}, call_returns_result=True)
    engine.md["scan_id"] = first.last_scan_id()
    engine.subscribe(first.record)
    signal = soft_signal_rw(float, 1.5, name="x")
    engine(count([signal], 2), operator="ann")
    engine(count([signal], 1))
    assert first.last_scan_id() == 2
    first.close()
    again = Store(store_url)
    assert again.last_scan_id() == 2
    latest = again.runs()[0]
    assert (latest.scan_id, latest.plan_name, latest.exit_status) == (2, "count", "success")
    names = [n for n, _ in again.documents(again.runs()[1].uid)]
    assert names == ["start", "descriptor", "event", "event", "stop"]
    assert again.runs()[1].operator == "ann"
    again.close()
