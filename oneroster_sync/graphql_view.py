"""The GraphQL endpoint: authenticates each HTTP request and each WebSocket connection, builds the context, and speaks
GraphQL-over-HTTP (https://graphql.github.io/graphql-over-http/draft/):

- `application/json` answers (the default, also for `*/*` or no Accept header) keep the legacy behaviour: 200 with
  `errors` once the request was understood, 400 for a request that is not one (malformed JSON, no query).
- A client that prefers `application/graphql-response+json` gets that media type and its status codes: 400 without a
  `data` key when the operation never started (parse, validation, variable coercion errors), 200 once it did.
- A mutation over GET is refused with 405 and `Allow: POST`, whichever media type.
- Requests the view cannot interpret get a GraphQL-shaped `{"errors": [...]}` body instead of plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from cross_web import AsyncHTTPRequestAdapter, FormData, HTTPException, StarletteRequestAdapter
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from db.tenants import Principal, TokenCache
from resolvers.context import ApiServices, Context

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def bearer_token(value: object) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (header or connection_init payload)."""
    if not isinstance(value, str):
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, q) of each entry of an Accept header, in header order."""
    ranges: list[tuple[str, float]] = []
    for entry in accept.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` only when the client names it and prefers it (a higher q, or listed first
    at the same q) to `application/json`; `application/json` otherwise, also for `*/*` and no Accept header."""
    ranges = _media_ranges(accept or "")

    def rank(*names: str) -> tuple[float, int] | None:
        """(q, position) of the first range among `names`, most specific name first."""
        for name in names:
            for position, (media, quality) in enumerate(ranges):
                if media == name:
                    return quality, position
        return None

    graphql = rank(GRAPHQL_RESPONSE_JSON)
    if graphql is None or graphql[0] <= 0:
        return JSON
    json = rank(JSON, "application/*", "*/*")
    if json is None or json[0] <= 0:
        return GRAPHQL_RESPONSE_JSON
    return GRAPHQL_RESPONSE_JSON if graphql[0] > json[0] or (graphql[0] == json[0] and graphql[1] < json[1]) else JSON


def _check_preflight(request: Request) -> None:
    """A multipart POST is a CORS "simple request" a browser sends cross-site without asking: only a request carrying
    a header a form cannot set is accepted (as Apollo, DGS and HotChocolate do)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data" and not any(request.headers.get(h) for h in PREFLIGHT_HEADERS):
        raise HTTPException(400, "Uploads must carry a 'GraphQL-Require-Preflight: 1' header.")


def never_executed(response: GraphQLHTTPResponse) -> bool:
    """Whether the operation failed before execution started: no data, and no error belongs to a field (a path)."""
    errors = response.get("errors") or []
    return (
        response.get("data") is None and bool(errors) and all(not (isinstance(e, dict) and "path" in e) for e in errors)
    )


PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-apollo-operation-name")
MULTIPART_LIMITS = {"max_files": 1, "max_fields": 4, "max_part_size": 1024 * 1024}  # one package; small JSON parts


class _RequestAdapter(StarletteRequestAdapter):
    """Multipart bodies parsed with the product's limits; their refusals answered like other request errors."""

    async def get_form_data(self) -> FormData:
        try:
            form = await self._request.form(**MULTIPART_LIMITS)
        except StarletteHTTPException as error:  # too many files or fields, a part or the body too large
            raise HTTPException(error.status_code, f"Unable to accept the upload: {error.detail}") from error
        return FormData(files=form, form=form)


@dataclass
class Runtime:
    """What the app's lifespan opens, read by the view per request (the view is built before the lifespan runs)."""

    pool: asyncpg.Pool | None = None
    services: ApiServices | None = None

    def require_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the database pool is not open (the app's lifespan has not started)")
        return self.pool


class GraphQLView(GraphQL[Context, None]):
    """Reads the pool and services from `runtime`, so the view can be built before the lifespan opens them."""

    request_adapter_class = _RequestAdapter

    def __init__(self, schema: Schema, runtime: Runtime, **options: Any) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,  # guarded by the preflight header check in __call__ (CSRF)
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),  # the legacy graphql-ws protocol is not served
            **options,
        )
        self._runtime = runtime
        self._tokens = TokenCache(ttl=5.0)  # a revoked token stops working within 5 s

    async def _principal(self, token: str | None) -> Principal | None:
        return None if token is None else await self._tokens.authenticate(self._runtime.require_pool(), token)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = None
        if isinstance(request, Request):  # WebSockets authenticate in connection_init (on_ws_connect)
            principal = await self._principal(bearer_token(request.headers.get("authorization")))
        return Context(pool=self._runtime.require_pool(), principal=principal, request=request, response=response,
                       services=self._runtime.services)  # fmt: skip

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

    # --- GraphQL-over-HTTP ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        try:
            _check_preflight(request)
            response = await self.run(request)
        except HTTPException as error:  # strawberry would answer these in plain text
            response = self._request_error(request, error)
        except StarletteHTTPException as error:  # a body over the size limit (413), read by strawberry
            response = self._request_error(request, HTTPException(error.status_code, error.detail))
        await response(scope, receive, send)

    def _request_error(self, request: Request, error: HTTPException) -> Response:
        body = self.encode_json({"errors": [{"message": error.reason}]})
        media_type = response_media_type(request.headers.get("accept"))
        headers = {"Allow": "POST"} if error.status_code == 405 else None
        return Response(body, status_code=error.status_code, media_type=media_type, headers=headers)

    def encode_json(self, data: object) -> str:
        # orjson: several times faster than json.dumps, which every answer and every subscription frame pays.
        return orjson.dumps(data).decode()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):  # strawberry checks the other parameters' types
                raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null.")
        return data

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        # The sub-response carries the negotiated media type to create_response, which is not given the request.
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, CannotGetOperationTypeError):
                # A request error like a validation error (spec: 200 with application/json), not a malformed request.
                return ExecutionResult(data=None, errors=[GraphQLError(error.reason)])
            if (request_adapter.method == "GET" and isinstance(cause, InvalidOperationTypeError)
                    and cause.operation_type is OperationType.MUTATION):  # fmt: skip
                raise HTTPException(405, "Mutations are only accepted over POST.") from error
            raise

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status_code = sub_response.status_code or 200
        body: object = response_data
        if media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict) and never_executed(response_data):
            body = {key: value for key, value in response_data.items() if key != "data"}  # the spec: no data key
            status_code = 400
        response = Response(self.encode_json(body), status_code=status_code, media_type=media_type)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response
