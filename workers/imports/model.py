"""The nouns of an import: outcomes, options, and the rows of one data type as they move through the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import polars as pl

from oneroster_csv import FINDING_SCHEMA
from oneroster_csv.model import DataType, FileMode
from oneroster_csv.package import PackageLimits
from oneroster_csv.reader import LINE

SOURCED_ID = "sourcedId"
OUTCOME = "_outcome"
SCHOOLS = "_schools"
CURRENT_ROW = "_current_index"  # a record's row in the snapshot's current keys


class Outcome(IntEnum):
    """A record's outcome in a sync (§2); stored as smallint. 5 is left for the version kind KEPT."""

    NEW = 1
    UPDATED = 2
    NO_CHANGE = 3
    DELETED = 4
    SKIPPED = 6
    MERGED = 7
    EXCLUDED = 8


@dataclass(frozen=True)
class ImportOptions:
    """The app's settings in force for one import (snapshotted on the sync when it starts)."""

    strict: bool = False
    severities: Mapping[str, str] = field(default_factory=dict)
    uniqueness_domains: tuple[str, ...] = ("users.username",)
    hold_delete_percent: float = 10.0
    hold_delete_minimum: int = 25
    dry_run: bool = False
    limits: PackageLimits = field(default_factory=PackageLimits)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, dry_run: bool = False) -> ImportOptions:
        return cls(
            strict=bool(settings.get("strict", False)),
            severities={r["code"]: r["severity"] for r in settings.get("ruleSeverities", [])},
            uniqueness_domains=tuple(settings.get("uniquenessDomains", ["users.username"])),
            hold_delete_percent=float(settings.get("holdDeletePercent", 10.0)),
            hold_delete_minimum=int(settings.get("holdDeleteMinimum", 25)),
            dry_run=dry_run,
        )


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


@dataclass
class TypeRows:
    """One supplied file after the row-level stages.

    records:   the records to apply (one per sourcedId): attribute and metadata columns plus `_line`.
    deletions: delta `tobedeleted` rows (one per sourcedId): sourcedId and `_line`.
    rejected:  rows that do not become records: `_line`, sourcedId, `_outcome` (SKIPPED, MERGED, EXCLUDED) and values.
    findings:  every HARD/SOFT/INFO finding of the file (FINDING_SCHEMA), after the app's severity overrides.
    """

    data_type: DataType
    mode: FileMode
    file_name: str
    columns: list[str]  # the attribute columns of the file's layout, sourcedId first
    metadata: list[str]  # metadata.* columns, as named in the file
    records: pl.DataFrame
    deletions: pl.DataFrame
    rejected: pl.DataFrame
    findings: pl.DataFrame

    @property
    def value_columns(self) -> list[str]:
        return [*self.columns, *self.metadata]

    def reject(self, lines: pl.Series, outcome: Outcome) -> None:
        """Move the records on `lines` to the rejected rows with `outcome`."""
        if lines.len() == 0:
            return
        moving = self.records.filter(pl.col(LINE).is_in(lines.implode()))
        self.records = self.records.filter(~pl.col(LINE).is_in(lines.implode()))
        self.rejected = pl.concat(
            [self.rejected, moving.with_columns(pl.lit(int(outcome), pl.Int16).alias(OUTCOME))], how="diagonal_relaxed"
        )

    def add_findings(self, findings: pl.DataFrame) -> None:
        if findings.height:
            self.findings = pl.concat([self.findings, findings.select(list(FINDING_SCHEMA))], how="vertical_relaxed")
