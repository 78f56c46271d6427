"""Column specifications of the OneRoster CSV 1.1 / 1.2 rostering files (see ONEROSTER.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from .model import DataType


class Kind(Enum):
    GUID = "guid"
    STRING = "string"
    EMAIL = "email"  # a string with a (soft) e-mail shape check
    ENUM = "enum"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    YEAR = "year"
    LIST = "list"
    GUID_LIST = "guid-list"
    GRADES = "grades"  # list of CEDS grade levels
    USER_IDS = "userIds"  # list of {type:id}


class Req(Enum):
    REQUIRED = "R"
    OPTIONAL = "o"
    DELTA = "Δ"  # blank in bulk, required in delta


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    req: Req = Req.OPTIONAL
    tokens: tuple[str, ...] = ()
    allow_ext: bool = False  # enum accepts vendor tokens written ext:<name>
    ref: DataType | None = None  # reference target (single for GUID, each item for GUID_LIST)
    as_set: bool = False  # list compared as a set when diffing (orgSourcedIds, grades)

    @property
    def required(self) -> bool:
        return self.req is Req.REQUIRED

    @property
    def is_list(self) -> bool:
        return self.kind in (Kind.LIST, Kind.GUID_LIST, Kind.GRADES, Kind.USER_IDS)


@dataclass(frozen=True)
class FileSpec:
    data_type: DataType
    layout: str  # "1.1", "1.2" or "1.2+resourceSourcedIds" (users only)
    columns: tuple[ColumnSpec, ...]
    sourced_id_ref: DataType | None = None  # demographics.sourcedId is the user's sourcedId

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


STATUS_TOKENS = ("active", "tobedeleted")
CEDS_GRADES = (
    "IT", "PR", "PK", "TK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
    "PS", "UG", "Other",
)  # fmt: skip

# Only these four files compare lists as sets (DESIGN §2).
_COMMON = (
    ColumnSpec("sourcedId", Kind.GUID, Req.REQUIRED),
    ColumnSpec("status", Kind.ENUM, Req.DELTA, STATUS_TOKENS),
    ColumnSpec("dateLastModified", Kind.DATETIME, Req.DELTA),
)


def _s(name: str, req: Req = Req.OPTIONAL) -> ColumnSpec:
    return ColumnSpec(name, Kind.STRING, req)


def _ref(name: str, target: DataType, req: Req = Req.OPTIONAL) -> ColumnSpec:
    return ColumnSpec(name, Kind.GUID, req, ref=target)


R = Req.REQUIRED
O = Req.OPTIONAL  # noqa: E741

ORGS = FileSpec(DataType.ORGS, "1.1", (
    *_COMMON,
    _s("name", R),
    ColumnSpec("type", Kind.ENUM, R, ("department", "school", "district", "local", "state", "national"), True),
    _s("identifier"),
    _ref("parentSourcedId", DataType.ORGS),
))  # fmt: skip

ACADEMIC_SESSIONS = FileSpec(DataType.ACADEMIC_SESSIONS, "1.1", (
    *_COMMON,
    _s("title", R),
    ColumnSpec("type", Kind.ENUM, R, ("gradingPeriod", "semester", "schoolYear", "term"), True),
    ColumnSpec("startDate", Kind.DATE, R),
    ColumnSpec("endDate", Kind.DATE, R),
    _ref("parentSourcedId", DataType.ACADEMIC_SESSIONS),
    ColumnSpec("schoolYear", Kind.YEAR, R),
))  # fmt: skip

COURSES = FileSpec(DataType.COURSES, "1.1", (
    *_COMMON,
    _ref("schoolYearSourcedId", DataType.ACADEMIC_SESSIONS),
    _s("title", R),
    _s("courseCode"),
    ColumnSpec("grades", Kind.GRADES, O, as_set=True),
    _ref("orgSourcedId", DataType.ORGS, R),
    ColumnSpec("subjects", Kind.LIST),
    ColumnSpec("subjectCodes", Kind.LIST),
))  # fmt: skip

CLASSES = FileSpec(DataType.CLASSES, "1.1", (
    *_COMMON,
    _s("title", R),
    ColumnSpec("grades", Kind.GRADES, O, as_set=True),
    _ref("courseSourcedId", DataType.COURSES, R),
    _s("classCode"),
    ColumnSpec("classType", Kind.ENUM, R, ("homeroom", "scheduled"), True),
    _s("location"),
    _ref("schoolSourcedId", DataType.ORGS, R),
    ColumnSpec("termSourcedIds", Kind.GUID_LIST, R, ref=DataType.ACADEMIC_SESSIONS),
    ColumnSpec("subjects", Kind.LIST),
    ColumnSpec("subjectCodes", Kind.LIST),
    ColumnSpec("periods", Kind.LIST),
))  # fmt: skip

_USER_HEAD = (ColumnSpec("enabledUser", Kind.BOOLEAN, R),)
_USER_CORE = (
    _s("username", R),
    ColumnSpec("userIds", Kind.USER_IDS),
    _s("givenName", R),
    _s("familyName", R),
    _s("middleName"),
    _s("identifier"),
    ColumnSpec("email", Kind.EMAIL),
    _s("sms"),
    _s("phone"),
    ColumnSpec("agentSourcedIds", Kind.GUID_LIST, ref=DataType.USERS),
    ColumnSpec("grades", Kind.GRADES, O, as_set=True),
    _s("password"),
)

USERS_11 = FileSpec(DataType.USERS, "1.1", (
    *_COMMON,
    *_USER_HEAD,
    ColumnSpec("orgSourcedIds", Kind.GUID_LIST, R, ref=DataType.ORGS, as_set=True),
    ColumnSpec("role", Kind.ENUM, R,
               ("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher")),
    *_USER_CORE,
))  # fmt: skip

_USER_12_TAIL = (
    _s("preferredGivenName"),
    _s("preferredMiddleName"),
    _s("preferredFamilyName"),
    _ref("primaryOrgSourcedId", DataType.ORGS),
    _s("pronouns"),
)

USERS_12 = FileSpec(DataType.USERS, "1.2", (
    *_COMMON, *_USER_HEAD, *_USER_CORE, _s("userMasterIdentifier"), *_USER_12_TAIL,
))  # fmt: skip

# Original 1.2 (2022) / Japan Profile layout; resources are not stored by the engine, so no reference target.
USERS_12_RESOURCES = FileSpec(DataType.USERS, "1.2+resourceSourcedIds", (
    *_COMMON, *_USER_HEAD, *_USER_CORE, _s("userMasterIdentifier"), ColumnSpec("resourceSourcedIds", Kind.GUID_LIST),
    *_USER_12_TAIL,
))  # fmt: skip

ROLES = FileSpec(DataType.ROLES, "1.2", (
    *_COMMON,
    _ref("userSourcedId", DataType.USERS, R),
    ColumnSpec("roleType", Kind.ENUM, R, ("primary", "secondary")),
    ColumnSpec("role", Kind.ENUM, R, (
        "aide", "counselor", "districtAdministrator", "guardian", "parent", "principal", "proctor", "relative",
        "siteAdministrator", "student", "systemAdministrator", "teacher",
    ), True),
    ColumnSpec("beginDate", Kind.DATE),
    ColumnSpec("endDate", Kind.DATE),
    _ref("orgSourcedId", DataType.ORGS, R),
    _ref("userProfileSourcedId", DataType.USER_PROFILES),
))  # fmt: skip

ENROLLMENTS = FileSpec(DataType.ENROLLMENTS, "1.1", (
    *_COMMON,
    _ref("classSourcedId", DataType.CLASSES, R),
    _ref("schoolSourcedId", DataType.ORGS, R),
    _ref("userSourcedId", DataType.USERS, R),
    ColumnSpec("role", Kind.ENUM, R, ("administrator", "proctor", "student", "teacher"), True),
    ColumnSpec("primary", Kind.BOOLEAN),
    ColumnSpec("beginDate", Kind.DATE),
    ColumnSpec("endDate", Kind.DATE),
))  # fmt: skip

_RACE = (
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
    "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
)  # fmt: skip


def _demographics(layout: str, sexes: tuple[str, ...]) -> FileSpec:
    return FileSpec(DataType.DEMOGRAPHICS, layout, (
        *_COMMON,
        ColumnSpec("birthDate", Kind.DATE),
        ColumnSpec("sex", Kind.ENUM, O, sexes),
        *(ColumnSpec(n, Kind.BOOLEAN) for n in _RACE),
        _s("countryOfBirthCode"),
        _s("stateOfBirthAbbreviation"),
        _s("cityOfBirth"),
        _s("publicSchoolResidenceStatus"),
    ), sourced_id_ref=DataType.USERS)  # fmt: skip


DEMOGRAPHICS_11 = _demographics("1.1", ("male", "female"))
DEMOGRAPHICS_12 = _demographics("1.2", ("male", "female", "unspecified", "other"))

USER_PROFILES = FileSpec(DataType.USER_PROFILES, "1.2", (
    *_COMMON,
    _ref("userSourcedId", DataType.USERS, R),
    _s("profileType", R),
    _s("vendorId", R),
    _s("applicationId"),
    _s("description"),
    _s("credentialType", R),
    _s("username", R),
    _s("password"),
))  # fmt: skip

SUPPORTED_TYPES: tuple[DataType, ...] = tuple(DataType)

# Every file a manifest may name (1.2 superset); the engine ignores the non-rostering ones.
KNOWN_FILES: tuple[str, ...] = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources", "demographics",
    "enrollments", "lineItems", "orgs", "resources", "results", "users", "roles", "userProfiles", "userResources",
    "scoreScales", "lineItemLearningObjectiveIds", "lineItemScoreScales", "resultLearningObjectiveIds",
    "resultScoreScales",
)  # fmt: skip

VERSIONS = ("1.1", "1.2")


def file_spec(data_type: DataType, version: str, layout: str | None = None) -> FileSpec:
    """The spec for one file; ``layout`` picks the users variant detected from the header."""
    if data_type is DataType.USERS:
        chosen = layout or version
        return {"1.1": USERS_11, "1.2": USERS_12, USERS_12_RESOURCES.layout: USERS_12_RESOURCES}[chosen]
    if data_type is DataType.DEMOGRAPHICS:
        return DEMOGRAPHICS_11 if version == "1.1" else DEMOGRAPHICS_12
    return {
        DataType.ORGS: ORGS,
        DataType.ACADEMIC_SESSIONS: ACADEMIC_SESSIONS,
        DataType.COURSES: COURSES,
        DataType.CLASSES: CLASSES,
        DataType.ENROLLMENTS: ENROLLMENTS,
        DataType.ROLES: ROLES,
        DataType.USER_PROFILES: USER_PROFILES,
    }[data_type]


@cache
def layout_specs(data_type: DataType) -> tuple[FileSpec, ...]:
    """Every layout's spec of a type, each once: 1.1, 1.2 and, for users, 1.2 with resourceSourcedIds."""
    specs = [file_spec(data_type, "1.1"), file_spec(data_type, "1.2")]
    if data_type is DataType.USERS:
        specs.append(USERS_12_RESOURCES)
    return tuple(dict.fromkeys(specs))


@cache
def set_columns(data_type: DataType) -> frozenset[str]:
    """List columns compared as sets (orgSourcedIds, grades): their order says nothing."""
    return frozenset(c.name for spec in layout_specs(data_type) for c in spec.columns if c.as_set)


# Legacy (1.0) names and producer typos seen in the wild, per file ("*" = any file). Keys are lower-case.
HEADER_ALIASES: dict[str, dict[str, str]] = {
    "*": {
        "datalastmodified": "dateLastModified",
        "datelastmodifed": "dateLastModified",
    },
    "demographics": {"usersourcedid": "sourcedId", "birthdate": "birthDate"},
    "courses": {"schoolyearid": "schoolYearSourcedId", "grade": "grades", "orgsourcedids": "orgSourcedId"},
    "classes": {"grade": "grades", "termsourcedid": "termSourcedIds", "coursesourcedids": "courseSourcedId"},
    "users": {
        "userid": "userIds",
        "agents": "agentSourcedIds",
        "agentsourcedid": "agentSourcedIds",
        "grade": "grades",
        "orgsourcedid": "orgSourcedIds",
        "prefferedgivenname": "preferredGivenName",
        "prefferedmiddlename": "preferredMiddleName",
        "prefferedfamilyname": "preferredFamilyName",
    },
    "enrollments": {},
    "academicSessions": {},
    "orgs": {},
    "roles": {},
    "userProfiles": {},
}
