"""An execution context that completes plain leaf fields without graphql-core's per-field machinery.

graphql-core executes every field the same way: a Path, a GraphQLResolveInfo, the resolver (strawberry's wrapper
around getattr for a plain attribute), awaitable checks and a completion dispatch, about 5 us per field. A page of 100
records or 50 syncs asks for 1,000-2,000 fields, most of them scalars and enums read from plain attributes, so that is
most of a page's time. For those fields this context reads the attribute and serialises it directly; the result is
the same. Every other field (resolvers, objects, lists, arguments, directives, anything that would raise) and every
field when an extension hooks `resolve` goes through graphql-core unchanged, so errors come out exactly as before.

Used by passing `execution_context_class=PlainFieldsExecutionContext` to the strawberry Schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, OperationType, Undefined, is_leaf_type
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_SLOW = object()  # a plain field's value that only graphql-core may complete (to raise its error, for instance)


@dataclass(frozen=True, slots=True)
class _Plain:
    """How to complete one plain leaf field: the attribute and the type's serialiser."""

    attribute: str
    nullable: bool
    serialize: Callable[[Any], Any]

    def complete(self, source: Any) -> Any:
        value = getattr(source, self.attribute, _SLOW)
        if value is None:
            return None if self.nullable else _SLOW
        if value is _SLOW or isinstance(value, Exception):
            return _SLOW
        try:
            serialized = self.serialize(value)
        except Exception:  # graphql-core raises it again, located at the field
            return _SLOW
        return _SLOW if serialized is None or serialized is Undefined else serialized


# Per schema: (type name, field name) -> how to complete the field directly, or None for graphql-core.
_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plain | None]] = WeakKeyDictionary()


def _plan(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> _Plain | None:
    plans = _PLANS.setdefault(schema, {})
    key = (parent_type.name, field_name)
    if key not in plans:
        plans[key] = _plain(parent_type, field_name)
    return plans[key]


def _plain(parent_type: GraphQLObjectType, field_name: str) -> _Plain | None:
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args or not getattr(field_def.resolve, "_is_default", False):
        return None  # not strawberry's resolver of a plain attribute (no resolver, no permission classes)
    field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or field.default_resolver is not getattr:
        return None
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    leaf = field_def.type if nullable else field_def.type.of_type
    if not is_leaf_type(leaf):
        return None
    return _Plain(field.python_name, nullable, leaf.coerce_output_value)


class PlainFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        """A subscription event marked shared runs once per operation and variables: a thousand subscribers of one
        sync's progress cost one execution per update, not a thousand."""
        # The event keeps (operation, result) per operation and variables in its `shared_results` dict.
        results = getattr(self.root_value, "shared_results", None)
        if self.operation.operation is not OperationType.SUBSCRIPTION or not isinstance(results, dict):
            return super().execute_operation(serially)
        key = (id(self.operation), repr(sorted(self.variable_values.coerced.items())))
        known = results.get(key)
        if known is not None and known[0] is self.operation:  # the same parsed document (ParserCache), not an id reuse
            return _shared(known[1])
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            result = asyncio.ensure_future(result)
        results[key] = (self.operation, result)
        return _shared(result)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # An extension hooks `resolve`: it must see every field.
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        others: dict[str, FieldDetailsList] = {}
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            plain = None if node.directives else _plan(self.schema, parent_type, node.name.value)
            value = _SLOW if plain is None else plain.complete(source_value)
            if value is _SLOW:
                others[response_name] = details
            results[response_name] = value  # in the selection's order; the others' values are set below
        if not others:
            return results
        completed = super().execute_fields(parent_type, source_value, path, others, position_context)
        if self.is_awaitable(completed):

            async def merged() -> dict[str, Any]:
                return _merge(results, others, await completed)

            return merged()
        return _merge(results, others, completed)  # type: ignore[arg-type]


def _shared(result: Any) -> Any:
    if not isinstance(result, asyncio.Future):
        return result

    async def wait() -> Any:
        return await asyncio.shield(result)  # one subscriber leaving must not cancel the others' result

    return wait()


def _merge(results: dict[str, Any], others: dict[str, Any], completed: dict[str, Any]) -> dict[str, Any]:
    for response_name in others:
        if response_name in completed:
            results[response_name] = completed[response_name]
        else:  # graphql-core left the field out (Undefined)
            del results[response_name]
    return results
