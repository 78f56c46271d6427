"""The Query root type."""

from __future__ import annotations

import strawberry
from strawberry import relay

from resolvers import apps as app_resolvers
from resolvers import entities as entity_resolvers
from resolvers import syncs as sync_resolvers
from resolvers.context import Context
from schema.definitions.app import App
from schema.definitions.connection import asks
from schema.definitions.entity import Entity, EntityConnection, link_references
from schema.definitions.enums import AppKind, DataType, SyncStatus, stored_data_type
from schema.definitions.sync import SyncConnection


@strawberry.type
class Query:
    node: relay.Node | None = relay.node(description="Any object of the caller's tenant by its global id.")

    @strawberry.field(description="The tenant's installed apps.")
    async def apps(self, info: strawberry.Info[Context, None], kind: AppKind | None = None) -> list[App]:
        rows = await app_resolvers.list_apps(info.context, None if kind is None else kind.value)
        return [App.from_row(row) for row in rows]

    @strawberry.field(description="The Data Sync History, newest first, of installed apps.")
    async def syncs(
        self,
        info: strawberry.Info[Context, None],
        first: int,
        after: str | None = None,
        app_ids: list[strawberry.ID] | None = None,
        kind: AppKind | None = None,
        status: list[SyncStatus] | None = None,
    ) -> SyncConnection:
        page = await sync_resolvers.sync_page(
            info.context, first=first, after=after, app_ids=app_ids,
            kind=None if kind is None else kind.value,
            statuses=None if status is None else [s.value for s in status],
        )  # fmt: skip
        return SyncConnection.from_page(page)

    @strawberry.field(description="An entity of the tenant's current data (a deleted one too, with deleted: true).")
    async def entity(self, info: strawberry.Info[Context, None], data_type: DataType, sourced_id: str) -> Entity | None:
        if asks(info, "entity", "references", "entity"):  # the entity and those it references in one statement
            row, targets = await entity_resolvers.entity_with_targets(
                info.context, stored_data_type(data_type), sourced_id
            )
            if row is None:
                return None
            entity = Entity.from_row(row)
            link_references(entity, targets)  # its references field is then read as a plain one
            return entity
        row = await entity_resolvers.entity_by_key(info.context, stored_data_type(data_type), sourced_id)
        return None if row is None else Entity.from_row(row)

    @strawberry.field(description="Data Browsing: current entities of a type in sourcedId order.")
    async def entities(
        self,
        info: strawberry.Info[Context, None],
        data_type: DataType,
        search: str | None = None,
        school_id: strawberry.ID | None = None,
        *,
        first: int,
        after: str | None = None,
        include_deleted: bool = False,
    ) -> EntityConnection:
        page = await entity_resolvers.entity_page(
            info.context, stored_data_type(data_type), first=first, after=after, search=search, school_id=school_id,
            include_deleted=include_deleted,
        )  # fmt: skip
        return EntityConnection.from_page(page)
