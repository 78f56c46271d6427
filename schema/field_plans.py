"""How each plain field of the schema is completed without graphql-core's per-field machinery (see execution.py).

A plan is made once per (type, field) of a schema: a leaf (a scalar or enum attribute), `__typename`, a composite (an
attribute holding an object, an interface or a list of them), or None for a field only graphql-core may execute (a
resolver, arguments, field extensions). `runtime_type` answers which object type graphql-core would complete a value
as, decided from its class once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
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
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

SLOW = object()  # a plain field's value that only graphql-core may complete (to raise its error, for instance)
MIN_INT, MAX_INT = -(2**31), 2**31 - 1
_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class Leaf:
    """A plain scalar or enum attribute. `exact`: the Python type the scalar returns unchanged (str for String,
    int in range for Int); enum members' names are memoised (strawberry looks them up by value each time)."""

    __slots__ = ("attribute", "enum", "exact", "memo", "nullable", "serialize")

    def __init__(self, attribute: str, nullable: bool, leaf: Any) -> None:
        self.attribute, self.nullable, self.serialize = attribute, nullable, leaf.coerce_output_value
        exact = {GraphQLString: str, GraphQLID: str, GraphQLInt: int, GraphQLBoolean: bool}
        self.exact: type | None = next((t for scalar, t in exact.items() if leaf is scalar), None)
        if self.exact is None and _returns_its_argument(leaf.serialize):
            self.exact = dict  # a JSON scalar: an object is its own serialised form
        self.enum: type | None = getattr(leaf, "wrapped_cls", None) if isinstance(leaf, GraphQLEnumType) else None
        self.memo: dict[Any, Any] = {}

    def complete(self, source: Any) -> Any:
        try:
            value: Any = getattr(source, self.attribute, SLOW)
        except Exception:  # a property that raises: graphql-core reads it again and reports the error
            return SLOW
        if type(value) is self.exact and (self.exact is not int or MIN_INT <= value <= MAX_INT):  # type: ignore[operator]
            return value
        if value is None:
            return None if self.nullable else SLOW
        if value is SLOW:
            return SLOW
        try:
            return self.convert(value)
        except Exception:  # graphql-core raises it again, located at the field
            return SLOW

    def convert(self, value: Any) -> Any:
        """A non-null value's serialised form, or SLOW when it is an error or serialises to nothing (an enum member's
        name is memoised); a serialiser's exception propagates."""
        if isinstance(value, Exception):
            return SLOW  # a value graphql-core reports as the field's error
        if type(value) is self.enum:
            known = self.memo.get(value, SLOW)
            if known is not SLOW:
                return known
        serialized = self.serialize(value)
        if serialized is None or serialized is Undefined:
            return SLOW
        if type(value) is self.enum:
            self.memo[value] = serialized
        return serialized


def _returns_its_argument(serialize: Any) -> bool:
    probe = object()
    try:
        return serialize(probe) is probe
    except Exception:
        return False


class TypeName:
    """`__typename`: the parent type's name, as graphql-core's meta field answers it."""

    __slots__ = ()


class Shape:
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


_SHAPES: dict[int, tuple[GraphQLOutputType, Shape]] = {}  # id(type) -> (the type, kept alive; its shape)


def shape_of(field_type: GraphQLOutputType) -> Shape:
    known = _SHAPES.get(id(field_type))
    if known is None or known[0] is not field_type:
        known = _SHAPES[id(field_type)] = (field_type, Shape(field_type))
    return known[1]


class Composite:
    """A plain attribute holding an object (concrete or interface), or a list of them. `linked`: the field has a
    resolver that answers from the attribute when it is set (see `linked`), so None there means "not loaded": the
    field then goes through graphql-core and its resolver."""

    __slots__ = ("attribute", "linked", "shape")

    def __init__(self, attribute: str, shape: Shape, linked: bool = False) -> None:
        self.attribute, self.shape, self.linked = attribute, shape, linked


_LINKED = "__plain_when_linked__"
Resolver = TypeVar("Resolver", bound=Callable[..., Any])


def linked(attribute: str) -> Callable[[Resolver], Resolver]:
    """Marks a field's resolver as answering with `attribute` of its object whenever that is not None (a relation a
    page loaded for all its objects at once), so that execution reads the attribute as a plain field then and calls
    the resolver only when it is None. The resolver must answer exactly that value in that case."""

    def mark(resolver: Resolver) -> Resolver:
        setattr(resolver, _LINKED, attribute)
        return resolver

    return mark


Plan = Leaf | TypeName | Composite

# Per schema: (type name, field name) -> how to complete the field directly, or None for graphql-core; and
# (type name, class) -> the object type graphql-core would complete an instance of the class as, or None.
_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], Plan | None]] = WeakKeyDictionary()
_RUNTIME: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, type], GraphQLObjectType | None]] = WeakKeyDictionary()


def field_plans(schema: GraphQLSchema) -> dict[tuple[str, str], Plan | None]:
    """The schema's memo of `field_plan` (an execution context looks it up once, not per field)."""
    return _PLANS.setdefault(schema, {})


def field_plan(
    schema: GraphQLSchema,
    parent_type: GraphQLObjectType,
    field_name: str,
    plans: dict[tuple[str, str], Plan | None] | None = None,
) -> Plan | None:
    """How to complete the field (None: through graphql-core). `plans`: the schema's field_plans, when the caller
    holds them."""
    if plans is None:
        plans = field_plans(schema)
    key = (parent_type.name, field_name)
    if key not in plans:
        plans[key] = TypeName() if field_name == "__typename" else _plain(parent_type, field_name)
    return plans[key]


def _plain(parent_type: GraphQLObjectType, field_name: str) -> Plan | None:
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args:
        return None
    field = (field_def.extensions or {}).get(_BACKREF)
    if not getattr(field_def.resolve, "_is_default", False):
        return _linked(field_def, field)  # a resolver: plain only when marked `linked`
    if not isinstance(field, StrawberryField) or not field.is_basic_field or field.default_resolver is not getattr:
        return None  # a resolver, field extensions (permissions) or another default resolver
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    inner = field_def.type if nullable else field_def.type.of_type
    if is_leaf_type(inner):
        return Leaf(field.python_name, nullable, inner)
    shape = shape_of(field_def.type)
    return None if shape.named is None else Composite(field.python_name, shape)


def _linked(field_def: Any, field: Any) -> Plan | None:
    resolver = getattr(field, "base_resolver", None)
    attribute = getattr(getattr(resolver, "wrapped_func", None), _LINKED, None)
    if attribute is None or field.extensions or field.permission_classes:
        return None
    shape = shape_of(field_def.type)
    return None if shape.named is None else Composite(attribute, shape, linked=True)


def runtime_types(schema: GraphQLSchema) -> dict[tuple[str, type], GraphQLObjectType | None]:
    """The schema's memo of `runtime_type` (an execution context looks it up once, not per object)."""
    return _RUNTIME.setdefault(schema, {})


def runtime_type(
    schema: GraphQLSchema,
    named: GraphQLObjectType | GraphQLInterfaceType,
    value: Any,
    known: dict[tuple[str, type], GraphQLObjectType | None] | None = None,
) -> Any:
    """The object type graphql-core completes `value` as (through strawberry's resolve_type and is_type_of), or None
    when that takes more than the value's class: the field then goes through graphql-core. `known`: the schema's
    runtime_types, when the caller holds them."""
    if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
        return None  # strawberry.cast: resolved by the cast, not the class
    if known is None:
        known = runtime_types(schema)
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
