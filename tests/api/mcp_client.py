"""The MCP SDK's own client for the API's ``/mcp``: a session with a bearer token, and tool calls in one session."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def session(base_url: str, token: str, **headers: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}", **headers}, timeout=30)
    return Client(streamable_http_client(f"{base_url}/mcp", http_client=http))


def call(base_url: str, token: str, *calls: tuple[str, dict[str, Any]], **headers: str) -> list[Any]:
    """Make ``calls`` in one MCP session (``headers`` on each request); each answer's structured content, or its
    text if it is an error."""

    async def run() -> list[Any]:
        answers = []
        async with session(base_url, token, **headers) as client:
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                text = " ".join(getattr(c, "text", "") for c in result.content)
                answers.append(("error", text) if result.is_error else result.structured_content)
        return answers

    return anyio.run(run)
