"""The tenant's current data an import needs, and the state each data type will be in after the sync.

The snapshot is read once, columnar, inside the import's transaction (under the tenant's import lock), so the diff and
the apply see the same data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from db.entities import KEY_SCHEMA, VersionKind, current_keys, current_keys_and_values, current_values
from db.pool import Connection
from oneroster_csv.model import DataType, FileMode
from oneroster_csv.normalize import repeated
from workers.imports.model import SOURCED_ID, TypeRows

# The columns school attribution and the cross-file checks read from each type's post-sync state.
ATTRIBUTION_COLUMNS: dict[DataType, tuple[str, ...]] = {
    DataType.ORGS: ("type", "parentSourcedId"),
    DataType.ACADEMIC_SESSIONS: ("parentSourcedId",),
    DataType.CLASSES: ("schoolSourcedId", "courseSourcedId", "termSourcedIds"),
    DataType.USERS: ("orgSourcedIds", "primaryOrgSourcedId"),
    DataType.ROLES: ("userSourcedId", "orgSourcedId"),
}
# A current version that is not a tombstone: its entity is live.
LIVE = pl.col("kind") != int(VersionKind.DELETED)


def marked(rows: pl.Series, height: int) -> pl.Series:
    """A mask over `height` rows, true at the row indices `rows` (nulls ignored): which current keys some rows
    name, without joining every current key with them."""
    return repeated(False, height, pl.Boolean()).scatter(rows.drop_nulls(), True)


def unnamed_live(current: pl.DataFrame, named: pl.Series) -> pl.Series:
    """The sourcedIds of the live entities among the current keys `current` whose rows are not in `named` (row
    indices into `current`); the strings are only taken of the few left."""
    return current.filter(LIVE & ~marked(named, current.height))[SOURCED_ID]


@dataclass
class Snapshot:
    """Current keys (with row hash and version kind, deleted entities included) and attribution columns."""

    keys: dict[DataType, pl.DataFrame] = field(default_factory=dict)
    values: dict[DataType, pl.DataFrame] = field(default_factory=dict)
    _live: dict[DataType, pl.Series] = field(default_factory=dict, init=False, repr=False)  # live_keys, once per type

    def keys_of(self, data_type: DataType) -> pl.DataFrame:
        return self.keys.get(data_type, pl.DataFrame(schema=KEY_SCHEMA))

    def live_keys(self, data_type: DataType) -> pl.Series:
        if data_type not in self._live:
            frame = self.keys.get(data_type)
            self._live[data_type] = (
                pl.Series(SOURCED_ID, [], pl.String) if frame is None else frame.filter(LIVE)[SOURCED_ID]
            )
        return self._live[data_type]

    def live_count(self, data_type: DataType) -> int:
        """How many live entities of the type there are (without a copy of their keys)."""
        if data_type in self._live or data_type not in self.keys:
            return self.live_keys(data_type).len()
        return int(self.keys[data_type].select(LIVE.sum()).item())

    def current(self, data_type: DataType) -> pl.DataFrame:
        columns = ATTRIBUTION_COLUMNS[data_type]
        frame = self.values.get(data_type)
        if frame is None:
            return pl.DataFrame(schema={c: pl.String for c in (SOURCED_ID, *columns)})
        return frame


async def load_snapshot(conn: Connection, tenant_id: int, types: Iterable[DataType]) -> Snapshot:
    """The current keys of `types` and the attribution columns of every type that has them (a type wanted for both
    is read once)."""
    snapshot = Snapshot()
    wanted = set(types)
    for data_type, columns in ATTRIBUTION_COLUMNS.items():
        if data_type in wanted:
            keys, values = await current_keys_and_values(conn, tenant_id, data_type, columns)
            snapshot.keys[data_type], snapshot.values[data_type] = keys, values
        else:
            snapshot.values[data_type] = await current_values(conn, tenant_id, data_type, columns)
    for data_type in wanted - ATTRIBUTION_COLUMNS.keys():
        snapshot.keys[data_type] = await current_keys(conn, tenant_id, data_type)
    return snapshot


def post_keys(snapshot: Snapshot, data_type: DataType, rows: TypeRows | None) -> pl.Series:
    """sourcedIds of the entities of `data_type` that will exist after the sync."""
    live = snapshot.live_keys(data_type)
    if rows is None:
        return live
    records = rows.records[SOURCED_ID]
    if rows.mode is FileMode.BULK:
        kept = kept_keys(snapshot, rows)
        return records if kept.len() == 0 else pl.concat([records, kept])  # disjoint: kept keys have no record
    gone = rows.deletions[SOURCED_ID]
    return pl.concat([live.filter(~live.is_in(gone.implode())), records]).unique()


def kept_keys(snapshot: Snapshot, rows: TypeRows) -> pl.Series:
    """Bulk file: current entities that only appear on rejected rows, so the sync keeps them as they are."""
    if rows.mode is not FileMode.BULK:
        return pl.Series(SOURCED_ID, [], pl.String)
    rejected = rows.rejected[SOURCED_ID].drop_nulls().unique()
    if rejected.len() == 0:
        return rejected
    rejected = rejected.filter(~rejected.is_in(rows.records[SOURCED_ID].implode()))
    live = snapshot.live_keys(rows.data_type)
    return rejected.filter(rejected.is_in(live.implode()))


def post_values(snapshot: Snapshot, data_type: DataType, rows: TypeRows | None) -> pl.DataFrame:
    """The attribution columns of every entity of `data_type` after the sync."""
    columns = [SOURCED_ID, *ATTRIBUTION_COLUMNS[data_type]]
    current = snapshot.current(data_type).select(columns)
    if rows is None:
        return current
    records = rows.records.select([pl.col(c) if c in rows.records.columns else pl.lit(None, pl.String).alias(c)
                                   for c in columns])  # fmt: skip
    if rows.mode is FileMode.BULK:
        kept = current.filter(pl.col(SOURCED_ID).is_in(kept_keys(snapshot, rows).implode()))
        return pl.concat([records, kept])
    replaced = pl.concat([records[SOURCED_ID], rows.deletions[SOURCED_ID]])
    return pl.concat([current.filter(~pl.col(SOURCED_ID).is_in(replaced.implode())), records])
