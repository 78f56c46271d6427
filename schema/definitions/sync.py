"""Sync: one import or export run, and the history connection of syncs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from db.syncs import SyncFilter, SyncRow
from resolvers import apps as app_resolvers
from resolvers import records as record_resolvers
from resolvers import summaries as summary_resolvers
from resolvers import syncs as sync_resolvers
from resolvers.context import Context
from resolvers.entities import school_sourced_id
from resolvers.errors import DomainError
from resolvers.subscriptions import ACTIVE
from resolvers.syncs import SyncPage
from schema.definitions.app import App
from schema.definitions.enums import AppKind, DataType, SummaryColumn, SyncStatus, stored_data_type
from schema.definitions.record import RecordOutcomeConnection
from schema.definitions.summary import SchoolStatisticConnection, TypeSummary, type_summary
from workers.events import SyncEvent
from workers.progress import event_of


@strawberry.type
class SyncFailure:
    code: str
    message: str


@strawberry.type
class SyncHold:
    data_type: DataType
    current_count: int
    delete_count: int
    threshold_percent: float


@strawberry.type(
    description="A sync's progress: `processed` of `total` units (bytes while receiving and parsing, "
    "rows after) of the current `phase`; `percent` is the whole sync's and never goes down."
)
class SyncProgress:
    status: SyncStatus
    phase: str
    processed: int
    total: int | None
    percent: float | None
    done: bool
    sync_id: strawberry.Private[int]
    known_sync: strawberry.Private[Sync | None] = None

    @classmethod
    def of(cls, event: SyncEvent, known_sync: Sync | None = None) -> SyncProgress:
        return cls(
            status=SyncStatus(event.status), phase=event.phase, processed=event.processed, total=event.total,
            percent=event.percent, done=event.status not in ACTIVE, sync_id=event.sync_id, known_sync=known_sync,
        )  # fmt: skip

    @strawberry.field
    async def sync(self, info: strawberry.Info[Context, None]) -> Sync:
        if self.known_sync is not None:
            return self.known_sync
        row = await sync_resolvers.current_sync(info.context, self.sync_id)
        if row is None:
            raise DomainError("No sync with this id.", code="NOT_FOUND")
        return Sync.from_row(row)


@strawberry.type
class Sync(relay.Node):
    id: relay.NodeID[int]
    kind: AppKind
    status: SyncStatus
    initiated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    dry_run: bool
    record_count: int
    error_count: int
    warning_count: int
    failure: SyncFailure | None
    hold: SyncHold | None
    app_id: strawberry.Private[int]
    row: strawberry.Private[SyncRow]

    @classmethod
    def from_row(cls, row: SyncRow) -> Sync:
        hold = row.hold
        return cls(
            id=row.id,
            kind=AppKind(row.kind),
            status=SyncStatus(row.status),
            initiated_at=row.initiated_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            dry_run=row.dry_run,
            record_count=row.record_count,
            error_count=row.error_count,
            warning_count=row.warning_count,
            failure=None
            if row.failure_code is None
            else SyncFailure(code=row.failure_code, message=row.failure_message or ""),
            hold=None
            if hold is None
            else SyncHold(
                data_type=DataType(hold["dataType"]),
                current_count=int(hold["currentCount"]),
                delete_count=int(hold["deleteCount"]),
                threshold_percent=float(hold["thresholdPercent"]),
            ),
            app_id=row.app_id,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Sync | None]:
        rows = await sync_resolvers.syncs_by_ids(info.context, node_ids)
        return [None if row is None else cls.from_row(row) for row in rows]

    @strawberry.field
    async def app(self, info: strawberry.Info[Context, None]) -> App:
        row = await app_resolvers.app_by_id(info.context, self.app_id)
        assert row is not None, "a sync's app row is never deleted"
        return App.from_row(row)

    @strawberry.field
    def progress(self) -> SyncProgress:
        return SyncProgress.of(event_of(self.row, status_changed=False), known_sync=self)

    @strawberry.field(description="The same app's sync initiated just before this one.")
    async def previous(self, info: strawberry.Info[Context, None]) -> Sync | None:
        row = await sync_resolvers.previous_sync(info.context, self.id)
        return None if row is None else Sync.from_row(row)

    @strawberry.field(description="One summary per data type in the sync, in DataType order (counts as stored).")
    async def summaries(self, info: strawberry.Info[Context, None]) -> list[TypeSummary]:
        rows = await summary_resolvers.sync_summaries(info.context, self.row)
        return [type_summary(self.row, row) for row in rows]

    @strawberry.field(description="The per-school summary tables, in school sourcedId order.")
    async def schools(
        self, info: strawberry.Info[Context, None], first: int, after: str | None = None
    ) -> SchoolStatisticConnection:
        page = await summary_resolvers.school_page(info.context, self.row, first=first, after=after)
        return SchoolStatisticConnection.from_page(self.row, page)

    @strawberry.field(description="The records behind a summary number: all types or one, sync-wide or a school's.")
    async def records(
        self,
        info: strawberry.Info[Context, None],
        data_type: DataType | None = None,
        column: SummaryColumn | None = None,
        school_id: strawberry.ID | None = None,
        *,
        first: int,
        after: str | None = None,
    ) -> RecordOutcomeConnection:
        page = await record_resolvers.sync_records(
            info.context, self.row, first=first, after=after,
            data_type=None if data_type is None else stored_data_type(data_type),
            column="TOTAL" if column is None else column.value,
            school_id=None if school_id is None else school_sourced_id(school_id),
        )  # fmt: skip
        return RecordOutcomeConnection.from_page(page)


@strawberry.type
class SyncConnection(relay.Connection[Sync]):
    where: strawberry.Private[SyncFilter]

    @classmethod
    def from_page(cls, page: SyncPage) -> SyncConnection:
        edges = [relay.Edge(node=Sync.from_row(row), cursor=c) for row, c in zip(page.rows, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=False,  # forward-only keyset paging; the Relay spec allows false here
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            where=page.filter,
        )

    @strawberry.field(description="How many syncs match the filter, over all pages.")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        return await sync_resolvers.sync_total(info.context, self.where)
