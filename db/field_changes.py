"""Field-level changes of a sync's UPDATED records, derived from the version it wrote and the one it closed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from db.entities import TABLES, VersionKind, attribute_columns
from db.partitions import tenant_literal
from db.pool import Connection
from db.sql import ident
from oneroster_csv.model import DataType
from oneroster_csv.spec import set_columns

_NOT_CONTENT = frozenset({"sourcedId", "status", "dateLastModified"})  # never make a record UPDATED (§2)


@dataclass(frozen=True)
class FieldChange:
    field: str  # CSV column name, metadata.* included
    before: str | None
    after: str | None


@cache
def csv_columns(data_type: DataType) -> tuple[str, ...]:
    """`attribute_columns`, computed once per type: it is read for every row of every page."""
    return tuple(attribute_columns(data_type))


def jsonb_value(value: Any) -> Any:
    """A jsonb value, whether or not the connection decodes jsonb itself."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _same(before: str | None, after: str | None, as_set: bool) -> bool:
    if before == after:
        return True
    return as_set and before is not None and after is not None and sorted(before.split(",")) == sorted(after.split(","))


def compare(data_type: DataType, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    sets = set_columns(data_type)
    found = [FieldChange(c, before.get(c), after.get(c)) for c in csv_columns(data_type)
             if c not in _NOT_CONTENT and not _same(before.get(c), after.get(c), c in sets)]  # fmt: skip
    old = {k: v for k, v in (jsonb_value(before.get("metadata")) or {}).items() if v is not None}
    new = {k: v for k, v in (jsonb_value(after.get("metadata")) or {}).items() if v is not None}
    found += [
        FieldChange(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)
    ]
    return found


async def field_changes(
    conn: Connection, tenant_id: int, sync_id: int, by_type: Mapping[DataType, list[str]]
) -> dict[tuple[DataType, str], list[FieldChange]]:
    """(data type, sourcedId) -> field changes of the sync's UPDATED records among the given keys.

    Derived from storage: the version the sync wrote against its predecessor (the one the sync closed); nothing for
    a sync that applied nothing. One query per data type on the page (a drill-down page usually holds one type).
    """
    changes: dict[tuple[DataType, str], list[FieldChange]] = {}
    tenant = tenant_literal(tenant_id)
    for data_type, keys in by_type.items():
        table = TABLES[data_type]
        cells = ", ".join(f"{{0}}.{ident(c)}" for c in csv_columns(data_type))
        rows = await conn.fetch(
            f"""SELECT cur."sourcedId", ARRAY[{cells.format("cur")}]::text[] AS after, cur.metadata AS after_metadata,
                       ARRAY[{cells.format("prev")}]::text[] AS before, prev.metadata AS before_metadata
                FROM syncs s JOIN {table} cur ON cur.tenant_id = s.tenant_id AND cur.valid_from = s.applied_seq
                JOIN {table} prev ON prev.tenant_id = cur.tenant_id AND prev."sourcedId" = cur."sourcedId"
                  AND prev.valid_to = s.applied_seq
                WHERE s.tenant_id = $1 AND s.id = $2 AND cur.tenant_id = {tenant} AND cur.kind = $3
                  AND cur."sourcedId" = ANY($4::text[]) AND prev.tenant_id = {tenant}""",
            tenant_id, sync_id, int(VersionKind.UPDATED), keys,
        )  # fmt: skip
        columns = csv_columns(data_type)
        for row in rows:
            before = {**dict(zip(columns, row["before"], strict=True)), "metadata": row["before_metadata"]}
            after = {**dict(zip(columns, row["after"], strict=True)), "metadata": row["after_metadata"]}
            changes[(data_type, row["sourcedId"])] = compare(data_type, before, after)
    return changes
