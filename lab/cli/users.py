"""``lab users``: who may log in to the lab server, with which role."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lab.accounts.roles import Role
from lab.cli._app import app
from lab.cli._common import DEFAULT_LAB, STORE_FORMS, LabOption, console, fail, open_store

if TYPE_CHECKING:
    from lab.store import Store


users_app = typer.Typer(
    help="Add, remove and list the lab server's users (roles: viewer, operator, staff).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        help=f"the store, {STORE_FORMS}; default: the lab's (runs/<lab name>/store.sqlite)"
    ),
]


@contextmanager
def _users(store: str | None, lab: Path) -> Iterator[Store]:
    """The store that holds the users (the lab's by default); a refusal ends the command."""
    from lab.accounts.users import UserError
    from lab.api import default_lab_store
    from lab.errors import ConfigError
    from lab.files.lab_file import load_lab_config

    try:
        db = open_store(store or default_lab_store(load_lab_config(lab)), existing=False)
    except ConfigError as err:
        raise fail(str(err)) from None
    try:
        yield db
    except UserError as err:
        raise fail(str(err)) from None
    finally:
        db.close()


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[Role, typer.Option(help="what they may do")] = "operator",
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Add a user; the password is asked for (hidden) unless --password-stdin."""
    from lab.accounts.users import add_user

    with _users(store, lab) as db:
        add_user(db, name, role, _password(password_stdin))
    console.print(f"added {name} ({role})")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="user name")],
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Set a user's password."""
    from lab.accounts.users import set_password

    with _users(store, lab) as db:
        set_password(db, name, _password(password_stdin))
    console.print(f"password of {name} changed")


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="user name")],
    store: StoreOption = None,
    lab: LabOption = DEFAULT_LAB,
) -> None:
    """Remove a user and end their sessions (the last staff user cannot be removed)."""
    from lab.accounts.users import remove_user

    with _users(store, lab) as db:
        remove_user(db, name)
    console.print(f"removed {name}")


@users_app.command("list")
def users_list(store: StoreOption = None, lab: LabOption = DEFAULT_LAB) -> None:
    """The users and their roles."""
    with _users(store, lab) as db:
        users = db.accounts.users()
    table = Table(title="users")
    for column in ("user", "role"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, user.role)
    console.print(table)
