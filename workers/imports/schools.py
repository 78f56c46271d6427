"""School attribution (§2 "Per school"): the schools (orgs of type school) each record counts in.

Every rule is a join from a record's own column(s) to a key -> school mapping built from the post-sync state:
classes and enrollments by schoolSourcedId; users by orgSourcedIds (1.1) or their roles (1.2) and primaryOrgSourcedId;
courses by orgSourcedId when it is a school, else by their classes; academic sessions by the classes using them and
up their parent chain; demographics and userProfiles by their user; roles by their org; a school is its own school,
a department its parent school's.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from db.entities import OWN_SCHOOL
from oneroster_csv.model import DataType
from workers.imports.model import SCHOOLS, SOURCED_ID

KEY, SCHOOL = "_key", "_school"
Mapping = pl.DataFrame  # columns KEY, SCHOOL: one row per (key, school)


def _pairs(frame: pl.DataFrame, key: str, value: str, *, split: bool = False) -> Mapping:
    pairs = frame.select(pl.col(key).alias(KEY), pl.col(value).alias(SCHOOL)).filter(pl.col(SCHOOL).is_not_null())
    if split:
        pairs = pairs.with_columns(pl.col(SCHOOL).str.split(",")).explode(SCHOOL)
    return pairs


def _through(pairs: pl.DataFrame, mapping: Mapping) -> Mapping:
    """Compose (key -> x) with (x -> school)."""
    return (
        pairs.join(mapping.rename({KEY: "_via", SCHOOL: "_to"}), left_on=SCHOOL, right_on="_via", how="inner")
        .select(pl.col(KEY), pl.col("_to").alias(SCHOOL))
        .unique()
    )


class SchoolMap:
    """The key -> school mappings of one sync, built from the post-sync states of orgs, classes, users and roles."""

    def __init__(
        self,
        orgs: pl.DataFrame,
        sessions: pl.DataFrame,
        classes: pl.DataFrame,
        users: pl.DataFrame,
        roles: pl.DataFrame,
    ) -> None:
        types = orgs.select(SOURCED_ID, "type", "parentSourcedId")
        schools = types.filter(pl.col("type") == "school")
        parents = types.join(schools.select(pl.col(SOURCED_ID).alias("parentSourcedId"), pl.lit(True).alias("_p")),
                             on="parentSourcedId", how="inner")  # fmt: skip
        self.school_only: Mapping = schools.select(pl.col(SOURCED_ID).alias(KEY), pl.col(SOURCED_ID).alias(SCHOOL))
        # a school is its own school; any other org hanging directly under a school (a department) is that school's
        self.org: Mapping = pl.concat([self.school_only, _pairs(parents, SOURCED_ID, "parentSourcedId")]).unique()
        self.classes: Mapping = _through(_pairs(classes, SOURCED_ID, "schoolSourcedId"), self.org)
        self.course: Mapping = _through(_pairs(classes, "courseSourcedId", SOURCED_ID), self.classes)
        self.session: Mapping = self._sessions(sessions, classes)
        role_orgs = _through(_pairs(roles, "userSourcedId", "orgSourcedId"), self.org)
        user_orgs = pl.concat([
            _through(_pairs(users, SOURCED_ID, "orgSourcedIds", split=True), self.org),
            _through(_pairs(users, SOURCED_ID, "primaryOrgSourcedId"), self.org),
        ])  # fmt: skip
        self.user_roles: Mapping = role_orgs.unique()
        self.user: Mapping = pl.concat([user_orgs, role_orgs]).unique()
        self._groups: dict[int, pl.DataFrame] = {}

    def _sessions(self, sessions: pl.DataFrame, classes: pl.DataFrame) -> Mapping:
        found = _through(_pairs(classes, SOURCED_ID, "termSourcedIds", split=True).select(
            pl.col(SCHOOL).alias(KEY), pl.col(KEY).alias(SCHOOL)), self.classes)  # fmt: skip
        parents = _pairs(sessions, SOURCED_ID, "parentSourcedId")
        frontier = found
        for _ in range(8):  # session chains are short (grading period -> term -> school year)
            up = frontier.join(parents.rename({SCHOOL: "_parent"}), on=KEY, how="inner").select(
                pl.col("_parent").alias(KEY), pl.col(SCHOOL)
            )
            frontier = up.join(found, on=[KEY, SCHOOL], how="anti").unique()
            if frontier.height == 0:
                break
            found = pl.concat([found, frontier])
        return found

    def rules(self, data_type: DataType) -> list[tuple[str, Mapping, bool]]:
        """(column of the record, mapping, column holds a list) — a record's schools are the union over the rules."""
        org, user = self.org, self.user
        return {
            DataType.ORGS: [(SOURCED_ID, org, False)],
            DataType.ACADEMIC_SESSIONS: [(SOURCED_ID, self.session, False)],
            DataType.COURSES: [("orgSourcedId", self.school_only, False)],
            DataType.CLASSES: [("schoolSourcedId", org, False)],
            DataType.USERS: [
                ("orgSourcedIds", org, True),
                ("primaryOrgSourcedId", org, False),
                (SOURCED_ID, self.user_roles, False),
            ],
            DataType.ENROLLMENTS: [("schoolSourcedId", org, False)],
            DataType.DEMOGRAPHICS: [(SOURCED_ID, user, False)],
            DataType.ROLES: [("orgSourcedId", org, False)],
            DataType.USER_PROFILES: [("userSourcedId", user, False)],
        }[data_type]

    def attribute(self, data_type: DataType, frame: pl.DataFrame) -> pl.Series:
        """A sorted list of school sourcedIds per row of `frame`, empty for district-level records.

        Each mapping is first grouped into key -> [schools] (small: one row per org, class or user), so a million
        enrollments cost one hash join, not a group-by over a million rows.
        """
        lists: list[pl.Series] = []
        for column, mapping, is_list in self.rules(data_type):
            if column in frame.columns:
                lists.append(_lookup(frame, column, mapping if is_list else self._grouped(mapping), is_list))
        if data_type is DataType.COURSES and SOURCED_ID in frame.columns:
            lists.append(self._courses_without_school(frame))
        lists = [found for found in lists if found.list.len().sum() > 0]
        if not lists:
            return pl.Series("_schools", [[]] * frame.height, pl.List(pl.String))
        if len(lists) == 1:
            return lists[0].alias("_schools")
        long = pl.concat(
            [pl.DataFrame({"_s": found}).with_row_index("_i").explode("_s") for found in lists]
        ).drop_nulls()
        merged = long.group_by("_i").agg(pl.col("_s").unique().sort())
        looked = pl.DataFrame({"_i": pl.arange(0, frame.height, eager=True).cast(pl.UInt32)}).join(
            merged, on="_i", how="left", maintain_order="left"
        )
        return looked["_s"].fill_null(pl.lit([], pl.List(pl.String))).alias("_schools")

    def own_schools(self) -> pl.Series:
        """The orgs a record naming them counts in exactly, and only: schools, unless one hangs under another."""
        grouped = self._grouped(self.org)
        return grouped.filter(pl.col("_s") == pl.concat_list(KEY))[KEY]

    def _grouped(self, mapping: Mapping) -> pl.DataFrame:
        """key -> sorted list of its schools, built once per mapping (records and rejected rows both look up)."""
        if id(mapping) not in self._groups:
            self._groups[id(mapping)] = (
                mapping.unique().sort(KEY, SCHOOL).group_by(KEY, maintain_order=True).agg(pl.col(SCHOOL).alias("_s"))
            )
        return self._groups[id(mapping)]

    def _courses_without_school(self, frame: pl.DataFrame) -> pl.Series:
        """A course whose org is not a school counts in the schools of its classes."""
        at_school = (
            frame["orgSourcedId"].is_in(self.school_only[KEY].implode())
            if "orgSourcedId" in frame.columns
            else pl.Series([False] * frame.height)
        )
        through_classes = _lookup(frame, SOURCED_ID, self._grouped(self.course), False)
        return pl.select(pl.when(at_school).then(pl.lit([], pl.List(pl.String))).otherwise(through_classes)).to_series()


def _lookup(frame: pl.DataFrame, column: str, mapping: Mapping, is_list: bool) -> pl.Series:
    """Per row of `frame`: the sorted schools its `column` maps to (an empty list when none). For a single-valued
    column `mapping` is grouped (`SchoolMap._grouped`); for a list column it is the pairs."""
    if not is_list:
        looked = frame.select(pl.col(column).alias(KEY)).join(mapping, on=KEY, how="left", maintain_order="left")
        return looked["_s"].fill_null(pl.lit([], pl.List(pl.String)))
    indexed = frame.select(pl.col(column).alias(KEY)).with_row_index("_i")
    exploded = indexed.with_columns(pl.col(KEY).str.split(",")).explode(KEY)
    pairs = exploded.join(mapping, on=KEY, how="inner").select("_i", SCHOOL).unique().sort("_i", SCHOOL)
    found = pairs.group_by("_i", maintain_order=True).agg(pl.col(SCHOOL).alias("_s"))  # sorted once, not per row
    looked = indexed.select("_i").join(found, on="_i", how="left", maintain_order="left")
    return looked["_s"].fill_null(pl.lit([], pl.List(pl.String)))


def just_own_school(data_type: DataType) -> pl.Expr:
    """Whether a record's schools are only its own school, stored as NULL (db.entities.OWN_SCHOOL); false for types
    without one. (One item, the own school: comparing each row's list with a list made for it took 0.25 s a million
    rows.)"""
    own = OWN_SCHOOL.get(data_type)
    if own is None:
        return pl.lit(False)
    return (pl.col(SCHOOLS).list.len() == 1) & (pl.col(SCHOOLS).list.first() == pl.col(own))


def build_school_map(post: Callable[[DataType], pl.DataFrame]) -> SchoolMap:
    return SchoolMap(
        orgs=post(DataType.ORGS),
        sessions=post(DataType.ACADEMIC_SESSIONS),
        classes=post(DataType.CLASSES),
        users=post(DataType.USERS),
        roles=post(DataType.ROLES),
    )
