"""Sending sync messages: only the tenant and sync ids travel; the package stays staged under the data directory."""

from __future__ import annotations

import asyncio

import dramatiq
from dramatiq.broker import Broker

IMPORTS_QUEUE = "imports"
EXPORTS_QUEUE = "exports"
IMPORT_ACTOR = "import_sync"
EXPORT_ACTOR = "export_sync"


class SyncQueue:
    """Enqueues messages by actor name, so a process that only sends (the API with `--workers 0`, the CLI) needs
    no actor code or worker resources."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        for queue in (IMPORTS_QUEUE, EXPORTS_QUEUE):
            broker.declare_queue(queue)

    def _send(self, queue: str, actor: str, tenant_id: int, sync_id: int) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=queue, actor_name=actor, args=(tenant_id, sync_id), kwargs={}, options={}
        )
        self._broker.enqueue(message)

    async def enqueue_import(self, tenant_id: int, sync_id: int) -> None:
        # The Redis broker's client is synchronous: keep it off the event loop.
        await asyncio.to_thread(self._send, IMPORTS_QUEUE, IMPORT_ACTOR, tenant_id, sync_id)

    async def enqueue_export(self, tenant_id: int, sync_id: int) -> None:
        await asyncio.to_thread(self._send, EXPORTS_QUEUE, EXPORT_ACTOR, tenant_id, sync_id)
