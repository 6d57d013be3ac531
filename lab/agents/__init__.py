"""The lab for AI agents: an MCP server (``lab mcp``) that reaches the lab server as a lab
user, so that an agent is authenticated, audited and gated exactly as a person is."""

from lab.agents.mcp_server import lab_mcp_server

__all__ = ["lab_mcp_server"]
