"""Core value types shared by every module of the OneRoster CSV reader."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DataType(Enum):
    """The rostering data types the engine stores; the value is the CSV file stem."""

    ORGS = "orgs"
    ACADEMIC_SESSIONS = "academicSessions"
    COURSES = "courses"
    CLASSES = "classes"
    USERS = "users"
    ENROLLMENTS = "enrollments"
    DEMOGRAPHICS = "demographics"
    ROLES = "roles"
    USER_PROFILES = "userProfiles"

    @property
    def file_name(self) -> str:
        return f"{self.value}.csv"


class FileMode(Enum):
    """Processing mode declared in manifest.csv for one file."""

    BULK = "bulk"
    DELTA = "delta"
    ABSENT = "absent"


class Severity(Enum):
    """HARD skips the row, SOFT applies it flagged invalid, INFO only records a leniency."""

    HARD = "HARD"
    SOFT = "SOFT"
    INFO = "INFO"


@dataclass(frozen=True)
class Finding:
    """One validation finding; ``count`` > 1 when several rows were aggregated into one note."""

    code: str
    severity: Severity
    file: str | None
    line: int | None
    column: str | None
    message: str
    sourced_id: str | None = None
    count: int = 1


class PackageError(Exception):
    """A package-level failure: the whole sync fails and nothing is applied."""

    def __init__(self, code: str, message: str, file: str | None = None, line: int | None = None) -> None:
        where = f"{file}: " if file else ""
        at = f"line {line}: " if line is not None else ""
        super().__init__(f"{code}: {where}{at}{message}")
        self.code = code
        self.message = message
        self.file = file
        self.line = line
