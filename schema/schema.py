"""Assembles the schema: root types, types reachable only through interfaces, config and guard extensions."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.errors import DomainError
from schema.definitions.entity import Entity
from schema.definitions.record import RecordOutcome
from schema.definitions.summary import ExportTypeSummary, ImportTypeSummary
from schema.definitions.sync import Sync
from schema.mutation import Mutation
from schema.query import Query


def _should_mask(error: GraphQLError) -> bool:
    # Validation and parse errors have no original error; the product's own errors are meant for the client.
    return error.original_error is not None and not isinstance(error.original_error, DomainError)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")  # graphql-core's "Did you mean 'x', 'y' or 'z'?"


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


class HideSuggestionsFromStrangers(SchemaExtension):
    """Removes "Did you mean ..." from error messages (unknown fields, arguments, types, enum values) unless the caller
    is authenticated: suggestions let anyone map the schema by guessing; members keep them as a help. Decided per
    operation from the context's principal, so it holds for HTTP and WebSocket alike."""

    def on_operation(self) -> Iterator[None]:
        yield
        if getattr(self.execution_context.context, "principal", None) is not None:
            return
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            error.message = without_suggestions(error.message)


class ProductSchema(Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # The product's own errors are answers, not faults: only unexpected ones are logged.
        unexpected = [e for e in errors if not isinstance(e.original_error, DomainError)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema() -> Schema:
    return ProductSchema(
        query=Query,
        mutation=Mutation,
        types=[Sync, RecordOutcome, Entity, ImportTypeSummary, ExportTypeSummary],
        config=StrawberryConfig(relay_max_results=100),
        extensions=[
            lambda: MaskErrors(should_mask_error=_should_mask, error_message="Internal server error"),
            HideSuggestionsFromStrangers,
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=4000),
        ],
    )


schema = build_schema()
