"""App settings as read (AppSettings) and as written (AppSettingsInput, every field optional)."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.definitions.enums import DataType, DestinationKind, RuleSeverityLevel


@strawberry.type
class RuleSeverity:
    code: str
    severity: RuleSeverityLevel


@strawberry.type
class SharingFilters:
    school_ids: list[strawberry.ID]
    data_types: list[DataType]
    roles: list[str]
    grades: list[str]
    excluded_attributes: list[str]


@strawberry.type
class Destination:
    kind: DestinationKind
    location: str
    timeout_seconds: float


@strawberry.type
class AppSettings:
    strict: bool
    hold_delete_percent: float
    hold_delete_minimum: int
    rule_severities: list[RuleSeverity]
    uniqueness_domains: list[str]
    sharing: SharingFilters | None
    vendor_profile: str | None
    destination: Destination | None
    export_after_import: bool

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> AppSettings:
        sharing = stored.get("sharing")
        destination = stored.get("destination")
        return cls(
            strict=bool(stored.get("strict", False)),
            hold_delete_percent=float(stored.get("holdDeletePercent", 10.0)),
            hold_delete_minimum=int(stored.get("holdDeleteMinimum", 25)),
            rule_severities=[
                RuleSeverity(code=r["code"], severity=RuleSeverityLevel(r["severity"]))
                for r in stored.get("ruleSeverities", [])
            ],
            uniqueness_domains=list(stored.get("uniquenessDomains", [])),
            sharing=None
            if sharing is None
            else SharingFilters(
                school_ids=[strawberry.ID(s) for s in sharing.get("schoolIds", [])],
                data_types=[DataType(t) for t in sharing.get("dataTypes", [])],
                roles=list(sharing.get("roles", [])),
                grades=list(sharing.get("grades", [])),
                excluded_attributes=list(sharing.get("excludedAttributes", [])),
            ),
            vendor_profile=stored.get("vendorProfile"),
            destination=None
            if destination is None
            else Destination(
                kind=DestinationKind(destination["kind"]),
                location=destination["location"],
                timeout_seconds=float(destination.get("timeoutSeconds", 30.0)),
            ),
            export_after_import=bool(stored.get("exportAfterImport", False)),
        )


@strawberry.input
class RuleSeverityInput:
    code: str
    severity: RuleSeverityLevel


@strawberry.input
class SharingFiltersInput:
    school_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    data_types: list[DataType] = strawberry.field(default_factory=list)
    roles: list[str] = strawberry.field(default_factory=list)
    grades: list[str] = strawberry.field(default_factory=list)
    excluded_attributes: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class DestinationInput:
    kind: DestinationKind
    location: str
    timeout_seconds: float = 30.0


@strawberry.input
class AppSettingsInput:
    strict: bool | None = strawberry.UNSET
    hold_delete_percent: float | None = strawberry.UNSET
    hold_delete_minimum: int | None = strawberry.UNSET
    rule_severities: list[RuleSeverityInput] | None = strawberry.UNSET
    uniqueness_domains: list[str] | None = strawberry.UNSET
    sharing: SharingFiltersInput | None = strawberry.UNSET
    vendor_profile: str | None = strawberry.UNSET
    destination: DestinationInput | None = strawberry.UNSET
    export_after_import: bool | None = strawberry.UNSET

    def to_stored(self) -> dict[str, Any]:
        """The fields the caller set, in the stored (camelCase JSON) form; fields left out are not included."""
        changes: dict[str, Any] = {}
        for name, value in _fields(self).items():
            if value is strawberry.UNSET:
                continue
            changes[_camel(name)] = _plain(value)
        return changes


def _fields(obj: object) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}  # type: ignore[attr-defined]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    """Inputs (dataclasses, enums, lists) as JSON values for storage."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {_camel(k): _plain(v) for k, v in _fields(value).items()}
    if hasattr(value, "value") and hasattr(value, "name"):
        return value.value
    return value
