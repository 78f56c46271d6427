"""An entity's history across syncs: every record any sync had for its (data type, sourcedId), newest sync first,
keyset-paged; versions the syncs wrote and their explicit outcomes alike, always within the caller's tenant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from db.entities import TABLES, TYPE_CODES, VersionKind
from db.field_changes import FieldChange, compare, csv_columns, jsonb_value
from db.outcomes import (
    APPLIED_OUTCOMES,
    NO_LINE,
    OUTCOME_CODES,
    OUTCOME_NAMES,
    OutcomeRecord,
    RecordIssue,
    compact_json,
)
from db.partitions import tenant_literal
from db.pool import Executor
from db.sql import Params
from oneroster_csv.model import DataType


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
    tenant, versions_of = params(tenant_id, "bigint"), tenant_literal(tenant_id)
    key = params(sourced_id, "text")
    installed = "JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id AND a.uninstalled_at IS NULL"
    written = (
        f"SELECT s.id AS sync_id, v.line, v.kind::int AS outcome, v.invalid, v.issues, NULL::jsonb AS attributes, "
        f"NULL::jsonb AS changes, to_jsonb(v) AS doc, "
        f"CASE WHEN v.kind = {int(VersionKind.UPDATED)} THEN (SELECT to_jsonb(p) FROM {table} p "
        f'WHERE p.tenant_id = {versions_of} AND p."sourcedId" = v."sourcedId" AND p.valid_to = v.valid_from) END '
        f"AS before "
        f"FROM {table} v JOIN syncs s ON s.tenant_id = v.tenant_id AND s.applied_seq = v.valid_from {installed} "
        f'WHERE v.tenant_id = {versions_of} AND v."sourcedId" = {key} AND v.kind <> {int(VersionKind.KEPT)}'
    )
    carried = (
        f"SELECT s.id, NULL::int, {OUTCOME_CODES['NO_CHANGE']}, v.invalid, v.issues, NULL::jsonb, NULL::jsonb, "
        f"to_jsonb(v), NULL::jsonb "
        f"FROM {table} v JOIN syncs s ON s.tenant_id = v.tenant_id AND s.applied_seq > v.valid_from "
        f"AND (v.valid_to IS NULL OR s.applied_seq < v.valid_to) {installed} "
        f"JOIN sync_summaries ss ON ss.tenant_id = s.tenant_id AND ss.sync_id = s.id AND ss.school_id = '' "
        f"AND ss.data_type = {code} AND ss.file_mode = 'bulk' "
        f'WHERE v.tenant_id = {versions_of} AND v."sourcedId" = {key} AND v.kind <> {int(VersionKind.DELETED)}'
    )
    explicit = (
        f"SELECT r.sync_id, r.line, r.outcome::int, r.invalid, r.issues, r.attributes, r.changes, NULL::jsonb, "
        f"NULL::jsonb "
        f"FROM record_outcomes r JOIN syncs s ON s.tenant_id = r.tenant_id AND s.id = r.sync_id {installed} "
        f'WHERE r.tenant_id = {tenant} AND r.data_type = {code} AND r."sourcedId" = {key}'
    )
    return f"({written}) UNION ALL ({carried}) UNION ALL ({explicit})"


def _attributes(data_type: DataType, doc: dict[str, Any]) -> dict[str, Any]:
    """A version row (as jsonb) -> its non-null CSV values, metadata.* included."""
    attributes: dict[str, Any] = {"sourcedId": doc["sourcedId"]}
    attributes |= {c: doc[c] for c in csv_columns(data_type)[1:] if doc.get(c) is not None}
    attributes |= {k: v for k, v in (jsonb_value(doc.get("metadata")) or {}).items() if v is not None}
    return attributes


def _history_record(data_type: DataType, sourced_id: str, row: Any) -> OutcomeRecord:
    outcome = int(row["outcome"])
    explicit = jsonb_value(row["attributes"])
    doc = jsonb_value(row["doc"])
    if explicit is not None:
        attributes = {k: v for k, v in explicit.items() if v is not None}
    else:
        attributes = _attributes(data_type, doc)
    changes = [FieldChange(c["field"], c["before"], c["after"]) for c in jsonb_value(row["changes"]) or []]
    before = jsonb_value(row["before"])
    if before is not None and doc is not None:
        changes = compare(data_type, before, doc)
    issues = [
        RecordIssue(i["code"], i["severity"], i.get("field"), i["message"]) for i in jsonb_value(row["issues"]) or []
    ]
    return OutcomeRecord(
        data_type=data_type,
        sourced_id=sourced_id,
        outcome=OUTCOME_NAMES[outcome],
        invalid=bool(row["invalid"]) and outcome in APPLIED_OUTCOMES,
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
