"""The roles of the lab's users, lowest first: each may do what the ones before it may."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "operator", "staff"]
ROLES: tuple[Role, ...] = get_args(Role)
