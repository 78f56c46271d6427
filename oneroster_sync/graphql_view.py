"""The GraphQL endpoint: authenticates each HTTP request and each WebSocket connection, builds the context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from db.tenants import Principal, authenticate
from resolvers.context import Context


def bearer_token(value: object) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (header or connection_init payload)."""
    if not isinstance(value, str):
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class GraphQLView(GraphQL[Context, None]):
    """`pool` is a callable so the view can be built before the lifespan has opened the pool."""

    def __init__(self, schema: Schema, pool: Callable[[], asyncpg.Pool], **options: Any) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),  # the legacy graphql-ws protocol is not served
            **options,
        )
        self._pool = pool

    async def _principal(self, token: str | None) -> Principal | None:
        return None if token is None else await authenticate(self._pool(), token)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = None
        if isinstance(request, Request):  # WebSockets authenticate in connection_init (on_ws_connect)
            principal = await self._principal(bearer_token(request.headers.get("authorization")))
        return Context(pool=self._pool(), principal=principal, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = bearer_token(params.get("authorization") or params.get("Authorization"))
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        request = context.request
        if token is None and isinstance(request, WebSocket):
            token = bearer_token(request.headers.get("authorization"))
        context.principal = await self._principal(token)
        if context.principal is None:
            raise ConnectionRejectionError({"message": "Authentication required"})
        return None
