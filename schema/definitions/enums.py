"""Enums of the contract. Strawberry exposes member names, so names are the contract's values."""

from __future__ import annotations

import enum

import strawberry


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


@strawberry.enum
class RuleSeverityLevel(enum.Enum):
    HARD = "HARD"
    SOFT = "SOFT"
    OFF = "OFF"


@strawberry.enum
class DestinationKind(enum.Enum):
    FOLDER = "FOLDER"
    HTTP = "HTTP"
