"""An execution context that completes plain fields without graphql-core's per-field machinery.

graphql-core executes every field the same way: a Path, a GraphQLResolveInfo, the resolver (strawberry's wrapper
around getattr for a plain attribute), awaitable checks, a completion dispatch and, for an object, is_type_of (and
resolve_type for an interface) before its sub-selection: 5-10 us per field. A page of 100 records or 50 syncs asks
for 1,000-2,000 fields, most of them plain attributes, so that is most of a page's time.

For a plain attribute (strawberry's default resolver, no arguments, no directives) this context reads the attribute
and completes it directly: a scalar or enum is serialised, an object of a concrete type (or an interface resolved the
way strawberry resolves it) or a list of them has its sub-selection executed by this same context, with the same Paths
and the same error handling as graphql-core's. Whatever is unusual (a null in a non-null position, an exception or an
awaitable as a value, a cast object, an unknown class, a custom is_type_of or resolve_type, @defer, any directive)
sends that field through graphql-core unchanged, and so does every field when an extension hooks `resolve`: data,
key order and errors come out exactly as before.

Used by passing `execution_context_class=PlainFieldsExecutionContext` to the strawberry Schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

_SLOW = object()  # a plain field's value that only graphql-core may complete (to raise its error, for instance)
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1
_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class _Leaf:
    """A plain scalar or enum attribute. `exact`: the Python type the scalar returns unchanged (str for String,
    int in range for Int); enum members' names are memoised (strawberry looks them up by value each time)."""

    __slots__ = ("attribute", "enum", "exact", "memo", "nullable", "serialize")
    leaf = True

    def __init__(self, attribute: str, nullable: bool, leaf: Any) -> None:
        self.attribute, self.nullable, self.serialize = attribute, nullable, leaf.coerce_output_value
        exact = {GraphQLString: str, GraphQLID: str, GraphQLInt: int, GraphQLBoolean: bool}
        self.exact: type | None = next((t for scalar, t in exact.items() if leaf is scalar), None)
        self.enum: type | None = getattr(leaf, "wrapped_cls", None) if isinstance(leaf, GraphQLEnumType) else None
        self.memo: dict[Any, Any] = {}

    def complete(self, source: Any) -> Any:
        try:
            value: Any = getattr(source, self.attribute, _SLOW)
        except Exception:  # a property that raises: graphql-core reads it again and reports the error
            return _SLOW
        if type(value) is self.exact and (self.exact is not int or _MIN_INT <= value <= _MAX_INT):  # type: ignore[operator]
            return value
        if value is None:
            return None if self.nullable else _SLOW
        if value is _SLOW or isinstance(value, Exception):
            return _SLOW
        if type(value) is self.enum:
            known = self.memo.get(value, _SLOW)
            if known is not _SLOW:
                return known
        try:
            serialized = self.serialize(value)
        except Exception:  # graphql-core raises it again, located at the field
            return _SLOW
        if serialized is None or serialized is Undefined:
            return _SLOW
        if type(value) is self.enum:
            self.memo[value] = serialized
        return serialized


class _TypeName:
    """`__typename`: the parent type's name, as graphql-core's meta field answers it."""

    __slots__ = ()
    leaf = False


class _Shape:
    """An object type (concrete or interface), a list of them, or neither (`named` None), nullable or not."""

    __slots__ = ("field_type", "item_nullable", "item_type", "named", "nullable")

    def __init__(self, field_type: GraphQLOutputType) -> None:
        self.field_type = field_type
        self.nullable = not isinstance(field_type, GraphQLNonNull)
        inner: Any = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        self.item_type: Any = inner.of_type if isinstance(inner, GraphQLList) else None  # None: not a list
        self.item_nullable = not isinstance(self.item_type, GraphQLNonNull)
        named = inner if self.item_type is None else self.item_type
        named = named.of_type if isinstance(named, GraphQLNonNull) else named
        self.named: Any = named if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else None


_SHAPES: dict[int, tuple[GraphQLOutputType, _Shape]] = {}  # id(type) -> (the type, kept alive; its shape)


def _shape(field_type: GraphQLOutputType) -> _Shape:
    known = _SHAPES.get(id(field_type))
    if known is None or known[0] is not field_type:
        known = _SHAPES[id(field_type)] = (field_type, _Shape(field_type))
    return known[1]


class _Composite:
    """A plain attribute holding an object (concrete or interface), or a list of them."""

    __slots__ = ("attribute", "shape")
    leaf = False

    def __init__(self, attribute: str, shape: _Shape) -> None:
        self.attribute, self.shape = attribute, shape


_Plan = _Leaf | _TypeName | _Composite

# Per schema: (type name, field name) -> how to complete the field directly, or None for graphql-core; and
# (type name, class) -> the object type graphql-core would complete an instance of the class as, or None.
_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plan | None]] = WeakKeyDictionary()
_RUNTIME: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, type], GraphQLObjectType | None]] = WeakKeyDictionary()


def _plan(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> _Plan | None:
    plans = _PLANS.setdefault(schema, {})
    key = (parent_type.name, field_name)
    if key not in plans:
        plans[key] = _TypeName() if field_name == "__typename" else _plain(parent_type, field_name)
    return plans[key]


def _plain(parent_type: GraphQLObjectType, field_name: str) -> _Plan | None:
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args or not getattr(field_def.resolve, "_is_default", False):
        return None  # not strawberry's resolver of a plain attribute
    field = (field_def.extensions or {}).get(_BACKREF)
    if not isinstance(field, StrawberryField) or not field.is_basic_field or field.default_resolver is not getattr:
        return None  # a resolver, field extensions (permissions) or another default resolver
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    inner = field_def.type if nullable else field_def.type.of_type
    if is_leaf_type(inner):
        return _Leaf(field.python_name, nullable, inner)
    shape = _shape(field_def.type)
    return None if shape.named is None else _Composite(field.python_name, shape)


def _runtime_type(schema: GraphQLSchema, named: GraphQLObjectType | GraphQLInterfaceType, value: Any) -> Any:
    """The object type graphql-core completes `value` as (through strawberry's resolve_type and is_type_of), or None
    when that takes more than the value's class: the field then goes through graphql-core."""
    if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
        return None  # strawberry.cast: resolved by the cast, not the class
    known = _RUNTIME.setdefault(schema, {})
    key = (named.name, type(value))
    if key not in known:
        known[key] = _runtime_of_class(schema, named, value)
    return known[key]


def _runtime_of_class(schema: GraphQLSchema, named: GraphQLObjectType | GraphQLInterfaceType, value: Any) -> Any:
    definition = getattr(type(value), "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_graphql_generic:
        return None  # not a strawberry object (an awaitable, an exception, an ORM row): graphql-core decides
    runtime: Any = named
    if isinstance(named, GraphQLInterfaceType):
        interface = (named.extensions or {}).get(_BACKREF)
        if not isinstance(interface, StrawberryObjectDefinition) or interface.resolve_type is not None:
            return None
        if not isinstance(value, interface.origin):
            return None
        runtime = schema.get_type(definition.name)  # strawberry's resolve_type for a direct implementation
        if not isinstance(runtime, GraphQLObjectType) or not schema.is_sub_type(named, runtime):
            return None
    if runtime.is_type_of is not None:
        own = (runtime.extensions or {}).get(_BACKREF)
        if not isinstance(own, StrawberryObjectDefinition) or own.is_type_of is not None:
            return None  # a custom is_type_of may depend on more than the class
        if not runtime.is_type_of(value, None):  # strawberry's: isinstance checks, the same for the whole class
            return None
    return runtime


class PlainFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per operation: id(grouped field set) -> (it, its type, [(response name, details, plan)]). graphql-core
        # memoises collect_subfields per operation, so the same selection of a list's items is the same object.
        self._steps: dict[int, tuple[GroupedFieldSet, GraphQLObjectType, list[tuple[str, FieldDetailsList, Any]]]] = {}

    def build_per_event_executor(self, payload: Any) -> Any:
        # A shared event already executed for this operation needs no executor of its own (a copy per subscriber).
        results = getattr(payload, "shared_results", None)
        if isinstance(results, dict):
            known = results.get(self._event_key())
            if known is not None and known[0] is self.operation:
                return _Answered(known[1])
        return super().build_per_event_executor(payload)

    def _event_key(self) -> tuple[int, str]:
        key: tuple[int, str] | None = self.__dict__.get("_shared_event_key")
        if key is None:
            key = (id(self.operation), repr(sorted(self.variable_values.coerced.items())))
            self.__dict__["_shared_event_key"] = key
        return key

    def execute_operation(self, serially: bool | None = None) -> Any:
        """A subscription event marked shared runs once per operation and variables: a thousand subscribers of one
        sync's progress cost one execution per update, not a thousand."""
        # The event keeps (operation, result) per operation and variables in its `shared_results` dict.
        results = getattr(self.root_value, "shared_results", None)
        if self.operation.operation is not OperationType.SUBSCRIPTION or not isinstance(results, dict):
            return super().execute_operation(serially)
        key = self._event_key()
        known = results.get(key)
        if known is not None and known[0] is self.operation:  # the same parsed document (ParserCache), not an id reuse
            return _shared(known[1])
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            result = asyncio.ensure_future(result)
        results[key] = (self.operation, result)
        return _shared(result)

    def _plans(
        self, parent_type: GraphQLObjectType, fields: GroupedFieldSet
    ) -> list[tuple[str, FieldDetailsList, Any]]:
        known = self._steps.get(id(fields))
        if known is not None and known[0] is fields and known[1] is parent_type:
            return known[2]
        steps = []
        for response_name, details in fields.items():
            directives = any(d.node.directives for d in details)  # @stream, or anything graphql-core should see
            plan = None if directives else _plan(self.schema, parent_type, details[0].node.name.value)
            steps.append((response_name, details, plan))
        self._steps[id(fields)] = (fields, parent_type, steps)
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's execute_fields, with plain fields completed here and the others by execute_field."""
        if position_context is not None or (self.middleware_manager and self.middleware_manager.middlewares):
            # Deferred work, or an extension that hooks `resolve` (it must see every field).
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, plan in self._plans(parent_type, grouped_field_set):
                if plan is None:
                    value = _SLOW
                elif plan.leaf:
                    value = plan.complete(source_value)
                elif isinstance(plan, _Composite):
                    value = self._complete_plain(plan, source_value, path, parent_type, response_name, details)
                else:
                    value = parent_type.name
                if value is _SLOW:
                    field_path = Path(path, response_name, parent_type.name)
                    value = self.execute_field(parent_type, source_value, details, field_path, position_context)
                    if value is Undefined:
                        continue
                if not (plan is not None and plan.leaf) and is_awaitable(value):
                    awaitable_fields.append(response_name)
                results[response_name] = value
        except Exception:
            if awaitable_fields:  # as graphql-core: the other fields' awaitables may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                results[awaitable_fields[0]] = await results[awaitable_fields[0]]
            else:
                awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's complete_value, for what resolvers return (a connection's edges, an item of a list)."""
        if position_context is None:
            shape = _shape(return_type)
            if shape.named is not None:
                completed = self._complete(shape, field_details_list, path, result)
                if completed is not _SLOW:
                    return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_plain(
        self,
        plan: _Composite,
        source: Any,
        path: Path | None,
        parent_type: GraphQLObjectType,
        response_name: str,
        details: FieldDetailsList,
    ) -> Any:
        """graphql-core's execute_field for a plain attribute holding objects, or _SLOW."""
        try:
            value = getattr(source, plan.attribute, _SLOW)
        except Exception:  # a property that raises: graphql-core reads it again and reports the error
            return _SLOW
        if value is _SLOW:
            return _SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self._complete(plan.shape, details, field_path, value)
            if completed is not _SLOW and self.is_awaitable(completed):
                return self._await_completed(completed, plan.shape.field_type, details, field_path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.shape.field_type, details, field_path)
            return None

    def _complete(self, shape: _Shape, details: FieldDetailsList, path: Path, value: Any) -> Any:
        """complete_value for an object or a list of them: the value, an awaitable or an error raised, as graphql-core
        would; or _SLOW, decided before anything runs, when graphql-core must complete it."""
        if value is None:
            return None if shape.nullable else _SLOW
        schema = self.schema
        if shape.item_type is None:
            runtime = _runtime_type(schema, shape.named, value)
            if runtime is None:
                return _SLOW
            collected = self.collect_subfields(runtime, details)
            if collected.new_defer_usages:
                return _SLOW
            return self.execute_fields(runtime, value, path, collected.grouped_field_set, None)
        if type(value) is not list and type(value) is not tuple:
            return _SLOW  # another iterable, an async one (@stream), or no list at all
        runtimes: list[tuple[GraphQLObjectType, GroupedFieldSet] | None] = []
        selections: dict[str, tuple[GraphQLObjectType, GroupedFieldSet]] = {}
        for item in value:
            if item is None:
                if not shape.item_nullable:
                    return _SLOW
                runtimes.append(None)
                continue
            runtime = _runtime_type(schema, shape.named, item)
            if runtime is None:
                return _SLOW
            selection = selections.get(runtime.name)
            if selection is None:
                collected = self.collect_subfields(runtime, details)
                if collected.new_defer_usages:
                    return _SLOW
                selection = selections[runtime.name] = (runtime, collected.grouped_field_set)
            runtimes.append(selection)
        return self._complete_list(value, runtimes, path, shape.item_type, details)

    def _complete_list(
        self,
        items: list[Any] | tuple[Any, ...],
        runtimes: list[tuple[GraphQLObjectType, GroupedFieldSet] | None],
        path: Path,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
    ) -> Any:
        """graphql-core's complete_iterable_value and complete_list_item_value, for objects."""
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, (item, selection) in enumerate(zip(items, runtimes, strict=True)):
                if selection is None:
                    completed.append(None)
                    continue
                item_path = Path(path, index, None)
                try:
                    value = self.execute_fields(selection[0], item, item_path, selection[1], None)
                    if is_awaitable(value):
                        value = self._await_completed(value, item_type, details, item_path)
                        awaitable_indices.append(index)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    value = None
                completed.append(value)
        except Exception:
            if awaitable_indices:  # as graphql-core: settle the other items' awaitables
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                completed[awaitable_indices[0]] = await completed[awaitable_indices[0]]
            else:
                awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
                for index, item_result in zip(awaitable_indices, awaited, strict=True):
                    completed[index] = item_result
            return completed

        return get_completed_results()

    async def _await_completed(
        self, completed: Awaitable[Any], return_type: GraphQLOutputType, details: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None


class _Answered:
    """The per-event executor of an event whose result is already known."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        return _shared(self._result)


def _shared(result: Any) -> Any:
    if not isinstance(result, asyncio.Future):
        return result

    async def wait() -> Any:
        return await asyncio.shield(result)  # one subscriber leaving must not cancel the others' result

    return wait()
