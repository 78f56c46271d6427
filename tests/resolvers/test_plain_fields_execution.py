"""PlainFieldsExecutionContext answers exactly what graphql-core's own execution answers: the same data in the same
order and the same errors, for plain attributes, resolvers, directives, aliases, failing fields and extensions that
hook every field; and the product's history pages are identical under both."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.relay import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.tenants import Principal
from resolvers.context import Context
from schema.execution import PlainFieldsExecutionContext
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


@strawberry.type
class Query:
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
    for query, variables in pages:
        answers = []
        for execution_context in (StrawberryGraphQLCoreExecutionContext, PlainFieldsExecutionContext):
            monkeypatch.setattr(schema, "execution_context_class", execution_context)
            context = Context(pool=district.pool, principal=principal)
            answers.append(_answer(await schema.execute(query, variable_values=variables, context_value=context)))
        assert answers[0] == answers[1]
        assert answers[0][0] and not answers[0][1], answers[0][1]
