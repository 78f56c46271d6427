"""Sync: one import or export run, and the history connection of syncs."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from db.syncs import ACTIVE_STATUSES, SyncRow
from resolvers import apps as app_resolvers
from resolvers import records as record_resolvers
from resolvers import summaries as summary_resolvers
from resolvers import syncs as sync_resolvers
from resolvers.context import Context
from resolvers.entities import school_sourced_id
from resolvers.errors import DomainError
from resolvers.syncs import SyncPage
from schema.definitions.app import App
from schema.definitions.connection import asks
from schema.definitions.enums import AppKind, DataType, SummaryColumn, SyncStatus, stored_data_type
from schema.definitions.record import RecordOutcomeConnection
from schema.definitions.summary import SchoolStatisticConnection, TypeSummary, type_summary
from schema.field_plans import linked
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
    # The row of the sync it belongs to, when read with it (a row, not the Sync: no reference cycle, so a page's
    # objects are freed as soon as it is answered, not by the garbage collector).
    known_row: strawberry.Private[SyncRow | None] = None
    # The same object goes to every subscriber of an event, so the operation runs once per event and query
    # (schema.execution); nothing in it depends on who subscribed beyond the tenant, which the event already fixes.
    # (schema.execution keeps the results there; None: not shared.)
    shared_results: strawberry.Private[dict[Any, Any] | None] = None

    @classmethod
    def of(cls, event: SyncEvent, known_row: SyncRow | None = None) -> SyncProgress:
        return cls(
            status=SyncStatus(event.status), phase=event.phase, processed=event.processed, total=event.total,
            percent=event.percent, done=event.status not in ACTIVE_STATUSES, sync_id=event.sync_id,
            known_row=known_row,
        )  # fmt: skip

    @classmethod
    def for_event(cls, event: SyncEvent) -> SyncProgress:
        """One object per published event, whichever subscriber asks (events are tenant-scoped)."""
        return _shared_progress(event)

    @strawberry.field
    async def sync(self, info: strawberry.Info[Context, None]) -> Sync:
        if self.known_row is not None:
            return Sync.from_row(self.known_row)
        row = await sync_resolvers.current_sync(info.context, self.sync_id)
        if row is None:
            raise DomainError("No sync with this id.", code="NOT_FOUND")
        return Sync.from_row(row)


@functools.lru_cache(maxsize=4096)
def _shared_progress(event: SyncEvent) -> SyncProgress:
    progress = SyncProgress.of(event)
    progress.shared_results = {}
    return progress


@linked("linked_app")
def _app(root: Sync, info: strawberry.Info[Context, None]) -> App | Awaitable[App]:
    # Loaded with the page when it comes from a history page; else (node, payloads, records) on its own.
    return root.linked_app if root.linked_app is not None else root.load_app(info.context)


async def _previous(root: Sync, info: strawberry.Info[Context, None]) -> Sync | None:
    row = await sync_resolvers.previous_sync(info.context, root.row.id)
    return None if row is None else Sync.from_row(row)


@linked("linked_summaries")
def _summaries(root: Sync, info: strawberry.Info[Context, None]) -> list[TypeSummary] | Awaitable[list[TypeSummary]]:
    if root.linked_summaries is not None:
        return root.linked_summaries
    return root.load_summaries(info.context)


@strawberry.type
class Sync(relay.Node):
    # Plain attributes wherever a history page reads every sync (the Node interface's id field is a resolver).
    id: relay.GlobalID = strawberry.field(description="The Globally Unique ID of this object")
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
    # Resolvers that answer from what the history page loaded, or load on their own (they may return an awaitable,
    # which graphql-core awaits): the SDL's field order is kept by declaring them here.
    app: App = strawberry.field(resolver=_app)  # type: ignore[assignment]
    progress: SyncProgress
    previous: Sync | None = strawberry.field(
        resolver=_previous, description="The same app's sync initiated just before this one."
    )
    summaries: list[TypeSummary] = strawberry.field(  # type: ignore[assignment]
        resolver=_summaries,
        description="One summary per data type in the sync, in DataType order (counts as stored).",
    )
    app_id: strawberry.Private[int]
    row: strawberry.Private[SyncRow]
    linked_app: strawberry.Private[App | None] = None
    linked_summaries: strawberry.Private[list[TypeSummary] | None] = None

    @classmethod
    def from_row(cls, row: SyncRow) -> Sync:
        hold = row.hold
        progress = SyncProgress.of(event_of(row, status_changed=False), known_row=row)
        sync = cls(
            id=relay.GlobalID("Sync", str(row.id)),
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
            progress=progress,
            app_id=row.app_id,
            row=row,
        )
        return sync

    @classmethod
    def resolve_id(cls, root: Sync, *, info: strawberry.Info[Context, None]) -> str:
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Sync | None]:
        rows = await sync_resolvers.syncs_by_ids(info.context, node_ids)
        return [None if row is None else cls.from_row(row) for row in rows]

    async def load_app(self, ctx: Context) -> App:
        row = await app_resolvers.app_by_id(ctx, self.app_id)
        assert row is not None, "a sync's app row is never deleted"
        return App.from_row(row)

    async def load_summaries(self, ctx: Context) -> list[TypeSummary]:
        return [type_summary(self.row, row) for row in await summary_resolvers.sync_summaries(ctx, self.row)]

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


@strawberry.type(description="An edge in a connection.")
class SyncEdge(relay.Edge[Sync]):
    pass  # a concrete class, not an alias of the generic Edge: execution completes its objects by class (a plain path)


@strawberry.type
class SyncConnection:
    # Written out instead of a relay.Connection (the same shape) so that `edges` can link the page's apps (read with
    # it) and load its summaries once per page, only when the query selects them.
    page_info: relay.PageInfo = strawberry.field(description="Pagination data for this connection")
    page: strawberry.Private[SyncPage]

    @classmethod
    def from_page(cls, page: SyncPage) -> SyncConnection:
        cursors = page.cursors
        info = relay.PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=False,  # forward-only keyset paging; the Relay spec allows false here
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )
        return cls(page=page, page_info=info)

    @strawberry.field(description="Contains the nodes in this connection")
    async def edges(self, info: strawberry.Info[Context, None]) -> list[SyncEdge]:
        syncs = [Sync.from_row(row) for row in self.page.rows]
        if asks(info, "edges", "node", "app"):
            apps = {app_id: App.from_row(row) for app_id, row in self.page.apps.items()}
            for sync in syncs:
                sync.linked_app = apps[sync.app_id]
        if asks(info, "edges", "node", "summaries"):
            for sync, summaries in zip(syncs, await info.context.loaders.summaries.load_many([s.row.id for s in syncs]),
                                       strict=True):  # fmt: skip
                sync.linked_summaries = [type_summary(sync.row, row) for row in summaries]
        return [SyncEdge(node=sync, cursor=cursor) for sync, cursor in zip(syncs, self.page.cursors, strict=True)]

    @strawberry.field(description="How many syncs match the filter, over all pages.")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        return await sync_resolvers.sync_total(info.context, self.page.filter)
