"""RecordOutcome: one record of a sync, with its values, field changes, issues and link to Data Browsing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from resolvers import records as record_resolvers
from resolvers.context import Context
from resolvers.pagination import Page
from resolvers.records import SyncRecord
from schema.definitions.connection import page_info
from schema.definitions.entity import Entity
from schema.definitions.enums import DataType, data_type_of, stored_data_type

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


@strawberry.type
class RecordOutcome(relay.Node):
    id: relay.NodeID[str]
    data_type: DataType
    sourced_id: str
    outcome: str = strawberry.field(description="NO_CHANGE, NEW, UPDATED, DELETED, SKIPPED, MERGED or EXCLUDED.")
    invalid: bool
    line: int | None = strawberry.field(description="Physical line in its CSV file (the header is line 1).")
    attributes: JSON = strawberry.field(description="The record's values as imported, keyed by CSV column name.")
    changes: list[FieldChange]
    issues: list[RecordIssue]
    sync_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, item: SyncRecord) -> RecordOutcome:
        record = item.record
        return cls(
            id=item.key.encode(),
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
            sync_id=item.sync_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[RecordOutcome | None]:
        found = await record_resolvers.records_by_keys(info.context, node_ids)
        return [None if item is None else cls.from_record(item) for item in found]

    @strawberry.field
    async def sync(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Sync, strawberry.lazy("schema.definitions.sync")]:
        from schema.definitions.sync import Sync

        row = await info.context.loaders.sync.load(self.sync_id)
        assert row is not None, "a record's sync belongs to the same tenant"
        return Sync.from_row(row)

    @strawberry.field(description="The entity in Data Browsing (null for rows that never became one).")
    async def entity(self, info: strawberry.Info[Context, None]) -> Entity | None:
        if not self.sourced_id:
            return None
        row = await info.context.loaders.entity.load((stored_data_type(self.data_type), self.sourced_id))
        return None if row is None else Entity.from_row(row)


@strawberry.type
class RecordOutcomeConnection(relay.Connection[RecordOutcome]):
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @classmethod
    def from_page(cls, page: Page[SyncRecord]) -> RecordOutcomeConnection:
        edges = [relay.Edge(node=RecordOutcome.from_record(item), cursor=cursor)
                 for item, cursor in zip(page.items, page.cursors, strict=True)]  # fmt: skip
        return cls(edges=edges, page_info=page_info(page), count=page.count)

    @strawberry.field(description="How many records the list holds, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
