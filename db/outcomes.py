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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from db.entities import TABLES, TYPE_CODES, VersionKind, attribute_columns
from db.pool import Connection
from oneroster_csv.model import DataType
from oneroster_csv.spec import file_spec

OUTCOME_CODES: dict[str, int] = {"NEW": 1, "UPDATED": 2, "NO_CHANGE": 3, "DELETED": 4, "SKIPPED": 6, "MERGED": 7,
                                 "EXCLUDED": 8}  # fmt: skip
OUTCOME_NAMES: dict[int, str] = {code: name for name, code in OUTCOME_CODES.items()}
_APPLIED = (1, 2, 3)  # the outcomes of records that exist after the sync: the only ones the INVALID flag counts

# Summary column -> the outcomes it counts (INVALID additionally requires the flag).
COLUMN_OUTCOMES: dict[str, tuple[int, ...]] = {
    "TOTAL": tuple(OUTCOME_NAMES),
    **{name: (code,) for name, code in OUTCOME_CODES.items()},
    "DUPLICATES": (OUTCOME_CODES["MERGED"], OUTCOME_CODES["EXCLUDED"]),
    "INVALID": _APPLIED,
}
TYPE_OF_CODE: dict[int, DataType] = {code: data_type for data_type, code in TYPE_CODES.items()}
NO_LINE = -1  # a record without a line (carried NO_CHANGE, bulk deletion) sorts before the lines of its sourcedId
_NOT_CONTENT = frozenset({"sourcedId", "status", "dateLastModified"})  # never make a record UPDATED (§2)


@dataclass(frozen=True, order=True)
class OutcomeCursor:
    """Keyset position: the last record of a page, in the order (data_type, sourcedId, line, outcome)."""

    data_type: int
    sourced_id: str
    line: int  # NO_LINE when the record has none
    outcome: int

    def encode(self) -> str:
        return json.dumps([self.data_type, self.sourced_id, self.line, self.outcome], separators=(",", ":"))

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
class FieldChange:
    field: str  # CSV column name, metadata.* included
    before: str | None
    after: str | None


@dataclass(frozen=True)
class RecordIssue:
    code: str
    severity: str
    field: str | None
    message: str


@dataclass(frozen=True)
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

    @property
    def cursor(self) -> OutcomeCursor:
        line = NO_LINE if self.line is None else self.line
        return OutcomeCursor(TYPE_CODES[self.data_type], self.sourced_id, line, OUTCOME_CODES[self.outcome])


@dataclass(frozen=True)
class _Scope:
    """What decides where a sync's records live."""

    applied_seq: int | None  # None: the sync applied nothing, every outcome is explicit
    bulk_types: frozenset[int]


class _Params:
    """Positional parameters of one statement: each value gets the next $n, with a cast so its type is known."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _scope(conn: Connection, tenant_id: int, sync_id: int) -> _Scope | None:
    applied = await conn.fetchrow("SELECT applied_seq FROM syncs WHERE tenant_id = $1 AND id = $2", tenant_id, sync_id)
    if applied is None:
        return None
    bulk = await conn.fetch(
        """SELECT data_type FROM sync_summaries
           WHERE tenant_id = $1 AND sync_id = $2 AND school_id = '' AND file_mode = 'bulk'""",
        tenant_id, sync_id,
    )  # fmt: skip
    return _Scope(applied["applied_seq"], frozenset(int(r["data_type"]) for r in bulk))


def _outcomes_of(column: str) -> tuple[int, ...]:
    try:
        return COLUMN_OUTCOMES[column]
    except KeyError:
        raise ValueError(f"not an import summary column: {column!r}") from None


def _parts(
    data_type: DataType,
    tenant_id: int,
    sync_id: int,
    scope: _Scope,
    column: str,
    school_id: str | None,
    params: _Params,
) -> dict[str, str]:
    """Part name -> `FROM ... WHERE ...` of the part's rows that the column (and school) selects."""
    outcomes = _outcomes_of(column)
    code = TYPE_CODES[data_type]
    extra = ""
    if column == "INVALID":
        extra += " AND invalid"
    if school_id is not None:
        extra += f" AND {params(school_id, 'text')} = ANY(schools)"
    table = TABLES[data_type]
    parts: dict[str, str] = {}
    seq = scope.applied_seq
    if seq is not None:
        kinds = [k for k in outcomes if k <= int(VersionKind.DELETED)]
        if kinds:
            parts["written"] = (f"FROM {table} WHERE tenant_id = {params(tenant_id, 'bigint')} "
                                f"AND valid_from = {params(seq, 'bigint')} AND kind = ANY({params(kinds, 'int[]')})"
                                f"{extra}")  # fmt: skip
        if code in scope.bulk_types and OUTCOME_CODES["NO_CHANGE"] in outcomes:
            live = params(seq, "bigint")
            parts["carried"] = (f"FROM {table} WHERE tenant_id = {params(tenant_id, 'bigint')} "
                                f"AND valid_from < {live} AND (valid_to IS NULL OR valid_to > {live}) "
                                f"AND kind <> {int(VersionKind.DELETED)}{extra}")  # fmt: skip
    parts["explicit"] = (f"FROM record_outcomes WHERE tenant_id = {params(tenant_id, 'bigint')} "
                         f"AND sync_id = {params(sync_id, 'bigint')} AND data_type = {code} "
                         f"AND outcome = ANY({params(list(outcomes), 'int[]')}){extra}")  # fmt: skip
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
    scope = await _scope(conn, tenant_id, sync_id)
    if scope is None:
        return 0
    total = 0
    for each in _types(data_type):
        params = _Params()
        parts = _parts(each, tenant_id, sync_id, scope, column, school_id, params)
        counted = " + ".join(f"(SELECT count(*) {where})" for where in parts.values())
        total += int(await conn.fetchval(f"SELECT {counted}", *params.values))
    return total


def _types(data_type: DataType | None) -> list[DataType]:
    return list(TABLES) if data_type is None else [data_type]


def _part_query(name: str, where: str, data_type: DataType, after: OutcomeCursor | None, limit: str,
                params: _Params) -> str:  # fmt: skip
    """One part's next rows after the cursor, walking its index in key order (no OFFSET: deep pages cost the same)."""
    attributes = attribute_columns(data_type)[1:]
    if name == "explicit":
        values = ", ".join(f"NULL::text AS {_ident(c)}" for c in attributes)
        select = (f'SELECT "sourcedId", line, outcome::int AS outcome, invalid, schools, issues, attributes, changes, '
                  f"{values}, NULL::jsonb AS metadata")  # fmt: skip
        keyset = ""
        if after is not None:
            keyset = (f' AND ("sourcedId", line, outcome) > ({params(after.sourced_id, "text")}, '
                      f'{params(after.line, "int")}, {params(after.outcome, "int")})')  # fmt: skip
        return f'({select} {where}{keyset} ORDER BY "sourcedId", line, outcome LIMIT {limit})'
    values = ", ".join(_ident(c) for c in attributes)
    line = "line" if name == "written" else "NULL::int"  # a carried record has no line of this sync
    outcome = "kind::int" if name == "written" else str(OUTCOME_CODES["NO_CHANGE"])
    select = (f'SELECT "sourcedId", {line} AS line, {outcome} AS outcome, invalid, schools, issues, '
              f"NULL::jsonb AS attributes, NULL::jsonb AS changes, {values}, metadata")  # fmt: skip
    keyset = ""
    if after is not None:
        # sourcedId is unique within a versions part: the index bounds it, line and outcome only break the tie.
        sid = params(after.sourced_id, "text")
        keyset = (f' AND "sourcedId" >= {sid} AND ("sourcedId" > {sid} OR (coalesce({line}, {NO_LINE}), {outcome}) '
                  f'> ({params(after.line, "int")}, {params(after.outcome, "int")}))')  # fmt: skip
    return f'({select} {where}{keyset} ORDER BY "sourcedId" LIMIT {limit})'


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
) -> list[OutcomeRecord]:
    """The next `limit` records of the column's drill-down after `after`, in (data_type, sourcedId, line, outcome)
    order. UPDATED records carry their field changes unless `with_changes` is False."""
    scope = await _scope(conn, tenant_id, sync_id)
    if scope is None or limit <= 0:
        return []
    found: list[OutcomeRecord] = []
    for each in _types(data_type):
        code = TYPE_CODES[each]
        if after is not None and code < after.data_type:
            continue
        keyset = after if after is not None and code == after.data_type else None
        params = _Params()
        parts = _parts(each, tenant_id, sync_id, scope, column, school_id, params)
        wanted = params(limit - len(found), "int")
        union = " UNION ALL ".join(_part_query(n, w, each, keyset, wanted, params) for n, w in parts.items())
        rows = await conn.fetch(
            f'SELECT * FROM ({union}) AS p ORDER BY "sourcedId", coalesce(line, {NO_LINE}), outcome LIMIT {wanted}',
            *params.values,
        )
        found += [_record(each, row) for row in rows]
        if len(found) >= limit:
            break
    if with_changes and scope.applied_seq is not None:
        changes = await field_changes(conn, tenant_id, scope.applied_seq, found)
        found = [replace(r, changes=changes.get((r.data_type, r.sourced_id), r.changes)) for r in found]
    return found


def _json(value: Any) -> Any:
    """A jsonb value, whether or not the connection decodes jsonb itself."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _record(data_type: DataType, row: Any) -> OutcomeRecord:
    explicit = _json(row["attributes"])
    if explicit is not None:
        attributes = {k: v for k, v in explicit.items() if v is not None}
    else:
        attributes = {"sourcedId": row["sourcedId"]}
        attributes |= {c: row[c] for c in attribute_columns(data_type)[1:] if row[c] is not None}
        attributes |= {k: v for k, v in (_json(row["metadata"]) or {}).items() if v is not None}
    issues = [RecordIssue(i["code"], i["severity"], i.get("field"), i["message"]) for i in _json(row["issues"]) or []]
    changes = [FieldChange(c["field"], c["before"], c["after"]) for c in _json(row["changes"]) or []]
    return OutcomeRecord(
        data_type=data_type,
        sourced_id=row["sourcedId"],
        outcome=OUTCOME_NAMES[row["outcome"]],
        invalid=bool(row["invalid"]),
        line=row["line"],
        attributes=attributes,
        changes=changes,
        issues=issues,
        schools=list(row["schools"]),
    )


@cache
def _set_columns(data_type: DataType) -> frozenset[str]:
    """List columns compared as sets (orgSourcedIds, grades): their order says nothing."""
    names: set[str] = set()
    for version in ("1.1", "1.2"):
        try:
            names |= {c.name for c in file_spec(data_type, version).columns if c.as_set}
        except (KeyError, ValueError):
            continue  # roles and userProfiles exist in 1.2 only
    return frozenset(names)


def _same(before: str | None, after: str | None, as_set: bool) -> bool:
    if before == after:
        return True
    return as_set and before is not None and after is not None and sorted(before.split(",")) == sorted(after.split(","))


def _compare(data_type: DataType, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    sets = _set_columns(data_type)
    found = [FieldChange(c, before.get(c), after.get(c)) for c in attribute_columns(data_type)
             if c not in _NOT_CONTENT and not _same(before.get(c), after.get(c), c in sets)]  # fmt: skip
    old = {k: v for k, v in (_json(before.get("metadata")) or {}).items() if v is not None}
    new = {k: v for k, v in (_json(after.get("metadata")) or {}).items() if v is not None}
    found += [
        FieldChange(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)
    ]
    return found


async def field_changes(
    conn: Connection, tenant_id: int, applied_seq: int, records: Iterable[OutcomeRecord]
) -> dict[tuple[DataType, str], list[FieldChange]]:
    """(data type, sourcedId) -> field changes of the UPDATED records among `records` of the applied sync `applied_seq`.

    Derived from storage: the version the sync wrote against its predecessor (the one the sync closed). One query
    per data type on the page (a drill-down page usually holds one type).
    """
    by_type: dict[DataType, list[str]] = {}
    for record in records:
        if record.outcome == "UPDATED":
            by_type.setdefault(record.data_type, []).append(record.sourced_id)
    changes: dict[tuple[DataType, str], list[FieldChange]] = {}
    for data_type, keys in by_type.items():
        table = TABLES[data_type]
        rows = await conn.fetch(
            f"""SELECT cur."sourcedId", to_jsonb(cur) AS after, to_jsonb(prev) AS before
                FROM {table} cur JOIN {table} prev
                  ON prev.tenant_id = cur.tenant_id AND prev."sourcedId" = cur."sourcedId" AND prev.valid_to = $2
                WHERE cur.tenant_id = $1 AND cur.valid_from = $2 AND cur.kind = $3 AND cur."sourcedId" = ANY($4::text[])
                  AND prev.tenant_id = $1""",
            tenant_id, applied_seq, int(VersionKind.UPDATED), keys,
        )  # fmt: skip
        for row in rows:
            changes[(data_type, row["sourcedId"])] = _compare(data_type, _json(row["before"]), _json(row["after"]))
    return changes
