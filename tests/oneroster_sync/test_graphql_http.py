"""GraphQL-over-HTTP conformance of /graphql for both response media types, and the GraphiQL page for browsers.

With `application/json` (the legacy type) a request the server understood answers 200, errors included; with
`application/graphql-response+json` a request whose operation never started answers 400 and carries no `data` key.
Requests that are not GraphQL requests at all (malformed JSON, no query) are 400 with either type; a mutation over
GET is 405.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oneroster_sync.graphql_view import GRAPHQL_RESPONSE_JSON, JSON, response_media_type
from tests.conftest import Tenant

BOTH = pytest.mark.parametrize("media_type", [JSON, GRAPHQL_RESPONSE_JSON])


async def post(api: httpx.AsyncClient, media_type: str, body: dict[str, Any]) -> httpx.Response:
    return await api.post("/graphql", json=body, headers={"Accept": media_type})


def media_type_of(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


@BOTH
async def test_a_valid_query_answers_200_in_the_accepted_media_type(api: httpx.AsyncClient, media_type: str) -> None:
    for response in (
        await post(api, media_type, {"query": "{ __typename }"}),
        await api.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": media_type}),
    ):
        assert response.status_code == 200
        assert media_type_of(response) == media_type
        assert response.json() == {"data": {"__typename": "Query"}}


@BOTH
async def test_an_authenticated_query_over_get_runs(api: httpx.AsyncClient, tenant: Tenant, media_type: str) -> None:
    response = await api.get(
        "/graphql", params={"query": "{ apps { name } }"}, headers={"Accept": media_type, **tenant.headers("viewer")}
    )
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["data"]["apps"]][:2] == ["csv-upload", "sftp"]


@pytest.mark.parametrize(
    ("query", "message"),
    [("{", "Syntax Error"), ("{ noSuchField }", "Cannot query field 'noSuchField'")],
    ids=["parse error", "validation error"],
)
@BOTH
async def test_parse_and_validation_errors(api: httpx.AsyncClient, media_type: str, query: str, message: str) -> None:
    response = await post(api, media_type, {"query": query})
    assert media_type_of(response) == media_type
    body = response.json()
    assert message in body["errors"][0]["message"]
    if media_type == JSON:
        assert response.status_code == 200
        assert body["data"] is None
    else:
        assert response.status_code == 400
        assert "data" not in body


@BOTH
async def test_variable_coercion_errors_never_start_the_operation(api: httpx.AsyncClient, media_type: str) -> None:
    query = 'query($t: DataType!) { entity(dataType: $t, sourcedId: "x") { id } }'
    response = await post(api, media_type, {"query": query, "variables": {"t": 7}})
    assert response.status_code == (200 if media_type == JSON else 400)
    assert ("data" in response.json()) is (media_type == JSON)


@BOTH
async def test_an_operation_that_cannot_be_determined_is_a_request_error(
    api: httpx.AsyncClient, media_type: str
) -> None:
    body = {"query": "query A { __typename } query B { __typename }", "operationName": "C"}
    response = await post(api, media_type, body)
    assert response.status_code == (200 if media_type == JSON else 400)
    assert response.json()["errors"][0]["message"] == 'Unknown operation named "C".'


@BOTH
async def test_field_errors_answer_200_with_data(api: httpx.AsyncClient, media_type: str) -> None:
    """Execution started (the unauthenticated caller's error belongs to a field): 200 and `data: null`."""
    response = await post(api, media_type, {"query": "{ apps { name } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["apps"]
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize("body", [{}, {"notquery": "{ __typename }"}, {"query": None}], ids=["empty", "typo", "null"])
@BOTH
async def test_a_missing_query_is_400(api: httpx.AsyncClient, media_type: str, body: dict[str, Any]) -> None:
    response = await post(api, media_type, body)
    assert response.status_code == 400
    assert media_type_of(response) == media_type
    assert response.json() == {"errors": [{"message": "No GraphQL query found in the request"}]}


@pytest.mark.parametrize(
    "body",
    [{"query": 0}, {"query": "{ __typename }", "variables": "x"}, {"query": "{ __typename }", "operationName": 1},
     {"query": "{ __typename }", "operationName": ["a"]}],
    ids=["query", "vars", "operation-number", "operation-array"],
)  # fmt: skip
@BOTH
async def test_parameters_of_the_wrong_type_are_400(
    api: httpx.AsyncClient, media_type: str, body: dict[str, Any]
) -> None:
    response = await post(api, media_type, body)
    assert response.status_code == 400
    assert "errors" in response.json() and "data" not in response.json()


@pytest.mark.parametrize("content", [b'{ "not a JSON', b""], ids=["truncated", "empty"])
@BOTH
async def test_a_malformed_json_body_is_400(api: httpx.AsyncClient, media_type: str, content: bytes) -> None:
    headers = {"Accept": media_type, "Content-Type": "application/json"}
    response = await api.post("/graphql", content=content, headers=headers)
    assert response.status_code == 400
    assert media_type_of(response) == media_type
    assert response.json() == {"errors": [{"message": "Unable to parse request body as JSON"}]}


@BOTH
async def test_a_mutation_over_get_is_405(api: httpx.AsyncClient, tenant: Tenant, media_type: str) -> None:
    mutation = 'mutation { appInstall(provider: "csv-upload", name: "via get") { app { name } } }'
    headers = {"Accept": media_type, **tenant.headers("admin")}
    response = await api.get("/graphql", params={"query": mutation}, headers=headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert media_type_of(response) == media_type
    assert "data" not in response.json()
    apps = await api.post("/graphql", json={"query": "{ apps { name } }"}, headers=tenant.headers("admin"))
    assert "via get" not in [a["name"] for a in apps.json()["data"]["apps"]], "the mutation must not have run"


async def test_a_post_without_a_content_type_is_a_client_error(api: httpx.AsyncClient) -> None:
    response = await api.post("/graphql", content=b"{ __typename }")
    assert 400 <= response.status_code < 500


async def test_graphiql_is_served_to_browsers(api: httpx.AsyncClient) -> None:
    response = await api.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 200
    assert media_type_of(response) == "text/html"
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json", GRAPHQL_RESPONSE_JSON),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, application/json", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, */*;q=0.1", GRAPHQL_RESPONSE_JSON),
        ("text/html", JSON),
    ],
)
def test_the_response_media_type_follows_the_clients_preference(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected
