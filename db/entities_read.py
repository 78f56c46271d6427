"""Reads for Data Browsing and the history's detail views: current entities and their references, and the stored sync
summaries (sync-wide and per school); an entity's history across syncs is db/entity_history.py. Every statement is
filtered by the caller's tenant.

Entities live in the per-type version tables of migration 0002: the current version of a sourcedId is the one with
`valid_to IS NULL`, a tombstone (kind 4) when the entity was deleted (it stays readable, with its last content).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from db.entities import TABLES, TYPE_CODES, VersionKind, attribute_columns, schools_sql
from db.field_changes import csv_columns, jsonb_value
from db.partitions import tenant_literal
from db.pool import Executor
from db.sql import Params, ident
from oneroster_csv.model import DataType
from oneroster_csv.spec import layout_specs

TYPE_OF_CODE: dict[int, DataType] = {code: data_type for data_type, code in TYPE_CODES.items()}
_DELETED = int(VersionKind.DELETED)

# Columns `search` matches besides sourcedId (case-insensitive, anywhere in the value).
SEARCH_COLUMNS: dict[DataType, tuple[str, ...]] = {
    DataType.ORGS: ("name", "identifier"),
    DataType.ACADEMIC_SESSIONS: ("title", "schoolYear"),
    DataType.COURSES: ("title", "courseCode"),
    DataType.CLASSES: ("title", "classCode"),
    DataType.USERS: ("givenName", "familyName", "username", "email", "identifier"),
    DataType.ENROLLMENTS: ("userSourcedId", "classSourcedId"),
    DataType.DEMOGRAPHICS: (),
    DataType.ROLES: ("userSourcedId", "orgSourcedId"),
    DataType.USER_PROFILES: ("username", "userSourcedId"),
}


# --- references ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A column of a data type that holds sourcedIds of `target` (comma-separated when `is_list`)."""

    field: str
    target: DataType
    is_list: bool


@cache
def reference_columns(data_type: DataType) -> tuple[Reference, ...]:
    """Every reference column of the type over all its layouts (demographics.sourcedId is its user's sourcedId)."""
    found: dict[str, Reference] = {}
    for spec in layout_specs(data_type):
        if spec.sourced_id_ref is not None:
            found.setdefault("sourcedId", Reference("sourcedId", spec.sourced_id_ref, False))
        for column in spec.columns:
            if column.ref is not None:
                found.setdefault(column.name, Reference(column.name, column.ref, column.is_list))
    return tuple(found.values())


def references_of(data_type: DataType, attributes: dict[str, Any]) -> list[tuple[str, DataType, str]]:
    """(field, target type, sourcedId) for every sourcedId the entity's attributes point to, in column order."""
    found: list[tuple[str, DataType, str]] = []
    for ref in reference_columns(data_type):
        value = attributes.get(ref.field)
        if not value:
            continue
        items = [v.strip() for v in str(value).split(",")] if ref.is_list else [str(value)]
        found += [(ref.field, ref.target, item) for item in items if item]
    return found


# --- entities ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass is six times slower to make, and a page makes 100
class EntityRow:
    """The current version of an entity."""

    data_type: DataType
    sourced_id: str
    deleted: bool
    attributes: dict[str, Any]  # non-null values keyed by CSV column name, metadata.* included
    schools: list[str]


def entity_cells(data_type: DataType, alias: str = "v") -> str:
    """The columns an EntityRow is made of, the same shape for every type (so types can share a UNION): the kind,
    the schools, the metadata and the CSV values as one text array (sourcedId first). Much cheaper than to_jsonb."""
    cells = ", ".join(f"{alias}.{ident(c)}" for c in attribute_columns(data_type))
    schools = schools_sql(data_type, alias)
    return f"{alias}.kind, {schools} AS schools, {alias}.metadata, ARRAY[{cells}]::text[] AS cells"


def entity_of_cells(data_type: DataType, row: Any) -> EntityRow:
    """An EntityRow from the columns of `entity_cells`."""
    cells = row["cells"]
    attributes = {c: v for c, v in zip(csv_columns(data_type), cells, strict=True) if v is not None}
    attributes |= {k: v for k, v in (jsonb_value(row["metadata"]) or {}).items() if v is not None}
    return EntityRow(data_type, cells[0], int(row["kind"]) == _DELETED, attributes, list(row["schools"] or []))


async def entities_by_keys(
    conn: Executor, tenant_id: int, keys: Iterable[tuple[DataType, str]]
) -> dict[tuple[DataType, str], EntityRow]:
    """The current versions (deleted ones included) of (data type, sourcedId) keys: one statement for all types."""
    by_type: dict[DataType, list[str]] = {}
    for data_type, sourced_id in keys:
        by_type.setdefault(data_type, []).append(sourced_id)
    if not by_type:
        return {}
    params = Params()
    tenant = tenant_literal(tenant_id)
    selects = [
        f"SELECT {TYPE_CODES[t]} AS data_type, {entity_cells(t)} FROM {TABLES[t]} v "
        f'WHERE v.tenant_id = {tenant} AND v.valid_to IS NULL AND v."sourcedId" = ANY({params(ids, "text[]")})'
        for t, ids in by_type.items()
    ]
    rows = await conn.fetch(" UNION ALL ".join(selects), *params.values)
    found: dict[tuple[DataType, str], EntityRow] = {}
    for row in rows:
        entity = entity_of_cells(TYPE_OF_CODE[row["data_type"]], row)
        found[(entity.data_type, entity.sourced_id)] = entity
    return found


async def entity_with_targets(
    conn: Executor, tenant_id: int, data_type: DataType, sourced_id: str
) -> tuple[EntityRow | None, list[EntityRow]]:
    """The current version of one entity and of every entity its reference columns point to, in one statement (the
    entity page: its references and theirs, without a second round trip)."""
    rows = await conn.fetch(_with_targets_sql(data_type, tenant_id), sourced_id)
    entities = [entity_of_cells(TYPE_OF_CODE[row["data_type"]], row) for row in rows]
    own = [e for e, row in zip(entities, rows, strict=True) if row["part"] == 0]
    return (own[0] if own else None), [e for e, row in zip(entities, rows, strict=True) if row["part"] > 0]


def _with_targets_sql(data_type: DataType, tenant_id: int) -> str:
    tenant = tenant_literal(tenant_id)
    parts = [f"SELECT 0 AS part, {TYPE_CODES[data_type]} AS data_type, {entity_cells(data_type, 'e')} FROM e"]
    for number, ref in enumerate(reference_columns(data_type), 1):
        value = f"e.{ident(ref.field)}"
        keys = f"ARRAY(SELECT btrim(k) FROM unnest(string_to_array({value}, ',')) AS k)" if ref.is_list else (
            f"ARRAY[{value}]")  # fmt: skip
        parts.append(f"SELECT {number} AS part, {TYPE_CODES[ref.target]} AS data_type, {entity_cells(ref.target, 't')} "
                     f"FROM e JOIN {TABLES[ref.target]} t ON t.tenant_id = {tenant} AND t.valid_to IS NULL "
                     f'AND t."sourcedId" = ANY({keys})')  # fmt: skip
    return (f"WITH e AS MATERIALIZED (SELECT * FROM {TABLES[data_type]} WHERE tenant_id = {tenant} "
            f"""AND "sourcedId" = $1 AND valid_to IS NULL) {' UNION ALL '.join(parts)}""")  # fmt: skip


def _like(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere (its own wildcards taken literally)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class EntityFilter:
    """Which current entities of one type a Data Browsing list shows."""

    tenant_id: int
    data_type: DataType
    search: str | None = None
    school_id: str | None = None
    include_deleted: bool = False
    # referencedBy: entities whose reference columns to `referenced[0]` hold the sourcedId `referenced[1]`
    referenced: tuple[DataType, str] | None = None

    def where(self, params: Params) -> str | None:
        """SQL predicates over the type's versions `v`; None when nothing can match."""
        clauses = [f"v.tenant_id = {tenant_literal(self.tenant_id)}", "v.valid_to IS NULL"]
        if not self.include_deleted:
            clauses.append(f"v.kind <> {_DELETED}")
        if self.search:
            pattern = params(_like(self.search), "text")
            columns = ["sourcedId", *SEARCH_COLUMNS[self.data_type]]
            matches = [f"v.{ident(c)} ILIKE {pattern}" for c in columns]
            if self.data_type is DataType.USERS:
                matches.append(f"""(v."givenName" || ' ' || v."familyName") ILIKE {pattern}""")
            clauses.append("(" + " OR ".join(matches) + ")")
        if self.school_id is not None:
            clauses.append(f"{params(self.school_id, 'text')} = ANY({schools_sql(self.data_type, 'v')})")
        if self.referenced is not None:
            target, sourced_id = self.referenced
            refs = [r for r in reference_columns(self.data_type) if r.target is target]
            if not refs:
                return None
            value = params(sourced_id, "text")
            tests = [
                f"{value} = ANY(string_to_array(v.{ident(r.field)}, ','))"
                if r.is_list
                else f"v.{ident(r.field)} = {value}"
                for r in refs
            ]
            clauses.append("(" + " OR ".join(tests) + ")")
        return " AND ".join(clauses)


async def page_entities(conn: Executor, where: EntityFilter, *, after: str | None, limit: int) -> list[EntityRow]:
    """Up to `limit` matching current entities in sourcedId order, strictly after the sourcedId `after`."""
    params = Params()
    predicates = where.where(params)
    if predicates is None:
        return []
    if after is not None:
        predicates += f' AND v."sourcedId" > {params(after, "text")}'
    rows = await conn.fetch(
        f"SELECT {entity_cells(where.data_type)} FROM {TABLES[where.data_type]} v WHERE {predicates} "
        f'ORDER BY v."sourcedId" LIMIT {params(limit, "int")}',
        *params.values,
    )
    return [entity_of_cells(where.data_type, r) for r in rows]


async def count_entities(conn: Executor, where: EntityFilter) -> int:
    params = Params()
    predicates = where.where(params)
    if predicates is None:
        return 0
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM {TABLES[where.data_type]} v WHERE {predicates}", *params.values
    )
    return count


# --- stored summaries ----------------------------------------------------------------------------------------------

SUMMARY_FIELDS = ("total", "no_change", "new", "updated", "deleted", "skipped", "merged", "excluded", "invalid",
                  "skipped_by_provider", "skipped_by_vendor", "received_by_vendor", "not_received")  # fmt: skip


@dataclass(frozen=True)
class SummaryRow:
    """One stored summary row: a data type's counts in a sync, sync-wide (school_id '') or for one school."""

    sync_id: int
    school_id: str
    data_type: DataType
    counts: dict[str, int]


_SUMMARY_SELECT = f"SELECT sync_id, school_id, data_type, {', '.join(SUMMARY_FIELDS)} FROM sync_summaries"


def _summary(row: Any) -> SummaryRow:
    return SummaryRow(
        sync_id=int(row["sync_id"]),
        school_id=row["school_id"],
        data_type=TYPE_OF_CODE[int(row["data_type"])],
        counts={f: int(row[f]) for f in SUMMARY_FIELDS},
    )


async def sync_wide_summaries(conn: Executor, tenant_id: int, sync_ids: Sequence[int]) -> list[SummaryRow]:
    """The sync-wide summary rows of several syncs, in (sync, data type) order: one statement."""
    rows = await conn.fetch(
        f"{_SUMMARY_SELECT} WHERE tenant_id = $1 AND sync_id = ANY($2::bigint[]) AND school_id = '' "
        "ORDER BY sync_id, data_type",
        tenant_id, list(sync_ids),
    )  # fmt: skip
    return [_summary(r) for r in rows]


async def school_summaries_page(
    conn: Executor, tenant_id: int, sync_id: int, *, after: str | None, limit: int
) -> list[tuple[str, list[SummaryRow]]]:
    """Up to `limit` schools of the sync after the school id `after` (in school id order), each with its summary
    rows in data type order: one statement."""
    rows = await conn.fetch(
        f"""{_SUMMARY_SELECT} WHERE tenant_id = $1 AND sync_id = $2 AND school_id IN (
                SELECT DISTINCT school_id FROM sync_summaries
                WHERE tenant_id = $1 AND sync_id = $2 AND school_id > coalesce($3::text, '')
                ORDER BY school_id LIMIT $4)
            ORDER BY school_id, data_type""",
        tenant_id, sync_id, after, limit,
    )  # fmt: skip
    schools: dict[str, list[SummaryRow]] = {}
    for row in rows:
        summary = _summary(row)
        schools.setdefault(summary.school_id, []).append(summary)
    return list(schools.items())


async def count_schools(conn: Executor, tenant_id: int, sync_id: int) -> int:
    count: int = await conn.fetchval(
        """SELECT count(DISTINCT school_id) FROM sync_summaries
           WHERE tenant_id = $1 AND sync_id = $2 AND school_id <> ''""",
        tenant_id, sync_id,
    )  # fmt: skip
    return count
