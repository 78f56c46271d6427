"""Reads for Data Browsing and the history's detail views: current entities, their references and history across syncs,
and the stored sync summaries (sync-wide and per school). Every statement is filtered by the caller's tenant.

Entities live in the per-type version tables of migration 0002: the current version of a sourcedId is the one with
`valid_to IS NULL`, a tombstone (kind 4) when the entity was deleted (it stays readable, with its last content).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from db.entities import TABLES, TYPE_CODES, VersionKind, attribute_columns
from db.field_changes import FieldChange, compare, csv_columns
from db.outcomes import (
    NO_LINE,
    OUTCOME_CODES,
    OUTCOME_NAMES,
    OutcomeRecord,
    RecordIssue,
    compact_json,
)
from db.pool import Executor
from db.sql import Params, ident
from oneroster_csv.model import DataType
from oneroster_csv.spec import layout_specs

TYPE_OF_CODE: dict[int, DataType] = {code: data_type for data_type, code in TYPE_CODES.items()}
_APPLIED = (OUTCOME_CODES["NEW"], OUTCOME_CODES["UPDATED"], OUTCOME_CODES["NO_CHANGE"])
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


def _json(value: Any) -> Any:
    """A jsonb value, whether or not the connection decodes jsonb itself."""
    return json.loads(value) if isinstance(value, str | bytes) else value


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


def _attributes(data_type: DataType, doc: dict[str, Any]) -> dict[str, Any]:
    """A version row (as jsonb) -> its non-null CSV values, metadata.* included."""
    attributes: dict[str, Any] = {"sourcedId": doc["sourcedId"]}
    attributes |= {c: doc[c] for c in csv_columns(data_type)[1:] if doc.get(c) is not None}
    attributes |= {k: v for k, v in (_json(doc.get("metadata")) or {}).items() if v is not None}
    return attributes


def entity_cells(data_type: DataType, alias: str = "v") -> str:
    """The columns an EntityRow is made of, the same shape for every type (so types can share a UNION): the kind,
    the schools, the metadata and the CSV values as one text array (sourcedId first). Much cheaper than to_jsonb."""
    cells = ", ".join(f"{alias}.{ident(c)}" for c in attribute_columns(data_type))
    return f"{alias}.kind, {alias}.schools, {alias}.metadata, ARRAY[{cells}]::text[] AS cells"


def entity_of_cells(data_type: DataType, row: Any) -> EntityRow:
    """An EntityRow from the columns of `entity_cells`."""
    cells = row["cells"]
    attributes = {c: v for c, v in zip(csv_columns(data_type), cells, strict=True) if v is not None}
    attributes |= {k: v for k, v in (_json(row["metadata"]) or {}).items() if v is not None}
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
    tenant = params(tenant_id, "bigint")
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
        clauses = [f"v.tenant_id = {params(self.tenant_id, 'bigint')}", "v.valid_to IS NULL"]
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
            clauses.append(f"{params(self.school_id, 'text')} = ANY(v.schools)")
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


# --- an entity's history across syncs ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class HistoryCursor:
    """Keyset position in an entity's history: newest sync first, then (line, outcome) as in a drill-down."""

    sync_id: int
    line: int  # NO_LINE when the record has none
    outcome: int

    def encode(self) -> str:
        return compact_json([self.sync_id, self.line, self.outcome])

    @classmethod
    def decode(cls, text: str) -> HistoryCursor:
        """Raises ValueError on anything that is not an encoded history cursor."""
        try:
            sync_id, line, outcome = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a history cursor: {text!r}") from error
        if not all(isinstance(v, int) for v in (sync_id, line, outcome)):
            raise ValueError(f"not a history cursor: {text!r}")
        return cls(sync_id, line, outcome)


@dataclass(frozen=True)
class HistoryEntry:
    sync_id: int
    record: OutcomeRecord

    @property
    def cursor(self) -> HistoryCursor:
        line = NO_LINE if self.record.line is None else self.record.line
        return HistoryCursor(self.sync_id, line, OUTCOME_CODES[self.record.outcome])


def _history_union(data_type: DataType, tenant_id: int, sourced_id: str, params: Params) -> str:
    """The entity's records over the syncs of installed apps, in the parts a drill-down reads them from:
    written  - versions a sync wrote (valid_from = its applied_seq), by kind (KEPT versions are no record of it);
    carried  - bulk syncs of the type the current-at-the-time version lived across: NO_CHANGE (derived);
    explicit - record_outcomes rows (skipped, merged, excluded rows; every outcome of syncs that applied nothing)."""
    table = TABLES[data_type]
    code = TYPE_CODES[data_type]
    tenant = params(tenant_id, "bigint")
    key = params(sourced_id, "text")
    installed = "JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id AND a.uninstalled_at IS NULL"
    written = (
        f"SELECT s.id AS sync_id, v.line, v.kind::int AS outcome, v.invalid, v.issues, NULL::jsonb AS attributes, "
        f"NULL::jsonb AS changes, to_jsonb(v) AS doc, "
        f"CASE WHEN v.kind = {int(VersionKind.UPDATED)} THEN (SELECT to_jsonb(p) FROM {table} p "
        f'WHERE p.tenant_id = v.tenant_id AND p."sourcedId" = v."sourcedId" AND p.valid_to = v.valid_from) END '
        f"AS before "
        f"FROM {table} v JOIN syncs s ON s.tenant_id = v.tenant_id AND s.applied_seq = v.valid_from {installed} "
        f'WHERE v.tenant_id = {tenant} AND v."sourcedId" = {key} AND v.kind <> {int(VersionKind.KEPT)}'
    )
    carried = (
        f"SELECT s.id, NULL::int, {OUTCOME_CODES['NO_CHANGE']}, v.invalid, v.issues, NULL::jsonb, NULL::jsonb, "
        f"to_jsonb(v), NULL::jsonb "
        f"FROM {table} v JOIN syncs s ON s.tenant_id = v.tenant_id AND s.applied_seq > v.valid_from "
        f"AND (v.valid_to IS NULL OR s.applied_seq < v.valid_to) {installed} "
        f"JOIN sync_summaries ss ON ss.tenant_id = s.tenant_id AND ss.sync_id = s.id AND ss.school_id = '' "
        f"AND ss.data_type = {code} AND ss.file_mode = 'bulk' "
        f'WHERE v.tenant_id = {tenant} AND v."sourcedId" = {key} AND v.kind <> {_DELETED}'
    )
    explicit = (
        f"SELECT r.sync_id, r.line, r.outcome::int, r.invalid, r.issues, r.attributes, r.changes, NULL::jsonb, "
        f"NULL::jsonb "
        f"FROM record_outcomes r JOIN syncs s ON s.tenant_id = r.tenant_id AND s.id = r.sync_id {installed} "
        f'WHERE r.tenant_id = {tenant} AND r.data_type = {code} AND r."sourcedId" = {key}'
    )
    return f"({written}) UNION ALL ({carried}) UNION ALL ({explicit})"


def _history_record(data_type: DataType, sourced_id: str, row: Any) -> OutcomeRecord:
    outcome = int(row["outcome"])
    explicit = _json(row["attributes"])
    doc = _json(row["doc"])
    if explicit is not None:
        attributes = {k: v for k, v in explicit.items() if v is not None}
    else:
        attributes = _attributes(data_type, doc)
    changes = [FieldChange(c["field"], c["before"], c["after"]) for c in _json(row["changes"]) or []]
    before = _json(row["before"])
    if before is not None and doc is not None:
        changes = compare(data_type, before, doc)
    issues = [RecordIssue(i["code"], i["severity"], i.get("field"), i["message"]) for i in _json(row["issues"]) or []]
    return OutcomeRecord(
        data_type=data_type,
        sourced_id=sourced_id,
        outcome=OUTCOME_NAMES[outcome],
        invalid=bool(row["invalid"]) and outcome in _APPLIED,
        line=row["line"],
        attributes=attributes,
        changes=changes,
        issues=issues,
        schools=[],
    )


async def history_page(
    conn: Executor,
    tenant_id: int,
    data_type: DataType,
    sourced_id: str,
    *,
    after: HistoryCursor | None = None,
    limit: int = 100,
) -> list[HistoryEntry]:
    """The entity's records across syncs, newest sync first (then by line and outcome), after the cursor."""
    params = Params()
    union = _history_union(data_type, tenant_id, sourced_id, params)
    keyset = ""
    if after is not None:
        sync, line, outcome = params(after.sync_id, "bigint"), params(after.line, "int"), params(after.outcome, "int")
        keyset = (f"WHERE h.sync_id < {sync} OR (h.sync_id = {sync} "
                  f"AND (coalesce(h.line, {NO_LINE}), h.outcome) > ({line}, {outcome}))")  # fmt: skip
    rows = await conn.fetch(
        f"SELECT * FROM ({union}) AS h {keyset} ORDER BY h.sync_id DESC, coalesce(h.line, {NO_LINE}), h.outcome "
        f"LIMIT {params(limit, 'int')}",
        *params.values,
    )
    return [HistoryEntry(int(r["sync_id"]), _history_record(data_type, sourced_id, r)) for r in rows]


async def count_history(conn: Executor, tenant_id: int, data_type: DataType, sourced_id: str) -> int:
    params = Params()
    union = _history_union(data_type, tenant_id, sourced_id, params)
    count: int = await conn.fetchval(f"SELECT count(*) FROM ({union}) AS h", *params.values)
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
