"""``lab mcp``: the lab over the Model Context Protocol, for AI agents.

The server holds no power of its own: every tool call is a request to the lab server
with the calling agent's bearer token, so the agent is the lab user the token belongs to
(its role, its audit trail), and what would move hardware waits at the approval gate
unless staff have granted that user unattended runs of the campaign. Over stdio the token
is the one the agent's host launched it with; over streamable HTTP each client brings its
own, checked with the lab server before any tool runs. The emergency stop and its reset
are never tools: they belong to people.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations

from lab.client import LabClient, RemoteError

T = TypeVar("T")

READS = ToolAnnotations(readOnlyHint=True)
#: a tool that changes the lab's state (never past the approval gate, never the e-stop)
ACTS = ToolAnnotations(readOnlyHint=False, destructiveHint=False)

INSTRUCTIONS = (
    "A self-driving lab. Read its state and campaigns; check a draft campaign before asking "
    "for it; offer trials to a running campaign with every parameter as text with its unit "
    "('1.2 mL', '60 degC'). What you start or offer waits for a person's approval unless "
    "staff granted your user unattended runs of that campaign. Errors are sentences: read "
    "them and change the request, do not repeat it unchanged."
)


class LabTokens:
    """Checks an HTTP client's bearer token with the lab server (``/api/auth/me``).

    Args:
        url: the lab server.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    async def verify_token(self, token: str) -> AccessToken | None:
        """The lab user the token belongs to, or None (the client is refused with 401)."""

        def me() -> AccessToken | None:
            with LabClient(self.url, token, timeout_s=10.0) as lab:
                try:
                    who = lab.me()
                except RemoteError:
                    return None
            return AccessToken(token=token, client_id=who.user, scopes=[who.role])

        return await anyio.to_thread.run_sync(me)


def lab_mcp_server(
    url: str, token: str | None = None, host: str = "127.0.0.1", port: int = 8766
) -> MCPServer:
    """The MCP server for the lab server at ``url``.

    Args:
        url: the lab server.
        token: the agent user's bearer token, for stdio; None for streamable HTTP, where
            each client sends its own (``Authorization: Bearer ...``).
        host: where streamable HTTP listens.
        port: its port.
    """
    http = token is None
    server: MCPServer = MCPServer(
        "sdl-lab",
        instructions=INSTRUCTIONS,
        token_verifier=LabTokens(url) if http else None,
        auth=AuthSettings(issuer_url=url, resource_server_url=f"http://{host}:{port}/mcp")
        if http
        else None,
    )

    async def call(ask: Callable[[LabClient], T]) -> T:
        """``ask`` the lab server as the calling agent; its refusal as the tool's error."""
        caller = token
        if caller is None:
            access = get_access_token()
            if access is None:
                raise ToolError("not authenticated: send your lab token as a bearer token")
            caller = access.token

        def request() -> T:
            with LabClient(url, caller) as lab:
                return ask(lab)

        try:
            return await anyio.to_thread.run_sync(request)
        except RemoteError as err:
            raise ToolError(_refusal(err)) from None
        except OSError as err:
            raise ToolError(f"the lab server at {url} does not answer: {err}") from None

    @server.tool(annotations=READS)
    async def lab_state() -> dict[str, Any]:
        """The lab now: its state (idle, running, paused, awaiting approval, emergency
        stop), each device's state and readings with their units, where each vial is."""
        state = await call(lambda lab: lab.state())
        devices = {
            d["name"]: {
                "state": d["state"],
                "readings": {
                    r["label"]: f"{r['value']} {r.get('units') or ''}".strip()
                    for r in d["readings"]
                },
            }
            for d in state.snapshot.get("devices", [])
        }
        return {
            "lab": state.name,
            "state": state.control.lab,
            "active_campaign": state.control.active_campaign,
            "devices": devices,
            "vials": state.snapshot.get("vials", []),
        }

    @server.tool(annotations=READS)
    async def list_campaigns() -> list[dict[str, Any]]:
        """The lab's campaigns: each one's trials done and failed, its running session
        (state, progress, best so far) and the defaults of its file."""
        found = await call(lambda lab: lab.campaigns())
        return [c.model_dump(exclude_none=True) for c in found]

    @server.tool(annotations=READS)
    async def campaign(name: str) -> dict[str, Any]:
        """One campaign: its session, every trial (parameters with units, outcomes,
        status, error) and which trials its planner holds best."""
        found = await call(lambda lab: lab.campaign(name))
        return found.model_dump(exclude_none=True)

    @server.tool(annotations=READS)
    async def run_documents(run_uid: str, limit: int = 200) -> list[list[Any]]:
        """The stored Bluesky documents of one run (a trial's ``run_uid``), in order, as
        ``[name, document]`` pairs; at most ``limit``."""
        found = await call(lambda lab: lab.documents(run_uid))
        return [[n, d] for n, d in found[: max(limit, 1)]]

    @server.tool(annotations=READS)
    async def campaign_plot(name: str, figure: str = "best_so_far") -> Image:
        """A campaign's figure as its report draws it: ``best_so_far`` (each trial's
        objective and the best so far), ``parameters``, ``timeline``, ``pareto`` (several
        objectives) or ``best_spectrum`` (against the target)."""
        return Image(data=await call(lambda lab: lab.plot(name, figure)), format="png")

    @server.tool(annotations=READS)
    async def pending_approvals() -> list[dict[str, Any]]:
        """Proposed trials waiting for a person's approval, with the bounds of each
        parameter."""
        found = await call(lambda lab: lab.proposals())
        return [p.model_dump() for p in found]

    @server.tool(annotations=READS)
    async def check_campaign(
        campaign_yaml: str, protocol_yaml: str | None = None
    ) -> dict[str, Any]:
        """Check a draft campaign file (and a draft of the protocol file it names) as a
        start would: the files, then the protocol at every bound against the lab's device
        limits. Nothing moves and nothing is saved. Every problem comes back at once."""
        try:
            found = await call(lambda lab: lab.check_draft(campaign_yaml, protocol_yaml))
        except ToolError as err:
            return {"ok": False, "problems": str(err).splitlines()}
        return {"ok": True, **found.model_dump()}

    @server.tool(annotations=ACTS)
    async def start_campaign(name: str, trials: int | None = None) -> dict[str, Any]:
        """Start (or continue) a campaign of the lab. Unless staff granted your user
        unattended runs of it, each of its trials waits for a person's approval."""
        session = await call(lambda lab: lab.start(name, trials))
        return session.model_dump()

    @server.tool(annotations=ACTS)
    async def offer_trial(campaign: str, parameters: dict[str, str]) -> dict[str, Any]:
        """Offer a trial to a running campaign, every parameter as text with its unit
        (``{"cyan": "1.2 mL", "temperature": "60 degC"}``, a choice by its name). It runs
        next, after a person's approval unless your user has a grant for the campaign."""
        found = await call(lambda lab: lab.offer(campaign, parameters))
        return found.model_dump()

    @server.tool(annotations=ACTS)
    async def pause_lab() -> dict[str, Any]:
        """Pause the lab: the running trial stops at its next step boundary."""
        return (await call(lambda lab: lab.pause())).model_dump()

    @server.tool(annotations=ACTS)
    async def resume_lab() -> dict[str, Any]:
        """Resume the lab after a pause."""
        return (await call(lambda lab: lab.resume())).model_dump()

    @server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
    async def stop_campaign(name: str) -> dict[str, Any]:
        """Stop a campaign after the trial in flight (nothing is cut short)."""
        return (await call(lambda lab: lab.stop(name))).model_dump()

    return server


def _refusal(err: RemoteError) -> str:
    """The lab server's refusal as a sentence for the agent."""
    why = {
        401: "not authenticated (the token is unknown or expired)",
        403: "refused for your role",
        404: "not found",
        409: "not now",
        422: "invalid",
        429: "too many requests",
    }.get(err.status, f"the lab server answered {err.status}")
    return f"{why}: {err.detail}"
