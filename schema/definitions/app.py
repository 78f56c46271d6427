"""App: an installed import or export integration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from db.apps import AppRow
from resolvers import apps as app_resolvers
from resolvers import syncs as sync_resolvers
from resolvers.context import Context
from schema.definitions.app_settings import AppSettings
from schema.definitions.enums import AppKind, SyncStatus

if TYPE_CHECKING:
    from schema.definitions.sync import SyncConnection


@strawberry.type
class App(relay.Node):
    # A plain attribute (the Node interface's id field is a resolver): the history page reads it for every sync.
    id: relay.GlobalID = strawberry.field(description="The Globally Unique ID of this object")
    name: str
    kind: AppKind
    provider: str
    installed_at: datetime
    settings: AppSettings

    @classmethod
    def from_row(cls, row: AppRow) -> App:
        return cls(
            id=relay.GlobalID("App", str(row.id)),
            name=row.name,
            kind=AppKind(row.kind),
            provider=row.provider,
            installed_at=row.installed_at,
            settings=AppSettings.from_stored(row.settings),
        )

    @classmethod
    def resolve_id(cls, root: App, *, info: strawberry.Info[Context, None]) -> str:
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[App | None]:
        rows = await app_resolvers.apps_by_ids(info.context, node_ids)
        return [None if row is None else cls.from_row(row) for row in rows]

    @strawberry.field
    async def syncs(
        self,
        info: strawberry.Info[Context, None],
        first: int,
        after: str | None = None,
        status: list[SyncStatus] | None = None,
    ) -> Annotated[SyncConnection, strawberry.lazy("schema.definitions.sync")]:
        from schema.definitions.sync import SyncConnection

        page = await sync_resolvers.sync_page(
            info.context, first=first, after=after, app_id=int(self.id.node_id),
            statuses=None if status is None else [s.value for s in status],
        )  # fmt: skip
        return SyncConnection.from_page(page)
