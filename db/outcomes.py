"""The records behind every number of an import sync's summary: counting and keyset-paging them from storage.

A sync's records of one data type are the union of three parts (see migration 0002):
  written   - versions the sync wrote (valid_from = applied_seq), by kind: NEW, UPDATED, NO_CHANGE, DELETED;
  carried   - for a bulk file only: versions live across the sync, which it re-stated unchanged (NO_CHANGE);
  explicit  - rows of `record_outcomes`: SKIPPED, MERGED, EXCLUDED, delta deletions of unknown records, and every
              outcome of a sync that applied nothing (dry run, held).
Each part walks its own index in key order from the cursor, so a page costs the same on page 1 and page 10,000;
PostgreSQL merges the parts (so the order is the database's collation, the same one the keyset compares with).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import orjson

from db.entities import TABLES, TYPE_CODES, VersionKind, schools_sql
from db.field_changes import FieldChange, csv_columns, field_changes, jsonb_value
from db.partitions import tenant_literal
from db.pool import Connection
from db.sql import Params, ident
from db.sync_scope import SyncScope, read_scope
from oneroster_csv.model import DataType

OUTCOME_CODES: dict[str, int] = {"NEW": 1, "UPDATED": 2, "NO_CHANGE": 3, "DELETED": 4, "SKIPPED": 6, "MERGED": 7,
                                 "EXCLUDED": 8}  # fmt: skip
OUTCOME_NAMES: dict[int, str] = {code: name for name, code in OUTCOME_CODES.items()}
APPLIED_OUTCOMES = (1, 2, 3)  # the outcomes of records that exist after the sync: those the INVALID flag counts

# Summary column -> the outcomes it counts (INVALID additionally requires the flag).
COLUMN_OUTCOMES: dict[str, tuple[int, ...]] = {
    "TOTAL": tuple(OUTCOME_NAMES),
    **{name: (code,) for name, code in OUTCOME_CODES.items()},
    "DUPLICATES": (OUTCOME_CODES["MERGED"], OUTCOME_CODES["EXCLUDED"]),
    "INVALID": APPLIED_OUTCOMES,
}
TYPE_OF_CODE: dict[int, DataType] = {code: data_type for data_type, code in TYPE_CODES.items()}
NO_LINE = -1  # a record without a line (carried NO_CHANGE, bulk deletion) sorts before the lines of its sourcedId


def compact_json(value: Any) -> str:
    """Compact JSON text (cursors: each record of a page has two); orjson is several times faster than json."""
    return orjson.dumps(value).decode()


@dataclass(frozen=True, order=True)
class OutcomeCursor:
    """Keyset position: the last record of a page, in the order (data_type, sourcedId, line, outcome)."""

    data_type: int
    sourced_id: str
    line: int  # NO_LINE when the record has none
    outcome: int

    def encode(self) -> str:
        return compact_json([self.data_type, self.sourced_id, self.line, self.outcome])

    @classmethod
    def decode(cls, text: str) -> OutcomeCursor:
        """Raises ValueError on anything that is not an encoded cursor."""
        try:
            data_type, sourced_id, line, outcome = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a record cursor: {text!r}") from error
        if not (isinstance(data_type, int) and isinstance(sourced_id, str) and isinstance(line, int)
                and isinstance(outcome, int)):  # fmt: skip
            raise ValueError(f"not a record cursor: {text!r}")
        return cls(data_type, sourced_id, line, outcome)


@dataclass(frozen=True)
class RecordIssue:
    code: str
    severity: str
    field: str | None
    message: str


@dataclass(slots=True)  # not frozen: a frozen dataclass is six times slower to make, and a page makes 100
class OutcomeRecord:
    """One record of a sync as the drill-downs show it."""

    data_type: DataType
    sourced_id: str  # '' for a row that had none
    outcome: str  # a name of OUTCOME_CODES
    invalid: bool
    line: int | None  # physical line in its file (header = 1); None for carried NO_CHANGE and bulk deletions
    attributes: dict[str, Any]  # non-null values keyed by CSV column name, metadata.* included
    changes: list[FieldChange]
    issues: list[RecordIssue]
    schools: list[str]
    # The record was read from its entity's current version (deleted or not): the record is its entity as it stands.
    current: bool = False

    @property
    def cursor(self) -> OutcomeCursor:
        line = NO_LINE if self.line is None else self.line
        return OutcomeCursor(TYPE_CODES[self.data_type], self.sourced_id, line, OUTCOME_CODES[self.outcome])


@dataclass(frozen=True)
class _Selection:
    """Which records a drill-down lists."""

    tenant_id: int
    sync_id: int
    column: str
    school_id: str | None


def _outcomes_of(column: str) -> tuple[int, ...]:
    try:
        return COLUMN_OUTCOMES[column]
    except KeyError:
        raise ValueError(f"not an import summary column: {column!r}") from None


def _parts(data_type: DataType, selection: _Selection, scope: SyncScope, params: Params) -> dict[str, str]:
    """Part name -> `FROM ... WHERE ...` of the part's rows that the column (and school) selects."""
    tenant_id, sync_id, column, school_id = (
        selection.tenant_id,
        selection.sync_id,
        selection.column,
        selection.school_id,
    )
    outcomes = _outcomes_of(column)
    code = TYPE_CODES[data_type]
    extra = ""
    if column == "INVALID":
        extra += " AND invalid"
    explicit_extra = extra
    if school_id is not None:
        school = params(school_id, "text")
        extra += f" AND {school} = ANY({schools_sql(data_type)})"
        explicit_extra += f" AND {school} = ANY(schools)"
    table = TABLES[data_type]
    parts: dict[str, str] = {}
    seq = scope.applied_seq
    if seq is not None:
        kinds = [k for k in outcomes if k <= int(VersionKind.DELETED)]
        if kinds:
            # (the sync named by its value: the planner then takes a later sync's versions from the partition's
            # index of them, in key order; db/partitions.py)
            parts["written"] = (f"FROM {table} WHERE tenant_id = {tenant_literal(tenant_id)} "
                                f"AND valid_from = {int(seq)} AND kind = ANY({params(kinds, 'int[]')})"
                                f"{extra}")  # fmt: skip
        if code in scope.bulk_types and OUTCOME_CODES["NO_CHANGE"] in outcomes:
            live = params(seq, "bigint")
            parts["carried"] = (f"FROM {table} WHERE tenant_id = {tenant_literal(tenant_id)} "
                                f"AND valid_from < {live} AND (valid_to IS NULL OR valid_to > {live}) "
                                f"AND kind <> {int(VersionKind.DELETED)}{extra}")  # fmt: skip
    parts["explicit"] = (f"FROM record_outcomes WHERE tenant_id = {params(tenant_id, 'bigint')} "
                         f"AND sync_id = {params(sync_id, 'bigint')} AND data_type = {code} "
                         f"AND outcome = ANY({params(list(outcomes), 'int[]')}){explicit_extra}")  # fmt: skip
    return parts


async def count_records(
    conn: Connection,
    tenant_id: int,
    sync_id: int,
    *,
    data_type: DataType | None = None,
    column: str = "TOTAL",
    school_id: str | None = None,
) -> int:
    """How many records the column's drill-down lists, counted from the stored rows (never from the summaries)."""
    _outcomes_of(column)
    scope = await read_scope(conn, tenant_id, sync_id)
    if scope is None:
        return 0
    total = 0
    for each in _types(data_type):
        params = Params()
        parts = _parts(each, _Selection(tenant_id, sync_id, column, school_id), scope, params)
        counted = " + ".join(f"(SELECT count(*) {where})" for where in parts.values())
        total += int(await conn.fetchval(f"SELECT {counted}", *params.values))
    return total


def _types(data_type: DataType | None) -> list[DataType]:
    return list(TABLES) if data_type is None else [data_type]


def _part_select(name: str, where: str, data_type: DataType, after: OutcomeCursor | None, params: Params) -> str:
    """One part's rows after the cursor, in the union's columns (versions: attribute columns; explicit: jsonb)."""
    attributes = csv_columns(data_type)[1:]
    if name == "explicit":
        values = ", ".join(f"NULL::text AS {ident(c)}" for c in attributes)
        select = (f'SELECT "sourcedId", line, outcome::int AS outcome, invalid, schools, issues, attributes, changes, '
                  f"{values}, NULL::jsonb AS metadata, false AS current")  # fmt: skip
        keyset = ""
        if after is not None:
            keyset = (f' AND ("sourcedId", line, outcome) > ({params(after.sourced_id, "text")}, '
                      f'{params(after.line, "int")}, {params(after.outcome, "int")})')  # fmt: skip
        return f"{select} {where}{keyset}"
    values = ", ".join(ident(c) for c in attributes)
    line = "line" if name == "written" else "NULL::int"  # a carried record has no line of this sync
    outcome = "kind::int" if name == "written" else str(OUTCOME_CODES["NO_CHANGE"])
    schools = schools_sql(data_type)
    select = (f'SELECT "sourcedId", {line} AS line, {outcome} AS outcome, invalid, {schools} AS schools, issues, '
              f"NULL::jsonb AS attributes, NULL::jsonb AS changes, {values}, metadata, "
              "valid_to IS NULL AS current")  # fmt: skip
    keyset = ""
    if after is not None:
        # sourcedId is unique within a versions part: the index bounds it, line and outcome only break the tie.
        sid = params(after.sourced_id, "text")
        keyset = (f' AND "sourcedId" >= {sid} AND ("sourcedId" > {sid} OR (coalesce({line}, {NO_LINE}), {outcome}) '
                  f'> ({params(after.line, "int")}, {params(after.outcome, "int")}))')  # fmt: skip
    return f"{select} {where}{keyset}"


def _order(name: str) -> str:
    # sourcedId is unique within a versions part, so its primary-key order is the part's whole order
    return '"sourcedId", line, outcome' if name == "explicit" else '"sourcedId"'


async def _page_of_type(
    conn: Connection,
    data_type: DataType,
    scope: SyncScope,
    selection: _Selection,
    after: OutcomeCursor | None,
    limit: int,
) -> list[Any]:
    """One statement: each part walks its index from the cursor for at most `limit` rows; PostgreSQL merges them.

    Two things keep a page's cost independent of its depth and of how sparse a part is:
    - with a bulk file's carried NO_CHANGE part (dense: every live entity), the other parts are bounded by the last
      key of the carried page (read first, in the same statement), so a sparse part never walks the key range beyond
      the page; when the carried part ends within the page, by the last key the part can have (an index's end);
    - the written part of a sync after the one that created the partition walks the partition's index of its later
      versions (valid_from, sourcedId), which holds just that sync's versions at that valid_from, in key order.
    """
    params = Params()
    parts = _parts(data_type, selection, scope, params)
    wanted = params(limit, "int")
    ctes: list[str] = []
    selects: list[str] = []
    # (INVALID records are few among the carried ones: bounding by them would walk the key range twice.)
    bounded = "carried" in parts and len(parts) > 1 and selection.column != "INVALID"
    if bounded:
        carried = _part_select("carried", parts["carried"], data_type, after, params)
        ctes.append(f'_carried AS MATERIALIZED ({carried} ORDER BY "sourcedId" LIMIT {wanted})')
        ctes.append(f'_bound AS MATERIALIZED (SELECT CASE WHEN count(*) = {wanted} THEN max("sourcedId") END AS last '
                    "FROM _carried)")  # fmt: skip
    for name, where in parts.items():
        if bounded and name == "carried":
            selects.append("(SELECT * FROM _carried)")
            continue
        if bounded:
            last = _last_key(name, data_type, selection, params)
            where += f' AND "sourcedId" <= coalesce((SELECT last FROM _bound), ({last}))'
        select = _part_select(name, where, data_type, after, params)
        selects.append(f"({select} ORDER BY {_order(name)} LIMIT {wanted})")
    with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
    union = " UNION ALL ".join(selects)
    return await conn.fetch(
        f'{with_clause}SELECT * FROM ({union}) AS p ORDER BY "sourcedId", coalesce(line, {NO_LINE}), outcome '
        f"LIMIT {wanted}",
        *params.values,
    )


def _last_key(name: str, data_type: DataType, selection: _Selection, params: Params) -> str:
    """A query of the greatest sourcedId a part can hold (one step from the end of an index)."""
    if name == "explicit":
        tenant, sync = params(selection.tenant_id, "bigint"), params(selection.sync_id, "bigint")
        return (f'SELECT max("sourcedId") FROM record_outcomes WHERE tenant_id = {tenant} AND sync_id = {sync} '
                f"AND data_type = {TYPE_CODES[data_type]}")  # fmt: skip
    return f'SELECT max("sourcedId") FROM {TABLES[data_type]} WHERE tenant_id = {tenant_literal(selection.tenant_id)}'


async def page_records(
    conn: Connection,
    tenant_id: int,
    sync_id: int,
    *,
    data_type: DataType | None = None,
    column: str = "TOTAL",
    school_id: str | None = None,
    after: OutcomeCursor | None = None,
    limit: int = 100,
    with_changes: bool = True,
    scope: SyncScope | None = None,
) -> list[OutcomeRecord]:
    """The next `limit` records of the column's drill-down after `after`, in (data_type, sourcedId, line, outcome)
    order. UPDATED records carry their field changes unless `with_changes` is False. `scope`: the sync's, when it
    was read with its row (a sync of this tenant); else it is read here."""
    _outcomes_of(column)
    if scope is None:
        scope = await read_scope(conn, tenant_id, sync_id)
    if scope is None or limit <= 0:
        return []
    found: list[OutcomeRecord] = []
    selection = _Selection(tenant_id, sync_id, column, school_id)
    for each in _types(data_type):
        code = TYPE_CODES[each]
        if after is not None and code < after.data_type:
            continue
        keyset = after if after is not None and code == after.data_type else None
        rows = await _page_of_type(conn, each, scope, selection, keyset, limit - len(found))
        found += [_record(each, row) for row in rows]
        if len(found) >= limit:
            break
    if with_changes and scope.applied_seq is not None:
        found = await with_field_changes(conn, tenant_id, sync_id, found)
    return found


def _record(data_type: DataType, row: Any) -> OutcomeRecord:
    explicit = row["attributes"]
    if explicit is not None:
        attributes = {k: v for k, v in jsonb_value(explicit).items() if v is not None}
    else:
        attributes = {"sourcedId": row["sourcedId"]}
        for column in csv_columns(data_type)[1:]:
            value = row[column]
            if value is not None:
                attributes[column] = value
        metadata = row["metadata"]
        if metadata:
            attributes |= {k: v for k, v in jsonb_value(metadata).items() if v is not None}
    issues = row["issues"]
    changes = row["changes"]
    outcome = row["outcome"]
    return OutcomeRecord(
        data_type,
        row["sourcedId"],
        OUTCOME_NAMES[outcome],
        # the flag belongs to applied records (§2); stored rows of skipped rows and tombstones may carry it anyway
        bool(row["invalid"]) and outcome in APPLIED_OUTCOMES,
        row["line"],
        attributes,
        [FieldChange(c["field"], c["before"], c["after"]) for c in jsonb_value(changes)] if changes else [],
        [RecordIssue(i["code"], i["severity"], i.get("field"), i["message"]) for i in jsonb_value(issues)]
        if issues
        else [],
        list(row["schools"]),
        row["current"],
    )


async def with_field_changes(
    conn: Connection, tenant_id: int, sync_id: int, records: list[OutcomeRecord]
) -> list[OutcomeRecord]:
    """`records` of the sync, the UPDATED ones with their field changes derived from storage (`field_changes`)."""
    updated: dict[DataType, list[str]] = {}
    for record in records:
        if record.outcome == "UPDATED":
            updated.setdefault(record.data_type, []).append(record.sourced_id)
    changes = await field_changes(conn, tenant_id, sync_id, updated)
    # keyed by sourcedId: only the UPDATED record takes them, not a MERGED row sharing its sourcedId
    return [
        replace(r, changes=changes.get((r.data_type, r.sourced_id), r.changes)) if r.outcome == "UPDATED" else r
        for r in records
    ]
