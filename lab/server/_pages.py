"""The dashboard's pages: one HTML shell each, filled in the browser from the JSON API and
kept live by the event stream. A page asked for without a session goes to the login."""

from __future__ import annotations

import html
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lab.server._auth import Principal

pages = APIRouter(include_in_schema=False)

NAV = (
    ("lab", "/", "Lab"),
    ("campaigns", "/campaigns", "Campaigns"),
    ("approvals", "/approvals", "Approvals"),
    ("audit", "/audit", "Audit log"),
    ("users", "/users", "Users"),
)


def _shell(request: Request, page: str, title: str, arg: str = "") -> Response:
    principal: Principal | None = request.app.state.auth.principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
    lab = request.app.state.lab_server.config.name
    esc = html.escape
    links = "".join(
        f'<a href="{href}"{" aria-current=page" if key == page else ""}>{label}</a>'
        for key, href, label in NAV
        if key != "users" or principal.role == "staff"
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {esc(lab)}</title>
<link rel="icon" href="/static/favicon.svg"><link rel="stylesheet" href="/static/style.css">
<script src="/vendor/plotly/plotly.min.js" defer></script>
<script type="module" src="/static/app.js"></script>
</head>
<body data-page="{esc(page)}" data-arg="{esc(arg)}" data-user="{esc(principal.user)}"
 data-role="{esc(principal.role)}" data-csrf="{esc(principal.csrf or "")}" data-lab="{esc(lab)}">
<header class="top">
  <span class="brand">SDL · {esc(lab)}</span>
  <nav>{links}</nav>
  <span id="control" class="chip" title="run control">…</span>
  <span id="link" class="chip" title="live updates">connecting…</span>
  <span class="who">{esc(principal.user)} <small>({esc(principal.role)})</small></span>
  <button id="logout" class="quiet">Log out</button>
  <button id="estop" class="estop" title="stop every device at once">EMERGENCY STOP</button>
</header>
<div id="estop-banner" class="banner" hidden></div>
<div id="toast" class="toast" hidden></div>
<main id="main"><h1>{esc(title)}</h1><div id="content">Loading…</div></main>
</body></html>"""
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@pages.get("/")
def lab_page(request: Request) -> Response:
    """The Lab page: devices, vials, run control, diagnostics."""
    return _shell(request, "lab", "Lab")


@pages.get("/campaigns")
def campaigns_page(request: Request) -> Response:
    """The Campaigns page."""
    return _shell(request, "campaigns", "Campaigns")


@pages.get("/campaigns/{name}")
def campaign_page(name: str, request: Request) -> Response:
    """One campaign's page."""
    return _shell(request, "campaign", f"Campaign {name}", name)


@pages.get("/approvals")
def approvals_page(request: Request) -> Response:
    """The Approvals page."""
    return _shell(request, "approvals", "Approvals")


@pages.get("/audit")
def audit_page(request: Request) -> Response:
    """The Audit log page."""
    return _shell(request, "audit", "Audit log")


@pages.get("/users")
def users_page(request: Request) -> Response:
    """The Users page (staff)."""
    return _shell(request, "users", "Users")


@pages.get("/runs/{uid}")
def run_page(uid: str, request: Request) -> Response:
    """One run's documents."""
    return _shell(request, "run", f"Run {uid[:8]}", uid)


@pages.get("/login")
def login_page(request: Request) -> Response:
    """The login form."""
    lab = html.escape(request.app.state.lab_server.config.name)
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · {lab}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/favicon.svg"><link rel="stylesheet" href="/static/style.css">
<script type="module" src="/static/login.js"></script></head>
<body class="login"><main>
<h1>SDL · {lab}</h1>
<form id="login">
  <label>User <input name="username" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"
    required></label>
  <button type="submit">Log in</button>
  <p id="error" class="error" role="alert"></p>
</form></main></body></html>""",
        headers={"Cache-Control": "no-store"},
    )
