"""Assembles the schema: root types, types reachable only through interfaces, config and guard extensions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry import Schema
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from resolvers.errors import DomainError
from schema.definitions.entity import Entity
from schema.definitions.record import RecordOutcome
from schema.definitions.summary import ExportTypeSummary, ImportTypeSummary
from schema.definitions.sync import Sync
from schema.execution import PlainFieldsExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


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
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        # New errors, never edited in place: DocumentValidationCache hands the same error objects to every request.
        result.errors = [_with_message(e, without_suggestions(e.message)) for e in errors]


def _with_message(error: GraphQLError, message: str) -> GraphQLError:
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, error.original_error,
                        error.extensions)  # fmt: skip


class ProductMaskErrors(MaskErrors):
    """MaskErrors without its runtime Protocol check per result: a subscription event goes through it once per
    subscriber, and the check cost more than the rest of the masking."""

    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


class DocumentValidationCache(SchemaExtension):
    """strawberry's ValidationCache keyed by the parsed document's identity instead of its hash: graphql-core hashes a
    document by walking every node of it, at each request. ParserCache hands every request of a query text the same
    document object, which the cache keeps (so its id stays its own)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            key = (id(context.schema._schema), id(document), context.validation_rules)
            known = _VALIDATED.get(key)
            if known is None or known[0] is not document:
                errors = validate_document(context.schema._schema, document, context.validation_rules)
                if len(_VALIDATED) >= MAX_VALIDATED:
                    _VALIDATED.clear()
                known = _VALIDATED[key] = (document, errors)
            context.pre_execution_errors = known[1]
        yield


MAX_VALIDATED = 256
_VALIDATED: dict[tuple[int, int, tuple[Any, ...]], tuple[DocumentNode, list[GraphQLError]]] = {}


class ProductSchema(Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # The product's own errors are answers, not faults: only unexpected ones are logged.
        unexpected = [e for e in errors if not isinstance(e.original_error, DomainError)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


# QueryDepthLimiter and MaxAliasesLimiter make new rule classes per instance, so per request, and the validation cache
# keys on the rule classes: the same rules, made once, let it hit. (The rules hold no state; graphql-core instantiates
# them per validation.)
GUARD_RULES = (depth_limit_rule(12, None), alias_limit_rule(30))
MAX_TOKENS = 4000


def build_schema() -> Schema:
    return ProductSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Sync, RecordOutcome, Entity, ImportTypeSummary, ExportTypeSummary],
        config=StrawberryConfig(relay_max_results=100),
        execution_context_class=PlainFieldsExecutionContext,  # plain leaf fields without per-field machinery
        extensions=[
            lambda: ProductMaskErrors(should_mask_error=_should_mask, error_message="Internal server error"),
            HideSuggestionsFromStrangers,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),  # before ParserCache: the limit is a parse option
            lambda: ParserCache(maxsize=256),
            lambda: AddValidationRules(list(GUARD_RULES)),
            DocumentValidationCache,
        ],
    )


schema = build_schema()
