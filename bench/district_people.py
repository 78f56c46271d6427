"""users.csv and demographics.csv, built column-wise from hashed row indices (no per-row Python)."""

from __future__ import annotations

import polars as pl

from bench._rand import below, stream_key, uniform, uuids
from bench.catalog import GRADES
from bench.district_plan import Layout
from bench.district_static import School
from bench.names import CITIES, FAMILY, FOREIGN_COUNTRIES, GIVEN_FEMALE, GIVEN_MALE, OTHER_STATES

USER_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
RACES = [
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
]
DEMOGRAPHIC_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    *RACES,
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
]
_FEMALE, _MALE, _FAMILY = pl.Series(GIVEN_FEMALE), pl.Series(GIVEN_MALE), pl.Series(FAMILY)
_GRADES = pl.Series(GRADES)
_BLANK = pl.lit(None, dtype=pl.String)


def _repeat(values: list[int], counts: list[int]) -> pl.Series:
    keep = [(v, c) for v, c in zip(values, counts, strict=True) if c > 0]  # repeat_by(0) would explode to a null row
    frame = pl.DataFrame({"v": [v for v, _ in keep], "c": [c for _, c in keep]}, schema={"v": pl.Int64, "c": pl.Int64})
    return frame.select(pl.col("v").repeat_by("c").explode())["v"]


def school_table(schools: list[School], district_id: str) -> pl.DataFrame:
    """Per-school lookup joined onto users; index -1 is the district itself."""
    rows = [(-1, district_id, 0, 1)] + [
        (s.index, s.sourced_id, GRADES.index(s.grades[0]), len(s.grades)) for s in schools
    ]
    return pl.DataFrame(
        rows, schema={"_school": pl.Int64, "_sid": pl.String, "_grade0": pl.Int64, "_n_grades": pl.Int64}, orient="row"
    )


def plan_users(layout: Layout) -> pl.DataFrame:
    """One row per user: _uidx (stable row index), _role, _school (-1 = district). Students come first."""
    schools = list(range(layout.n_schools))
    blocks = [
        ("student", _repeat(schools, layout.students_per_school)),
        ("teacher", _repeat(schools, layout.teachers_per_school)),
        ("aide", _repeat(schools, layout.aides_per_school)),
        ("administrator", _repeat(schools, layout.admins_per_school)),
        ("administrator", pl.Series([-1] * layout.roles.district_admins, dtype=pl.Int64)),
        ("parent", pl.Series([0] * layout.roles.guardians, dtype=pl.Int64)),
    ]  # school set by link_guardians
    frame = pl.concat([pl.DataFrame({"_role": [role] * len(s), "_school": s}) for role, s in blocks if len(s)])
    return frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_uidx"))


def base_people(seed: int, plan: pl.DataFrame, n_schools: int, sch: pl.DataFrame) -> pl.DataFrame:
    """Ids, names, grades and a second school for a few staff; depends only on each row's _uidx."""
    u = plan["_uidx"]

    def key(label: str) -> int:
        return stream_key(seed, "users." + label)

    female = below(u, key("sex"), 2) == 0
    given = _FEMALE.gather(below(u, key("given"), len(_FEMALE))).zip_with(
        female, _MALE.gather(below(u, key("given"), len(_MALE)))
    )
    middle = _FEMALE.gather(below(u, key("middle"), len(_FEMALE))).zip_with(
        female, _MALE.gather(below(u, key("middle"), len(_MALE)))
    )
    # squaring-ish skew makes the first (most common) family names more frequent
    family_idx = (uniform(u, key("family")).pow(1.6) * len(_FAMILY)).cast(pl.Int64).clip(0, len(_FAMILY) - 1)
    frame = plan.join(sch, on="_school", how="left", maintain_order="left").with_columns(
        uuids(u, key("id")).alias("sourcedId"),
        given.alias("givenName"),
        _FAMILY.gather(family_idx).alias("familyName"),
        middle.alias("middleName"),
        female.alias("_female"),
        (uniform(u, key("middle?")) < 0.55).alias("_has_middle"),
        below(u, key("grade"), 1 << 20).alias("_g"),
        uniform(u, key("multi")).alias("_multi"),
    )
    two_schools = pl.col("_role").is_in(["teacher", "aide"]) & (pl.col("_multi") < 0.03) & pl.lit(n_schools > 1)
    return frame.with_columns(
        pl.when(pl.col("_has_middle")).then(pl.col("middleName")).alias("middleName"),
        pl.when(pl.col("_role") == "student")
        .then(pl.col("_grade0") + pl.col("_g") % pl.col("_n_grades"))
        .alias("_grade_idx"),
        pl.when(two_schools).then((pl.col("_school") + 1) % max(n_schools, 1)).alias("_school2"),
    ).drop("_has_middle", "_g", "_multi", "_grade0", "_n_grades")


def link_guardians(seed: int, people: pl.DataFrame) -> pl.DataFrame:
    """Each parent gets one or two distinct children (a permutation of students) and their family name."""
    students = people.filter(pl.col("_role") == "student")
    parents = people.filter(pl.col("_role") == "parent")
    n_students, n_parents = students.height, parents.height
    if n_parents == 0 or n_students < 2 * n_parents:
        return people.with_columns(_BLANK.alias("agentSourcedIds"))
    step = next(p for p in (7919, 104729, 1299709, 15485863) if n_students % p)  # prime, so i -> i*step is a bijection
    g = pl.int_range(n_parents, eager=True, dtype=pl.Int64)
    first = (2 * g * step + 17) % n_students
    second = ((2 * g + 1) * step + 17) % n_students
    has_second = uniform(parents["_uidx"], stream_key(seed, "users.sibling")) < 0.3
    kids = students.select("sourcedId", "familyName", "_school", "_sid")
    links = parents.select("_uidx").with_columns(
        kids["sourcedId"].gather(first).alias("_kid1"),
        kids["sourcedId"].gather(second).alias("_kid2"),
        has_second.alias("_two"),
        kids["familyName"].gather(first).alias("_fam"),
        kids["_school"].gather(first).alias("_kschool"),
        kids["_sid"].gather(first).alias("_ksid"),
    )
    child_agent = pl.concat(
        [
            links.select(pl.col("_kid1").alias("sourcedId"), pl.col("_uidx").alias("_parent")),
            links.filter("_two").select(pl.col("_kid2").alias("sourcedId"), pl.col("_uidx").alias("_parent")),
        ]
    )
    parent_ids = people.select(pl.col("_uidx").alias("_parent"), pl.col("sourcedId").alias("agentSourcedIds"))
    child_agent = child_agent.join(parent_ids, on="_parent").drop("_parent")
    out = people.join(links, on="_uidx", how="left", maintain_order="left").join(
        child_agent, on="sourcedId", how="left", maintain_order="left"
    )
    is_parent = pl.col("_role") == "parent"
    return out.with_columns(
        pl.when(is_parent)
        .then(pl.when("_two").then(pl.concat_str("_kid1", pl.lit(","), "_kid2")).otherwise("_kid1"))
        .otherwise("agentSourcedIds")
        .alias("agentSourcedIds"),
        pl.when(is_parent).then("_fam").otherwise("familyName").alias("familyName"),
        pl.when(is_parent).then("_kschool").otherwise("_school").alias("_school"),
        pl.when(is_parent).then("_ksid").otherwise("_sid").alias("_sid"),
    ).drop("_kid1", "_kid2", "_two", "_fam", "_kschool", "_ksid")


def finish_users(seed: int, people: pl.DataFrame, sch: pl.DataFrame, domain: str, id_digits: int) -> pl.DataFrame:
    """Derived strings (username, email, userIds, orgs...). Usernames/emails get a counter suffix in row order,
    so appending rows (day 2) never changes the earlier rows' values."""
    u = people["_uidx"]

    def key(label: str) -> int:
        return stream_key(seed, "users." + label)

    def letters(col: str) -> pl.Expr:
        return pl.col(col).str.to_lowercase().str.replace_all("[^a-z]", "")

    student, parent = pl.col("_role") == "student", pl.col("_role") == "parent"
    grad_year = ((2025 + 12 - pl.col("_grade_idx")) % 100).cast(pl.String).str.zfill(2)
    mail_domain = (
        pl.when(student)
        .then(pl.lit("students." + domain))
        .when(parent)
        .then(pl.col("_mailhost"))
        .otherwise(pl.lit(domain))
    )
    hosts = pl.Series(["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"])
    frame = people.with_columns(
        hosts.gather(below(u, key("mailhost"), len(hosts))).alias("_mailhost"),
        uniform(u, key("mail?")).alias("_u_mail"),
        uniform(u, key("phone?")).alias("_u_phone"),
        below(u, key("phone"), 10000).cast(pl.String).str.zfill(4).alias("_phone4"),
        uniform(u, key("enabled")).alias("_u_enabled"),
        uniform(u, key("pw?")).alias("_u_pw"),
        uuids(u, key("pw")).str.replace_all("-", "").alias("_pw"),
        ((u * 7919) % (9 * 10 ** (id_digits - 1)) + 10 ** (id_digits - 1)).cast(pl.String).alias("_number"),
    ).join(
        sch.select(pl.col("_school").alias("_school2"), pl.col("_sid").alias("_sid2")),
        on="_school2",
        how="left",
        maintain_order="left",
    )
    frame = frame.with_columns(
        pl.when(student)
        .then(pl.concat_str(letters("givenName").str.slice(0, 1), letters("familyName"), grad_year))
        .otherwise(pl.concat_str(letters("givenName"), pl.lit("."), letters("familyName")))
        .alias("_ubase"),
        pl.concat_str(letters("givenName"), pl.lit("."), letters("familyName"), pl.lit("@"), mail_domain).alias(
            "_ebase"
        ),
    ).with_columns(
        (pl.int_range(pl.len()).over("_ubase") + 1).alias("_un"),
        (pl.int_range(pl.len()).over("_ebase") + 1).alias("_en"),
    )
    username = pl.concat_str(
        "_ubase", pl.when(pl.col("_un") > 1).then(pl.col("_un").cast(pl.String)).otherwise(pl.lit(""))
    )
    local, host = pl.col("_ebase").str.split_exact("@", 1).struct[0], pl.col("_ebase").str.split_exact("@", 1).struct[1]
    email = pl.concat_str(
        local, pl.when(pl.col("_en") > 1).then(pl.col("_en").cast(pl.String)).otherwise(pl.lit("")), pl.lit("@"), host
    )
    phone = pl.concat_str(pl.lit("503-555-"), "_phone4")
    identifier = (
        pl.when(student).then("_number").when(parent).then(_BLANK).otherwise(pl.concat_str(pl.lit("E"), "_number"))
    )
    frame = (
        frame.with_columns(username.alias("username"), identifier.alias("identifier"))
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("status"),
            pl.lit(None, dtype=pl.String).alias("dateLastModified"),
            pl.when(pl.col("_u_enabled") < 0.995).then(pl.lit("true")).otherwise(pl.lit("false")).alias("enabledUser"),
            pl.concat_str(
                "_sid",
                pl.when(pl.col("_sid2").is_not_null()).then(pl.concat_str(pl.lit(","), "_sid2")).otherwise(pl.lit("")),
            ).alias("orgSourcedIds"),
            pl.col("_role").alias("role"),
            pl.when(parent)
            .then(pl.concat_str(pl.lit("{LDAP:"), "username", pl.lit("}")))
            .otherwise(pl.concat_str(pl.lit("{LDAP:"), "username", pl.lit("},{SIS:"), "identifier", pl.lit("}")))
            .alias("userIds"),
            pl.when(pl.col("_u_mail") < pl.when(student).then(0.95).when(parent).then(0.8).otherwise(1.0))
            .then(email)
            .alias("email"),
            pl.when(parent & (pl.col("_u_phone") < 0.5)).then(phone).alias("sms"),
            pl.when(~student & (pl.col("_u_phone") < 0.4)).then(phone).alias("phone"),
            _GRADES.gather(people["_grade_idx"].fill_null(0)).alias("_grade_code"),
            pl.when(pl.col("_u_pw") < 0.01).then(pl.concat_str(pl.lit("{SSHA}"), "_pw")).alias("password"),
        )
        .with_columns(pl.when(student).then("_grade_code").alias("grades"))
    )
    return frame.select([*USER_COLUMNS, "_uidx", "_role", "_school", "_female", "_grade_idx"])


def build_users(seed: int, layout: Layout, schools: list[School], district_id: str, domain: str) -> pl.DataFrame:
    sch = school_table(schools, district_id)
    people = base_people(seed, plan_users(layout), layout.n_schools, sch)
    return finish_users(seed, link_guardians(seed, people), sch, domain, id_digits(layout))


def id_digits(layout: Layout) -> int:
    """Digits of student numbers: room for twice the day-1 users, so day-2 newcomers stay unique."""
    total = 2 * (
        layout.roles.students
        + layout.roles.teachers
        + layout.roles.aides
        + layout.roles.administrators
        + layout.roles.district_admins
        + layout.roles.guardians
    )
    return max(6, len(str(total)))


def build_demographics(seed: int, students: pl.DataFrame, state: str) -> pl.DataFrame:
    """One row per student (sourcedId = the user's); birth dates match the grade (age 5 in KG on Sept 1)."""
    u = students["_uidx"]

    def key(label: str) -> int:
        return stream_key(seed, "demographics." + label)

    race = uniform(u, key("race"))
    # race shares roughly follow US public-school enrolment; multiracial students set two flags plus "two or more"
    flags = {
        "americanIndianOrAlaskaNative": (race >= 0.74) & (race < 0.752),
        "asian": ((race >= 0.67) & (race < 0.74)) | ((race >= 0.758) & (race < 0.78)),
        "blackOrAfricanAmerican": ((race >= 0.52) & (race < 0.67)) | ((race >= 0.78) & (race < 0.81)),
        "nativeHawaiianOrOtherPacificIslander": (race >= 0.752) & (race < 0.758),
        "white": (race < 0.52) | ((race >= 0.758) & (race < 0.81)),
        "demographicRaceTwoOrMoreRaces": (race >= 0.758) & (race < 0.81),
        "hispanicOrLatinoEthnicity": uniform(u, key("hispanic")) < 0.27,
    }
    us_born = uniform(u, key("country")) < 0.9
    in_state = uniform(u, key("state")) < 0.8
    retained = (uniform(u, key("retained")) < 0.02).cast(pl.Int64)
    frame = students.select("sourcedId", "_female", "_grade_idx", "_uidx").with_columns(
        *[flags[name].alias("_f_" + name) for name in RACES],
        (pl.lit(2018) - pl.col("_grade_idx") - pl.Series(retained)).alias("_year"),
        below(u, key("day"), 365).alias("_day"),
        us_born.alias("_us"),
        in_state.alias("_in"),
        pl.Series(list(FOREIGN_COUNTRIES)).gather(below(u, key("abroad"), len(FOREIGN_COUNTRIES))).alias("_abroad"),
        pl.Series(list(OTHER_STATES)).gather(below(u, key("other"), len(OTHER_STATES))).alias("_other"),
        pl.Series(list(CITIES)).gather(below(u, key("city"), len(CITIES))).alias("_city"),
        (uniform(u, key("city?")) < 0.7).alias("_has_city"),
        uniform(u, key("residence")).alias("_res"),
        uniform(u, key("sex?")).alias("_u_sex"),
    )
    birth = pl.date(pl.col("_year"), 9, 2) + pl.duration(days=pl.col("_day"))
    return frame.with_columns(
        _BLANK.alias("status"),
        _BLANK.alias("dateLastModified"),
        birth.dt.to_string("%Y-%m-%d").alias("birthDate"),
        pl.when(pl.col("_u_sex") < 0.995)
        .then(pl.when("_female").then(pl.lit("female")).otherwise(pl.lit("male")))
        .alias("sex"),
        *[pl.when("_f_" + name).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name) for name in RACES],
        pl.when("_us").then(pl.lit("US")).otherwise("_abroad").alias("countryOfBirthCode"),
        pl.when(pl.col("_us") & pl.col("_in"))
        .then(pl.lit(state.upper()))
        .when("_us")
        .then("_other")
        .alias("stateOfBirthAbbreviation"),
        pl.when(pl.col("_us") & pl.col("_in") & pl.col("_has_city")).then("_city").alias("cityOfBirth"),
        pl.when(pl.col("_res") < 0.96)
        .then(pl.lit("01652"))
        .when(pl.col("_res") < 0.99)
        .then(pl.lit("01653"))
        .otherwise(pl.lit("01654"))
        .alias("publicSchoolResidenceStatus"),
    ).select([*DEMOGRAPHIC_COLUMNS, "_uidx"])
