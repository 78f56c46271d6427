"""WebSocket clients authenticate in `connection_init`; only graphql-transport-ws is served."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from oneroster_sync.app import create_app
from oneroster_sync.settings import Endpoints
from tests.conftest import Tenant

PROTOCOL = "graphql-transport-ws"


@pytest.fixture
def client(endpoints: Endpoints) -> Iterator[TestClient]:
    with TestClient(create_app(endpoints)) as client:
        yield client


@pytest.mark.parametrize("payload", [None, {}, {"authorization": "Bearer wrong"}, {"token": "ors_1_nope"}])
def test_connection_init_without_a_valid_token_is_refused(client: TestClient, payload: dict[str, str] | None) -> None:
    with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


@pytest.mark.parametrize("style", ["authorization", "token"])
def test_connection_init_with_a_token_runs_operations_in_the_tenant(
    client: TestClient, tenant: Tenant, style: str
) -> None:
    token = tenant.tokens["viewer"]
    payload = {"authorization": f"Bearer {token}"} if style == "authorization" else {"token": token}
    with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ apps { name } }"}})
        message = ws.receive_json()
        assert message["type"] == "next"
        assert [a["name"] for a in message["payload"]["data"]["apps"]][:2] == ["csv-upload", "sftp"]


def test_the_legacy_graphql_ws_protocol_is_not_served(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        ws.receive_json()
