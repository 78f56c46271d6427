"""Enums of the contract. Strawberry exposes member names, so names are the contract's values."""

from __future__ import annotations

import enum

import strawberry

from oneroster_csv.model import DataType as StoredDataType


@strawberry.enum
class AppKind(enum.Enum):
    IMPORT = "IMPORT"
    EXPORT = "EXPORT"


@strawberry.enum
class SyncStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    HELD = "HELD"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    DISCARDED = "DISCARDED"


@strawberry.enum
class DataType(enum.Enum):
    ORGS = "ORGS"
    ACADEMIC_SESSIONS = "ACADEMIC_SESSIONS"
    COURSES = "COURSES"
    CLASSES = "CLASSES"
    USERS = "USERS"
    ENROLLMENTS = "ENROLLMENTS"
    DEMOGRAPHICS = "DEMOGRAPHICS"
    ROLES = "ROLES"
    USER_PROFILES = "USER_PROFILES"


_API_DATA_TYPES = {stored: DataType[stored.name] for stored in StoredDataType}  # read for every record of a page
_STORED_DATA_TYPES = {api: stored for stored, api in _API_DATA_TYPES.items()}


def data_type_of(stored: StoredDataType) -> DataType:
    return _API_DATA_TYPES[stored]


def stored_data_type(data_type: DataType) -> StoredDataType:
    return _STORED_DATA_TYPES[data_type]


@strawberry.enum(description="A number of a sync's summary; each one's records list exactly that many records.")
class SummaryColumn(enum.Enum):
    TOTAL = "TOTAL"
    NO_CHANGE = "NO_CHANGE"
    NEW = "NEW"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    SKIPPED = "SKIPPED"
    DUPLICATES = "DUPLICATES"
    MERGED = "MERGED"
    EXCLUDED = "EXCLUDED"
    INVALID = "INVALID"
    SKIPPED_BY_PROVIDER = "SKIPPED_BY_PROVIDER"
    GRANTED_BY_PROVIDER = "GRANTED_BY_PROVIDER"
    SKIPPED_BY_VENDOR = "SKIPPED_BY_VENDOR"
    RECEIVED_BY_VENDOR = "RECEIVED_BY_VENDOR"


@strawberry.enum
class RuleSeverityLevel(enum.Enum):
    HARD = "HARD"
    SOFT = "SOFT"
    OFF = "OFF"


@strawberry.enum
class DestinationKind(enum.Enum):
    FOLDER = "FOLDER"
    HTTP = "HTTP"
