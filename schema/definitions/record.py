"""RecordOutcome: one record of a sync, with its values, field changes, issues and link to Data Browsing.

A page's relations are loaded once per page by the connection's `edges` (only those the query selects), so that every
field of a record is a plain attribute: graphql-core resolves those cheapest (no coroutine, no Info per field).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from oneroster_csv.model import DataType as StoredDataType
from resolvers import records as record_resolvers
from resolvers.context import Context
from resolvers.pagination import Page
from resolvers.records import SyncRecord
from schema.definitions.connection import asks, page_info
from schema.definitions.entity import Entity
from schema.definitions.enums import DataType, data_type_of
from schema.field_plans import linked

if TYPE_CHECKING:
    from schema.definitions.sync import Sync


@strawberry.type
class FieldChange:
    field: str = strawberry.field(description="The CSV column name (metadata.* included).")
    before: str | None
    after: str | None


@strawberry.type
class RecordIssue:
    code: str
    severity: str
    field: str | None = strawberry.field(description="The CSV column name.")
    message: str


@dataclass(frozen=True)
class Links:
    """The relations of a batch of records, loaded together (one loader call per relation)."""

    syncs: dict[int, Sync]
    entities: dict[tuple[StoredDataType, str], Entity]

    def entity(self, item: SyncRecord) -> Entity | None:
        return self.entities.get((item.record.data_type, item.record.sourced_id))

    @classmethod
    async def load(cls, ctx: Context, items: list[SyncRecord], *, syncs: bool, entities: bool) -> Links:
        from schema.definitions.sync import Sync

        found_syncs: dict[int, Sync] = {}
        if syncs:
            ids = sorted({item.sync_id for item in items})
            for row in await ctx.loaders.sync.load_many(ids):
                assert row is not None, "a record's sync belongs to the same tenant"
                found_syncs[row.id] = Sync.from_row(row)
        found_entities: dict[tuple[StoredDataType, str], Entity] = {}
        if entities:
            rows = await record_resolvers.record_entities(ctx, items)
            found_entities = {(r.data_type, r.sourced_id): Entity.from_row(r) for r in rows if r is not None}
        return cls(found_syncs, found_entities)


@linked("linked_sync")
def _linked_sync(root: RecordOutcome) -> Annotated[Sync, strawberry.lazy("schema.definitions.sync")]:
    assert root.linked_sync is not None, "loaded with the record whenever the query selects it"
    return root.linked_sync


@strawberry.type
class RecordOutcome(relay.Node):
    id: relay.GlobalID = strawberry.field(description="The Globally Unique ID of this object")
    data_type: DataType
    sourced_id: str
    outcome: str = strawberry.field(description="NO_CHANGE, NEW, UPDATED, DELETED, SKIPPED, MERGED or EXCLUDED.")
    invalid: bool
    line: int | None = strawberry.field(description="Physical line in its CSV file (the header is line 1).")
    attributes: JSON = strawberry.field(description="The record's values as imported, keyed by CSV column name.")
    changes: list[FieldChange]
    issues: list[RecordIssue]
    sync_id: strawberry.Private[int]
    linked_sync: strawberry.Private[Sync | None] = None
    # The relations come from one batch per page, loaded when the query selects them (else never read): no
    # coroutine per record. (`sync` is declared here, before `entity`, to keep the SDL's field order.)
    sync: Annotated[Sync, strawberry.lazy("schema.definitions.sync")] = strawberry.field(resolver=_linked_sync)
    entity: Entity | None = strawberry.field(
        description="The entity in Data Browsing (null for rows that never became one).", default=None
    )

    @classmethod
    def from_record(cls, item: SyncRecord, links: Links | None = None) -> RecordOutcome:
        record = item.record
        return cls(
            id=relay.GlobalID("RecordOutcome", item.key_text),
            data_type=data_type_of(record.data_type),
            sourced_id=record.sourced_id,
            outcome=record.outcome,
            invalid=record.invalid,
            line=record.line or None,  # stored line 0: a record that comes from no line (a deletion)
            attributes=JSON(record.attributes),
            changes=[FieldChange(field=c.field, before=c.before, after=c.after) for c in record.changes],
            issues=[
                RecordIssue(code=i.code, severity=i.severity, field=i.field, message=i.message) for i in record.issues
            ],
            entity=None if links is None else links.entity(item),
            sync_id=item.sync_id,
            linked_sync=None if links is None else links.syncs.get(item.sync_id),
        )

    @classmethod
    def resolve_id(cls, root: RecordOutcome, *, info: strawberry.Info[Context, None]) -> str:
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[RecordOutcome | None]:
        found = await record_resolvers.records_by_keys(info.context, node_ids)
        links = await Links.load(info.context, [item for item in found if item is not None], syncs=True, entities=True)
        return [None if item is None else cls.from_record(item, links) for item in found]


@strawberry.type(description="An edge in a connection.")
class RecordOutcomeEdge(relay.Edge[RecordOutcome]):
    pass  # a concrete class, not an alias of the generic Edge: execution completes its objects by class (a plain path)


@strawberry.type
class RecordOutcomeConnection:
    # Written out instead of a relay.Connection (the same shape) so that `edges` can be resolved: it loads the page's
    # relations, once per page.
    page_info: relay.PageInfo = strawberry.field(description="Pagination data for this connection")
    page: strawberry.Private[Page[SyncRecord]]

    @classmethod
    def from_page(cls, page: Page[SyncRecord]) -> RecordOutcomeConnection:
        return cls(page=page, page_info=page_info(page))

    @strawberry.field(description="Contains the nodes in this connection")
    async def edges(self, info: strawberry.Info[Context, None]) -> list[RecordOutcomeEdge]:
        items = self.page.items
        if asks(info, "edges", "node", "changes"):
            items = await record_resolvers.complete_records(info.context, items)
        links = await Links.load(info.context, items, syncs=asks(info, "edges", "node", "sync"),
                                 entities=asks(info, "edges", "node", "entity"))  # fmt: skip
        return [RecordOutcomeEdge(node=RecordOutcome.from_record(item, links), cursor=cursor)
                for item, cursor in zip(items, self.page.cursors, strict=True)]  # fmt: skip

    @strawberry.field(description="How many records the list holds, over all pages.")
    async def total_count(self) -> int:
        return await self.page.count()
