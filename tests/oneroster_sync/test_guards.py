"""The schema's guards over HTTP: depth, alias and token limits, error masking, and no field suggestions for callers
without a valid token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from resolvers import apps as app_resolvers
from schema.schema import without_suggestions
from tests.conftest import Tenant

# Sync -> App -> SyncConnection -> SyncEdge -> Sync: four levels per round.
_ROUND = "syncs(first: 1) { edges { node { app { "


def nested_query(depth: int) -> str:
    """`{ apps { ... } }` whose deepest field is at `depth` (the limiter counts root fields as depth 0)."""
    rounds, rest = divmod(depth - 1, 4)
    tail = ["syncs(first: 1) { totalCount }", "syncs(first: 1) { edges { cursor } }",
            "syncs(first: 1) { edges { node { id } } }"]  # fmt: skip
    inner = "name" if rest == 0 else tail[rest - 1]
    return "{ apps { " + _ROUND * rounds + inner + " }" * (4 * rounds) + " } }"


async def post(api: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await api.post("/graphql", json={"query": query}, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_depth_limit_rejects_deeper_queries(api: httpx.AsyncClient, tenant: Tenant) -> None:
    assert nested_query(12).count("{") == 13 and nested_query(13).count("{") == 14
    allowed = await post(api, nested_query(12), tenant.headers("viewer"))
    assert not allowed.get("errors"), allowed
    body = await post(api, nested_query(13), tenant.headers("viewer"))
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["'anonymous' exceeds maximum operation depth of 12"]


async def test_the_alias_limit_rejects_more_than_30_aliases(api: httpx.AsyncClient) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"

    assert not (await post(api, aliased(30))).get("errors")
    body = await post(api, aliased(31))
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["31 aliases found. Allowed: 30"]


async def test_the_token_limit_rejects_long_documents(api: httpx.AsyncClient, tenant: Tenant) -> None:
    def with_tokens(count: int) -> str:
        # 15 tokens besides the list's values (commas are not tokens)
        return "{ syncs(first: 1, status: [" + "QUEUED, " * (count - 15) + "]) { totalCount } }"

    assert not (await post(api, with_tokens(4000), tenant.headers("viewer"))).get("errors")
    body = await post(api, with_tokens(4001), tenant.headers("viewer"))
    assert body["data"] is None
    expected = "Syntax Error: Document contains more than 4000 tokens. Parsing aborted."
    assert [e["message"] for e in body["errors"]] == [expected]


async def test_an_unexpected_exception_is_masked(
    api: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection to 10.0.0.7 refused: password=hunter2")

    monkeypatch.setattr(app_resolvers, "list_apps", broken)
    body = await post(api, "{ apps { name } }", tenant.headers("viewer"))
    assert body["data"] is None
    assert body["errors"] == [{"message": "Internal server error", "locations": [{"line": 1, "column": 3}],
                               "path": ["apps"]}]  # fmt: skip


async def test_the_products_own_errors_are_not_masked(api: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await post(api, 'mutation { appInstall(provider: "csv-upload") { app { name } } }', tenant.headers("viewer"))
    assert body["errors"][0]["message"] == "This needs the admin role; your token has the viewer role."
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


# Each has a "Did you mean" in graphql-core's message: an unknown field, argument, type and enum value.
MISSPELLED = [
    ("{ appz { name } }", "Cannot query field 'appz' on type 'Query'."),
    ("{ apps(knd: IMPORT) { name } }", "Unknown argument 'knd' on field 'Query.apps'."),
    ("query($k: AppKnd) { apps(kind: $k) { name } }", "Unknown type 'AppKnd'."),
    ("{ apps(kind: IMPORTS) { name } }", "Value 'IMPORTS' does not exist in 'AppKind' enum."),
]


@pytest.mark.parametrize(("query", "message"), MISSPELLED)
async def test_no_suggestions_without_a_valid_token(api: httpx.AsyncClient, query: str, message: str) -> None:
    for headers in ({}, {"Authorization": "Bearer ors_1_not-a-token"}):
        body = await post(api, query, headers)
        messages = [e["message"] for e in body["errors"]]
        assert message in messages, messages
        assert not any("Did you mean" in m for m in messages), messages


@pytest.mark.parametrize(("query", "message"), MISSPELLED)
async def test_members_get_suggestions(api: httpx.AsyncClient, tenant: Tenant, query: str, message: str) -> None:
    body = await post(api, query, tenant.headers("viewer"))
    messages = [e["message"] for e in body["errors"]]
    assert any(m.startswith(message) and "Did you mean" in m for m in messages), messages


async def test_cached_validation_errors_are_decided_per_request(api: httpx.AsyncClient, tenant: Tenant) -> None:
    """Validation results are cached per document: the same misspelled query alternates between callers."""
    query = "{ appz { id } }"
    for headers, suggested in [(tenant.headers("viewer"), True), ({}, False), (tenant.headers("viewer"), True)]:
        messages = [e["message"] for e in (await post(api, query, headers))["errors"]]
        assert any("Did you mean 'apps'?" in m for m in messages) is suggested, messages


async def test_no_suggestions_in_variable_errors_without_a_token(api: httpx.AsyncClient) -> None:
    query = "query($k: AppKind) { apps(kind: $k) { name } }"
    response = await api.post("/graphql", json={"query": query, "variables": {"k": "IMPORTS"}})
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages and not any("Did you mean" in m for m in messages), messages


def test_without_suggestions_keeps_the_rest_of_the_message() -> None:
    assert without_suggestions("Cannot query field 'x' on type 'Q'. Did you mean 'a', 'b', or 'c'?") == (
        "Cannot query field 'x' on type 'Q'."
    )
    assert without_suggestions("Unknown type 'X'.") == "Unknown type 'X'."
