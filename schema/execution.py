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

Two steps further: an object whose selected fields are all plain is completed by its selection's compiled function
(compiled.py), straight-line code with no Path, falling back to the above on anything unexpected; and a resolver
marked `linked` (field_plans.py) counts as plain whenever the page already loaded its value.

Used by passing `execution_context_class=PlainFieldsExecutionContext` to the strawberry Schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLObjectType, GraphQLOutputType, GraphQLSchema, OperationType, Undefined
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from schema.compiled import Compiled, CompiledSelections, Step
from schema.field_plans import (
    SLOW,
    Composite,
    Leaf,
    Shape,
    field_plan,
    field_plans,
    runtime_type,
    runtime_types,
    shape_of,
)


class PlainFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per operation: id(grouped field set) -> its _Selection. graphql-core memoises collect_subfields per
        # operation, so the same selection of a list's items is the same object.
        self._selections: dict[int, _Selection] = {}
        self._compiled = _COMPILED.setdefault(self.schema, CompiledSelections())
        self._runtimes = runtime_types(self.schema)
        self._plans = field_plans(self.schema)
        self._objects: dict[tuple[int, str, type], _Selection] = {}  # see compiled_object

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

    def _selection(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> _Selection:
        known = self._selections.get(id(fields))
        if known is not None and known.fields is fields and known.parent_type is parent_type:
            return known
        steps = []
        for response_name, details in fields.items():
            directives = any(d.node.directives for d in details)  # @stream, or anything graphql-core should see
            plan = None if directives else field_plan(self.schema, parent_type, details[0].node.name.value, self._plans)
            steps.append((response_name, details, plan))
        selection = self._selections[id(fields)] = _Selection(fields, parent_type, steps)
        if not (self.middleware_manager and self.middleware_manager.middlewares):  # else every field must be seen
            selection.function = self._compiled.function(parent_type, steps)
        return selection

    def compiled_object(self, named: Any, details: FieldDetailsList, value: Any) -> Any:
        """The result dict of an object held by a plain field, from the compiled function of its selection, or SLOW
        (see compiled.py)."""
        selection = self._object_selection(named, details, value)
        if selection.function is None:
            return SLOW
        return selection.function(self, value, selection.composite_details)

    def _object_selection(self, named: Any, details: FieldDetailsList, value: Any) -> _Selection:
        """The selection an object held by a field completes with, or _GRAPHQL_CORE when only graphql-core may
        complete it (a cast, a class it resolves otherwise, @defer)."""
        if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
            return _GRAPHQL_CORE  # strawberry.cast: resolved by the cast, not the class
        # Per operation, by the field's details (kept alive by graphql-core's memo) and the value's class.
        key = (id(details), named.name, value.__class__)
        known = self._objects.get(key)
        if known is None:
            known = self._objects[key] = self._selection_of_class(named, details, value)
        return known

    def _selection_of_class(self, named: Any, details: FieldDetailsList, value: Any) -> _Selection:
        runtime = runtime_type(self.schema, named, value, self._runtimes)
        if runtime is None:
            return _GRAPHQL_CORE
        collected = self.collect_subfields(runtime, details)
        if collected.new_defer_usages:
            return _GRAPHQL_CORE
        return self._selection(runtime, collected.grouped_field_set)

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
        selection = self._selection(parent_type, grouped_field_set)
        if selection.function is not None:
            completed = selection.function(self, source_value, selection.composite_details)
            if completed is not SLOW:
                return completed  # type: ignore[no-any-return]
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, plan in selection.steps:
                if plan is None:
                    value = SLOW
                elif isinstance(plan, Leaf):
                    value = plan.complete(source_value)
                elif isinstance(plan, Composite):
                    value = self._complete_plain(plan, source_value, path, parent_type, response_name, details)
                else:
                    value = parent_type.name
                if value is SLOW:
                    field_path = Path(path, response_name, parent_type.name)
                    value = self.execute_field(parent_type, source_value, details, field_path, position_context)
                    if value is Undefined:
                        continue
                if not isinstance(plan, Leaf) and is_awaitable(value):
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
            shape = shape_of(return_type)
            if shape.named is not None:
                completed = self._complete(shape, field_details_list, path, result)
                if completed is not SLOW:
                    return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_plain(
        self,
        plan: Composite,
        source: Any,
        path: Path | None,
        parent_type: GraphQLObjectType,
        response_name: str,
        details: FieldDetailsList,
    ) -> Any:
        """graphql-core's execute_field for a plain attribute holding objects, or SLOW."""
        try:
            value = getattr(source, plan.attribute, SLOW)
        except Exception:  # a property that raises: graphql-core reads it again and reports the error
            return SLOW
        if value is SLOW or (value is None and plan.linked):  # not linked: graphql-core calls the resolver
            return SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self._complete(plan.shape, details, field_path, value)
            if completed is not SLOW and self.is_awaitable(completed):
                return self._await_completed(completed, plan.shape.field_type, details, field_path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.shape.field_type, details, field_path)
            return None

    def _complete(self, shape: Shape, details: FieldDetailsList, path: Path, value: Any) -> Any:
        """complete_value for an object or a list of them: the value, an awaitable or an error raised, as graphql-core
        would; or SLOW, decided before anything runs, when graphql-core must complete it."""
        if value is None:
            return None if shape.nullable else SLOW
        if shape.item_type is None:
            selection = self._object_selection(shape.named, details, value)
            if selection is _GRAPHQL_CORE:
                return SLOW
            return self.execute_fields(selection.parent_type, value, path, selection.fields, None)
        if type(value) is not list and type(value) is not tuple:
            return SLOW  # another iterable, an async one (@stream), or no list at all
        selections: list[_Selection | None] = []
        for item in value:
            if item is None:
                if not shape.item_nullable:
                    return SLOW
                selections.append(None)
                continue
            selection = self._object_selection(shape.named, details, item)
            if selection is _GRAPHQL_CORE:
                return SLOW
            selections.append(selection)
        return self._complete_list(value, selections, path, shape.item_type, details)

    def _complete_list(
        self,
        items: list[Any] | tuple[Any, ...],
        selections: list[_Selection | None],
        path: Path,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
    ) -> Any:
        """graphql-core's complete_iterable_value and complete_list_item_value, for objects."""
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, (item, selection) in enumerate(zip(items, selections, strict=True)):
                if selection is None:
                    completed.append(None)
                    continue
                if selection.function is not None:  # no Path needed unless it fails
                    value = selection.function(self, item, selection.composite_details)
                    if value is not SLOW:
                        completed.append(value)
                        continue
                item_path = Path(path, index, None)
                try:
                    value = self.execute_fields(selection.parent_type, item, item_path, selection.fields, None)
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


class _Selection:
    """A selection of an object type in one operation: its plans, and its compiled function when it has one."""

    __slots__ = ("composite_details", "fields", "function", "parent_type", "steps")

    def __init__(self, fields: GroupedFieldSet, parent_type: GraphQLObjectType, steps: list[Step]) -> None:
        self.fields, self.parent_type, self.steps = fields, parent_type, steps
        self.function: Compiled | None = None
        # The details of the composite fields, in order: what their objects' selections are collected from.
        self.composite_details = [details for _, details, plan in steps if isinstance(plan, Composite)]


_COMPILED: WeakKeyDictionary[GraphQLSchema, CompiledSelections] = WeakKeyDictionary()
_GRAPHQL_CORE = _Selection({}, None, [])  # type: ignore[arg-type]  # an object only graphql-core's path completes


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
