"""``lab users``: who may log in to the lab server, with which role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lab.accounts.roles import Role
from lab.cli._app import app
from lab.cli._common import (
    DEFAULT_LAB,
    LabOption,
    LabStoreOption,
    PasswordStdin,
    console,
    fail,
    open_store,
    read_password,
)

if TYPE_CHECKING:
    from lab.store import Store


users_app = typer.Typer(
    help="Add, remove and list the lab server's users (roles: viewer, operator, staff).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


@contextmanager
def _users(store: str | None, lab: Path, existing: bool = False) -> Iterator[Store]:
    """The store that holds the users (the lab's by default; made if ``existing`` is false,
    as adding the first user does); a refusal ends the command."""
    from lab.accounts.users import UserError
    from lab.api import default_lab_store
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config

    try:
        db = open_store(
            store or default_lab_store(load_lab_config(lab)),
            existing=existing,
            hint="add a user first (`lab users add`), or name the store with --store",
        )
    except ConfigError as err:
        raise fail(str(err)) from None
    try:
        yield db
    except UserError as err:
        raise fail(str(err)) from None
    finally:
        db.close()


def _audited(db: Store, action: str, target: str, **detail: str) -> None:
    """A change of users made here is in the audit log as one made on the server is, by
    the account that ran the command."""
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this process's user
        who = "unknown"
    db.audit.append(
        action, "ok", user=who, client="command line", target=target, detail=detail or None
    )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[Role, typer.Option(help="what they may do")] = "operator",
    agent: Annotated[
        bool,
        typer.Option(
            "--agent", help="an AI agent's user (`lab mcp`): what it starts waits for approval"
        ),
    ] = False,
    password_stdin: PasswordStdin = False,
    store: LabStoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Add a user; the password is asked for (hidden) unless --password-stdin."""
    from lab.accounts.users import add_user

    with _users(store, lab) as db:
        add_user(db, name, role, read_password(password_stdin, confirm=True), agent)
        _audited(db, "user add", name, role=role, agent=str(agent).lower())
    console.print(f"added {name} ({role}{', an agent' if agent else ''})")


@users_app.command("grant")
def users_grant(
    name: Annotated[str, typer.Argument(help="an agent's user name")],
    campaign: Annotated[str, typer.Argument(help="the campaign", metavar="CAMPAIGN")],
    revoke: Annotated[bool, typer.Option("--revoke", help="take the grant back")] = False,
    store: LabStoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Let an agent's user run CAMPAIGN unattended: its starts and offered trials then run
    without a person's approval of each (`--revoke` takes it back)."""
    from lab.accounts.users import UserError

    with _users(store, lab) as db:
        user = db.accounts.user(name)
        if user is None or not user.agent:
            raise UserError(f"no agent user {name!r}; add one with `lab users add {name} --agent`")
        if revoke:
            if not db.accounts.revoke_unattended(name, campaign):
                raise UserError(f"{name!r} has no grant for {campaign!r}")
            _audited(db, "revoke unattended", name, campaign=campaign)
        else:
            db.accounts.grant_unattended(name, campaign, "command line")
            _audited(db, "grant unattended", name, campaign=campaign)
    console.print(f"{name} {'may no longer run' if revoke else 'may run'} {campaign} unattended")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="user name")],
    password_stdin: PasswordStdin = False,
    store: LabStoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Set a user's password."""
    from lab.accounts.users import set_password

    with _users(store, lab) as db:
        set_password(db, name, read_password(password_stdin, confirm=True))
        _audited(db, "password change", name)
    console.print(f"password of {name} changed")


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="user name")],
    store: LabStoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Remove a user and end their sessions (the last staff user cannot be removed)."""
    from lab.accounts.users import remove_user

    with _users(store, lab) as db:
        remove_user(db, name)
        _audited(db, "user remove", name)
    console.print(f"removed {name}")


@users_app.command("list")
def users_list(store: LabStoreOption = None, lab: LabOption = DEFAULT_LAB) -> None:
    """The users and their roles."""
    with _users(store, lab, existing=True) as db:  # listing makes no store
        users = db.accounts.users()
    table = Table(title="users")
    for column in ("user", "role", "agent"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, user.role, "agent" if user.agent else "")
    console.print(table)
