"""The Subscription root type (graphql-transport-ws only, authenticated in connection_init)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import subscriptions
from resolvers.context import Context
from schema.definitions.sync import Sync, SyncProgress


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The sync's current progress first, then every update; completes when the "
                             "sync stops running (succeeded, held, failed, cancelled).")  # fmt: skip
    async def sync_progress(
        self, info: strawberry.Info[Context, None], sync_id: strawberry.ID
    ) -> AsyncGenerator[SyncProgress, None]:
        async for event in subscriptions.progress_events(info.context, sync_id):
            yield SyncProgress.for_event(event)

    @strawberry.subscription(description="Every sync of the tenant (of these apps, if given) created or changing "
                             "status.")  # fmt: skip
    async def sync_updates(
        self, info: strawberry.Info[Context, None], app_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[Sync, None]:
        async for row in subscriptions.status_changes(info.context, app_ids):
            yield Sync.from_row(row)
