"""``lab mcp``: serve the lab to AI agents over the Model Context Protocol."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from lab.cli._app import app
from lab.cli._common import fail


class Transport(StrEnum):
    """How the agent reaches this server."""

    STDIO = "stdio"
    HTTP = "http"


@app.command("mcp")
def mcp(
    url: Annotated[
        str | None,
        typer.Option(help="the lab server (`lab serve`); default: $LAB_URL", metavar="URL"),
    ] = None,
    transport: Annotated[
        Transport, typer.Option(help="stdio (the agent's host starts it) or streamable http")
    ] = Transport.STDIO,
    host: Annotated[str, typer.Option(help="http: the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: the port", min=1, max=65535)] = 8766,
) -> None:
    """Serve the lab to AI agents over MCP: read the lab, campaigns, trials and documents;
    check a draft campaign; start, pause and stop campaigns; offer trials.

    Each agent is a lab user of its own (`lab users add NAME --agent`), with its own
    token, audited as that user. What it starts or offers waits for a person's approval
    unless staff grant it unattended runs of that campaign (`lab users grant NAME
    CAMPAIGN`). The emergency stop and its reset are never tools.

    Over **stdio**, the agent's user token comes from $LAB_TOKEN (get one with
    `lab remote login URL --user NAME`). Over **http** (at /mcp), each client sends its
    own as `Authorization: Bearer TOKEN`.
    """
    from lab.agents import lab_mcp_server

    url = url or os.environ.get("LAB_URL")
    if not url:
        raise fail("no lab server: give --url URL or set LAB_URL")
    if transport == Transport.STDIO:
        token = os.environ.get("LAB_TOKEN")
        if not token:
            raise fail("stdio needs the agent user's token in LAB_TOKEN")
        lab_mcp_server(url, token).run("stdio")
    else:
        lab_mcp_server(url, None, host, port).run("streamable-http", host=host, port=port)
