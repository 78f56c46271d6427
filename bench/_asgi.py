"""A minimal HTTP client for an ASGI app in the same process: one POST, its status and body.

The benchmarks measure what the server does for a request (Starlette's middleware and routing, the view, the token,
strawberry, the JSON answer), not a client library's own work: httpx's ASGITransport spends about a third of a small
request building URLs and cookie jars and probing for trio (a failed import per request) on the client side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

ASGIApp = Any  # a Starlette app (or any ASGI callable)


async def post(app: ASGIApp, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """POST `body` to `path` of `app`; returns the status and the whole response body."""
    raw_headers = [(b"host", b"bench"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw_headers,
        "client": ("127.0.0.1", 50000), "server": ("bench", 80), "state": {},
    }  # fmt: skip
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects first
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
