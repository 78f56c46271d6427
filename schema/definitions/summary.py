"""A sync's summary tables: one TypeSummary per data type, sync-wide and per school, each number opening its records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry import relay

from db.entities_read import EntityRow, SummaryRow
from db.syncs import SyncRow
from oneroster_csv.model import DataType as StoredDataType
from resolvers import records as record_resolvers
from resolvers.context import Context
from resolvers.pagination import Page
from schema.definitions.connection import page_info
from schema.definitions.entity import Entity
from schema.definitions.enums import DataType, SummaryColumn, data_type_of
from schema.definitions.record import RecordOutcomeConnection


@strawberry.interface(description="A data type's numbers in a sync (sync-wide or one school's).")
class TypeSummary:
    data_type: DataType
    total: int
    sync: strawberry.Private[SyncRow]
    school_id: strawberry.Private[str | None]

    @strawberry.field(description="The records behind one of the numbers (TOTAL by default).")
    async def records(
        self,
        info: strawberry.Info[Context, None],
        column: SummaryColumn | None = SummaryColumn.TOTAL,
        *,
        first: int,
        after: str | None = None,
    ) -> RecordOutcomeConnection:
        page = await record_resolvers.sync_records(
            info.context, self.sync, first=first, after=after, data_type=StoredDataType[self.data_type.name],
            column="TOTAL" if column is None else column.value, school_id=self.school_id,
        )  # fmt: skip
        return RecordOutcomeConnection.from_page(page)


@strawberry.type
class ImportTypeSummary(TypeSummary):
    no_change: int
    new: int
    updated: int
    deleted: int
    skipped: int
    duplicates: int = strawberry.field(description="merged + excluded")
    merged: int
    excluded: int
    invalid: int


@strawberry.type
class ExportTypeSummary(TypeSummary):
    skipped_by_provider: int
    granted_by_provider: int = strawberry.field(description="total - skippedByProvider")
    skipped_by_vendor: int
    received_by_vendor: int
    not_received: int = strawberry.field(description="Granted records the destination did not acknowledge.")


def type_summary(sync: SyncRow, row: SummaryRow) -> TypeSummary:
    """The API's summary of a stored row (counts as stored when the sync was applied, never recounted)."""
    c = row.counts
    school_id = row.school_id or None
    if sync.kind == "EXPORT":
        return ExportTypeSummary(
            data_type=data_type_of(row.data_type), total=c["total"], sync=sync, school_id=school_id,
            skipped_by_provider=c["skipped_by_provider"], granted_by_provider=c["total"] - c["skipped_by_provider"],
            skipped_by_vendor=c["skipped_by_vendor"], received_by_vendor=c["received_by_vendor"],
            not_received=c["not_received"],
        )  # fmt: skip
    return ImportTypeSummary(
        data_type=data_type_of(row.data_type), total=c["total"], sync=sync, school_id=school_id,
        no_change=c["no_change"], new=c["new"], updated=c["updated"], deleted=c["deleted"], skipped=c["skipped"],
        duplicates=c["merged"] + c["excluded"], merged=c["merged"], excluded=c["excluded"], invalid=c["invalid"],
    )  # fmt: skip


@strawberry.type
class DataTypeCount:
    data_type: DataType
    count: int


@strawberry.type
class SchoolStatistic:
    totals: list[DataTypeCount] = strawberry.field(description="The school's total per data type.")
    summaries: list[TypeSummary] = strawberry.field(description="The school's summary table, in data type order.")
    school_id: strawberry.Private[str]

    @strawberry.field(description="The school (an org); only its sourcedId when the tenant has no such org.")
    async def school(self, info: strawberry.Info[Context, None]) -> Entity:
        row = await info.context.loaders.entity.load((StoredDataType.ORGS, self.school_id))
        if row is None:  # e.g. a school that only a dry run or a held sync names
            row = EntityRow(StoredDataType.ORGS, self.school_id, False, {"sourcedId": self.school_id}, [])
        return Entity.from_row(row)

    @classmethod
    def from_rows(cls, sync: SyncRow, school_id: str, rows: list[SummaryRow]) -> SchoolStatistic:
        return cls(
            totals=[DataTypeCount(data_type=data_type_of(r.data_type), count=r.counts["total"]) for r in rows],
            summaries=[type_summary(sync, r) for r in rows],
            school_id=school_id,
        )


@strawberry.type(description="An edge in a connection.")
class SchoolStatisticEdge:
    cursor: str = strawberry.field(description="A cursor for use in pagination")
    node: SchoolStatistic = strawberry.field(description="The item at the end of the edge")


@strawberry.type
class SchoolStatisticConnection:
    # SchoolStatistic is no Node, so this is written out instead of a relay.Connection (the same shape).
    page_info: relay.PageInfo = strawberry.field(description="Pagination data for this connection")
    edges: list[SchoolStatisticEdge] = strawberry.field(description="Contains the nodes in this connection")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @classmethod
    def from_page(cls, sync: SyncRow, page: Page[tuple[str, list[SummaryRow]]]) -> SchoolStatisticConnection:
        edges = [SchoolStatisticEdge(node=SchoolStatistic.from_rows(sync, school, rows), cursor=cursor)
                 for (school, rows), cursor in zip(page.items, page.cursors, strict=True)]  # fmt: skip
        return cls(edges=edges, page_info=page_info(page), count=page.count)

    @strawberry.field(description="How many schools the sync has records of.")
    async def total_count(self) -> int:
        return await self.count()
