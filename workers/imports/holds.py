"""What an import does beside applying: approving a held sync exactly as it was computed, and explaining the
outcomes of a sync that applies nothing (held or a dry run) from the stored versions."""

from __future__ import annotations

import polars as pl

from db import imports as db_imports
from db.entities import TYPE_CODES, current_schools, current_values
from db.pool import Connection
from workers.imports.diff import content_columns, field_changes
from workers.imports.failures import HoldNotApprovable
from workers.imports.model import SCHOOLS, SOURCED_ID
from workers.imports.plan import TypePlan, counted_items, summarize


async def check_held(conn: Connection, tenant_id: int, sync_id: int) -> pl.DataFrame:
    """The held sync's stored summaries, once it is known to be an approved hold now running, with the tenant's
    data unchanged since."""
    row = await conn.fetchrow(
        "SELECT status, base_seq, approved_at FROM syncs WHERE tenant_id = $1 AND id = $2",  # under the tenant lock
        tenant_id, sync_id,
    )  # fmt: skip
    if row is None or row["status"] != "RUNNING" or row["approved_at"] is None:
        raise HoldNotApprovable("SYNC_NOT_HELD", "Only a HELD sync can be approved.")
    if row["base_seq"] != await db_imports.last_applied_seq(conn, tenant_id):
        raise HoldNotApprovable("HOLD_STALE", "Another import was applied since this sync was held, so it can no "
                                "longer be applied as computed; discard it and import the package again.")  # fmt: skip
    return await db_imports.read_summaries(conn, tenant_id, sync_id)


async def explain(conn: Connection, tenant_id: int, plan: TypePlan) -> None:
    """For a sync that applies nothing: the field changes of UPDATED records and the schools of deleted ones, read
    from the stored versions (an applied sync derives both from the versions it writes)."""
    updated = plan.updated_keys()
    if updated:
        stored = await current_values(conn, tenant_id, plan.data_type, [*content_columns(plan.data_type), "metadata"],
                                      updated)  # fmt: skip
        records = plan.records.filter(pl.col(SOURCED_ID).is_in(updated))
        plan.changes = field_changes(plan.data_type, records, stored)
    if plan.deleted.height:
        schools = await current_schools(conn, tenant_id, plan.data_type, plan.deleted[SOURCED_ID].to_list())
        plan.deleted_schools = schools.rename({"schools": SCHOOLS})


def same_as_held(plans: list[TypePlan], held: pl.DataFrame) -> None:
    """Sync-wide counts computed now must equal the held ones (deleted schools are only known once applied)."""
    now = summarize(counted_items(plans), type_codes(plans)) if plans else pl.DataFrame()
    columns = [c for c in db_imports.SUMMARY_COLUMNS if c != "school_id"]
    wide = [frame.filter(pl.col("school_id") == "").select(columns).sort("data_type") for frame in (now, held)]
    if not wide[0].equals(wide[1]):
        raise HoldNotApprovable("HOLD_CHANGED", "The sync no longer computes to what was held; discard it and "
                                "import the package again.")  # fmt: skip


def type_codes(plans: list[TypePlan]) -> list[int]:
    return [TYPE_CODES[p.data_type] for p in plans]
