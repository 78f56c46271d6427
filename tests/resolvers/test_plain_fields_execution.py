"""PlainFieldsExecutionContext answers exactly what graphql-core's own execution answers: the same data in the same
order and the same errors, for plain attributes, resolvers, directives, aliases, failing fields and extensions that
hook every field; and the product's history pages are identical under both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.relay import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema.compiled as compiled_module
from db.tenants import Principal
from resolvers.context import Context
from schema.execution import PlainFieldsExecutionContext
from schema.field_plans import linked
from schema.schema import schema
from tests.resolvers.test_history_statements import DRILL_DOWN, ENTITIES, HISTORY_PAGE, _district_with_history
from tests.workers.imports.conftest import District


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    size: int | None
    colour: Colour
    broken: int  # set to values an Int cannot hold, or None
    missing_required: str


@strawberry.interface
class Shape:
    name: str


@strawberry.type
class Square(Shape):
    side: int


@strawberry.type
class Circle(Shape):
    radius: int | None
    leaf: Leaf


@strawberry.type
class Box:
    """Plain attributes holding objects, lists of them and interfaces, some of them broken on purpose."""

    label: str
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    shapes: list[Shape]
    shape: Shape | None
    inner: Box | None

    @strawberry.field
    async def later_leaf(self) -> Leaf:
        return self.leaf

    @strawberry.field
    def failing(self) -> int:
        raise ValueError("failed")


class _Later:
    """An awaitable list item (graphql-core awaits it; the fast path leaves the list to graphql-core)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        yield from asyncio.sleep(0).__await__()
        return self.value


def _leaf(name: str, **overrides: Any) -> Leaf:
    values: dict[str, Any] = {"name": name, "size": 1, "colour": Colour.RED, "broken": 1, "missing_required": "x"}
    return Leaf(**{**values, **overrides})


def _box(label: str, inner: Box | None = None, **overrides: Any) -> Box:
    values: dict[str, Any] = {
        "label": label, "leaf": _leaf(f"{label}-leaf"), "maybe_leaf": None,
        "leaves": [_leaf(f"{label}-1"), _leaf(f"{label}-2", size=None, colour=Colour.BLUE)],
        "maybe_leaves": [_leaf(f"{label}-3"), None],
        "shapes": [Square(name="sq", side=2), Circle(name="ci", radius=None, leaf=_leaf("in-circle"))],
        "shape": Circle(name="one", radius=3, leaf=_leaf("c")), "inner": inner,
    }  # fmt: skip
    return Box(**{**values, **overrides})


@strawberry.type
class Query:
    @strawberry.field
    def boxes(self) -> list[Box]:
        return [
            _box("a", inner=_box("a-inner")),
            _box("b", maybe_leaf=_leaf("b-maybe", missing_required=None), maybe_leaves=None),
            _box("c", leaves=[_leaf("c-1", broken=2**40), _leaf("c-2", missing_required=None)]),  # item errors
            _box("d", shapes=[strawberry.cast(Square, Circle(name="cast", radius=1, leaf=_leaf("x")))]),
            _box("e", leaf=None),  # null in a non-null position: the box is null
            _box("f", shapes=[Square(name="s", side=1), None]),
            _box("g", maybe_leaves=[_leaf("g-1"), _Later(_leaf("g-awaited"))]),
            _box("h", shape=_leaf("not a shape")),
        ]

    @strawberry.field
    def good_boxes(self) -> list[Box]:
        return [_box("a", inner=_box("a-inner")), _box("b")]

    @strawberry.field
    def box(self) -> Box:
        return _box("only", leaf=_leaf("bad", missing_required=None))  # propagates to the root: data is null

    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [
            Leaf(name="a", size=1, colour=Colour.RED, broken=1, missing_required="x"),
            Leaf(name="b", size=None, colour=Colour.BLUE, broken=2**40, missing_required="y"),
            Leaf(name="c", size=3, colour=Colour.RED, broken=3, missing_required=None),  # type: ignore[arg-type]
        ]

    @strawberry.field
    async def later(self) -> Leaf:
        return Leaf(name="d", size=4, colour=Colour.BLUE, broken=4, missing_required="z")


class Shout(SchemaExtension):
    """Hooks every field's resolution."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


def _schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    options["types"] = [Square, Circle]  # reachable only through the Shape interface
    return (strawberry.Schema(Query, **options),
            strawberry.Schema(Query, execution_context_class=PlainFieldsExecutionContext, **options))  # fmt: skip


def _answer(result: Any) -> tuple[Any, list[Any]]:
    return result.data, [(e.message, e.path) for e in result.errors or []]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("{ leaves { name size colour } later { name colour } }", 0),
        ("{ leaves { second: name first: colour name } }", 0),
        ("query($no: Boolean!) { leaves { name size @include(if: $no) colour @skip(if: $no) } }", 0),
        ("{ leaves { name broken } }", 1),  # an Int out of range: a located error, null
        ("{ leaves { name missingRequired } }", 1),  # null for a non-null field: the error propagates
        ("{ later { __typename name ... on Leaf { size } ...more } } fragment more on Leaf { colour }", 0),
    ],
)
async def test_the_same_answers_as_graphql_core(query: str, errors: int) -> None:
    standard, plain = _schemas()
    variables = {"no": False}
    expected = _answer(await standard.execute(query, variable_values=variables))
    answer = _answer(await plain.execute(query, variable_values=variables))
    assert answer == expected
    assert len(answer[1]) == errors, answer[1]
    assert _keys(answer[0]) == _keys(expected[0]), "the same field order"


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return [(key, _keys(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_keys(item) for item in value]
    return None


BOX = """fragment Shapes on Shape { __typename name ... on Square { side } ... on Circle { radius leaf { name } } }
fragment Inside on Box { label leaf { name size colour } maybeLeaf { name missingRequired }
  leaves { name size colour broken missingRequired } maybeLeaves { name } shapes { ...Shapes } shape { ...Shapes }
  laterLeaf { name colour } }"""


@pytest.mark.parametrize(
    "query",
    [
        "{ boxes { ...Inside inner { ...Inside inner { label } } } }" + BOX,
        "{ boxes { label failing leaves { name } inner { label failing } } }",
        "{ boxes { label shapes { name } shape { name __typename } } }",
        "{ box { label leaf { name missingRequired } } }",
        "{ box { label } boxes { l1: label l2: label leaf { n1: name n2: name } } }",
        "query($no: Boolean!) { boxes { label leaves @include(if: $no) { name } shape @skip(if: $no) { name } } }",
    ],
)
async def test_objects_lists_and_interfaces_complete_as_graphql_core_does(query: str) -> None:
    standard, plain = _schemas()
    variables = {"no": False}
    expected = await standard.execute(query, variable_values=variables)
    answer = await plain.execute(query, variable_values=variables)
    assert _located(answer) == _located(expected)
    assert _keys(answer.data) == _keys(expected.data), "the same field order"


def _located(result: Any) -> tuple[Any, list[Any]]:
    return result.data, [(e.message, e.path, e.locations) for e in result.errors or []]


async def test_the_fast_path_covers_the_plain_objects() -> None:
    """Plain objects do not go through graphql-core's execute_field: the fast path is taken, not only correct."""
    _, plain = _schemas()
    executed: list[str] = []
    original = PlainFieldsExecutionContext.execute_field

    def counting(self: Any, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        executed.append(f"{parent_type.name}.{details[0].node.name.value}")
        return original(self, parent_type, source, details, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PlainFieldsExecutionContext, "execute_field", counting)
        result = await plain.execute(
            "{ goodBoxes { label leaf { name } leaves { name } shapes { name ... on Circle { leaf { name } } } "
            "inner { label shape { __typename } } } }"
        )
    assert not result.errors
    assert executed == ["Query.goodBoxes"], executed


async def test_plain_selections_are_compiled_once_per_document() -> None:
    """An object of plain fields is completed by its selection's compiled function, compiled at the first request of
    the document and reused by the next ones (the parser cache gives them the same nodes)."""
    _, plain = _schemas(extensions=[lambda: ParserCache(maxsize=8)])
    compiled: list[str] = []
    original = compiled_module.compile_selection

    def counting(parent_type: Any, steps: Any) -> Any:
        function = original(parent_type, steps)
        compiled.append(f"{parent_type.name}:{'compiled' if function else 'general'}")
        return function

    query = "{ goodBoxes { label leaf { name size colour } leaves { name } inner { label } } }"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled_module, "compile_selection", counting)
        first = await plain.execute(query)
        after_first = list(compiled)
        second = await plain.execute(query)
    assert not first.errors and first.data == second.data
    assert "Leaf:compiled" in after_first and "Box:compiled" in after_first, after_first
    assert compiled == after_first, "the second request compiled nothing"


RESOLVED: list[str] = []


@linked("known_leaf")
def _leaf_of(root: Holder) -> Leaf:
    RESOLVED.append(root.label)
    return root.known_leaf or _leaf(f"{root.label}-resolved")


@strawberry.type
class Holder:
    label: str
    leaf: Leaf = strawberry.field(resolver=_leaf_of)
    known_leaf: strawberry.Private[Leaf | None] = None


@strawberry.type
class HolderQuery:
    @strawberry.field
    def holders(self) -> list[Holder]:
        return [Holder(label="loaded", known_leaf=_leaf("preloaded")), Holder(label="not loaded")]


async def test_a_linked_resolver_is_read_as_a_plain_field_when_its_attribute_is_set() -> None:
    query = "{ holders { label leaf { name colour } } }"
    standard = strawberry.Schema(HolderQuery)
    plain = strawberry.Schema(HolderQuery, execution_context_class=PlainFieldsExecutionContext)
    RESOLVED.clear()
    expected = await standard.execute(query)
    assert RESOLVED == ["loaded", "not loaded"]
    RESOLVED.clear()
    answer = await plain.execute(query)
    assert _answer(answer) == _answer(expected) and not answer.errors
    assert RESOLVED == ["not loaded"], "the loaded one was read, not resolved"


async def test_an_extension_that_hooks_resolve_still_sees_every_field() -> None:
    standard, plain = _schemas(extensions=[Shout])
    query = "{ leaves { name colour } later { name } }"
    result = await plain.execute(query)
    assert _answer(result) == _answer(await standard.execute(query))
    assert result.data is not None and result.data["later"] == {"name": "D"}


async def test_the_history_pages_are_identical(
    district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, second = await _district_with_history(district, tmp_path)
    principal = Principal(district.tenant.id, "viewer")
    sync = to_base64("Sync", second)
    pages: list[tuple[str, dict[str, Any]]] = [(HISTORY_PAGE, {"first": 50}), (ENTITIES, {"first": 50})]
    pages += [(DRILL_DOWN, {"id": sync, "first": 50, "column": column}) for column in ("TOTAL", "UPDATED", "INVALID")]
    pages.append((ENTITY, {"sourcedId": "u0001"}))
    for query, variables in pages:
        answers = []
        for execution_context in (StrawberryGraphQLCoreExecutionContext, PlainFieldsExecutionContext):
            monkeypatch.setattr(schema, "execution_context_class", execution_context)
            context = Context(pool=district.pool, principal=principal)
            answers.append(_answer(await schema.execute(query, variable_values=variables, context_value=context)))
        assert answers[0] == answers[1]
        assert _keys(answers[0][0]) == _keys(answers[1][0]), "the same field order"
        assert answers[0][0] and not answers[0][1], answers[0][1]
        assert None not in answers[0][0].values(), answers[0][0]


ENTITY = """query($sourcedId: String!) { entity(dataType: USERS, sourcedId: $sourcedId) { id dataType sourcedId deleted
  attributes schools { id sourcedId } references { field dataType sourcedId entity { id dataType sourcedId deleted
  attributes } } history(first: 10) { totalCount edges { cursor node { id outcome line changes { field before after }
  issues { code } sync { id status progress { phase percent } summaries { dataType total } } } } } } }"""
