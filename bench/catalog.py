"""Course catalog per school level: (title, subject, SCED-like subject code, grades, is_homeroom)."""

from __future__ import annotations

from typing import NamedTuple

GRADES: tuple[str, ...] = ("KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")


class CatalogEntry(NamedTuple):
    title: str
    subject: str
    subject_code: str
    grades: tuple[str, ...]
    homeroom: bool


class Level(NamedTuple):
    suffix: str  # appended to the school name
    grades: tuple[str, ...]
    weight: float  # relative enrolment of one school of this level
    course_weight: float  # relative size of its course catalog


LEVELS: dict[str, Level] = {
    "elementary": Level("Elementary School", GRADES[0:6], 1.0, 1.0),
    "middle": Level("Middle School", GRADES[6:9], 1.8, 2.0),
    "high": Level("High School", GRADES[9:13], 3.5, 4.0),
    "k8": Level("K-8 School", GRADES[0:9], 2.0, 2.0),
    "k12": Level("Academy", GRADES, 4.0, 4.0),
}

_PREFIX = {
    "English Language Arts": "01",
    "Mathematics": "02",
    "Science": "03",
    "Social Studies": "04",
    "Fine Arts": "05",
    "World Languages": "06",
    "Physical Education": "08",
    "Computer Science": "10",
    "Career and Technical": "20",
    "Homeroom": "22",
}


def _entry(title: str, subject: str, grades: tuple[str, ...], number: int, homeroom: bool = False) -> CatalogEntry:
    return CatalogEntry(title, subject, f"{_PREFIX[subject]}{number:03d}", grades, homeroom)


def _elementary() -> list[CatalogEntry]:
    out: list[CatalogEntry] = []
    for n, grade in enumerate(GRADES[0:6]):
        label = "Kindergarten" if grade == "KG" else f"Grade {int(grade)}"
        out.append(_entry(f"{label} Homeroom", "Homeroom", (grade,), 100 + n, True))
        out.append(_entry(f"{label} Reading", "English Language Arts", (grade,), 100 + n))
        out.append(_entry(f"{label} Math", "Mathematics", (grade,), 100 + n))
        out.append(_entry(f"{label} Science", "Science", (grade,), 100 + n))
        out.append(_entry(f"{label} Social Studies", "Social Studies", (grade,), 100 + n))
    specials = [
        ("Art", "Fine Arts"),
        ("General Music", "Fine Arts"),
        ("Physical Education", "Physical Education"),
        ("Library Media", "English Language Arts"),
        ("Spanish Enrichment", "World Languages"),
    ]
    out += [_entry(t, s, GRADES[0:6], 150 + n) for n, (t, s) in enumerate(specials)]
    return out


def _middle() -> list[CatalogEntry]:
    out: list[CatalogEntry] = []
    for n, grade in enumerate(GRADES[6:9]):
        g = int(grade)
        out.append(_entry(f"Advisory {g}", "Homeroom", (grade,), 200 + n, True))
        out.append(_entry(f"English {g}", "English Language Arts", (grade,), 200 + n))
        out.append(_entry(f"Math {g}", "Mathematics", (grade,), 200 + n))
        out.append(_entry(f"Science {g}", "Science", (grade,), 200 + n))
        out.append(_entry(f"Social Studies {g}", "Social Studies", (grade,), 200 + n))
    mixed = [
        ("Pre-Algebra", "Mathematics", GRADES[7:9]),
        ("Algebra I", "Mathematics", GRADES[8:9]),
        ("Spanish I", "World Languages", GRADES[7:9]),
        ("Band", "Fine Arts", GRADES[6:9]),
        ("Orchestra", "Fine Arts", GRADES[6:9]),
        ("Choir", "Fine Arts", GRADES[6:9]),
        ("Art", "Fine Arts", GRADES[6:9]),
        ("Physical Education", "Physical Education", GRADES[6:9]),
        ("Health", "Physical Education", GRADES[6:9]),
        ("CS Discoveries", "Computer Science", GRADES[6:9]),
        ("Technology", "Career and Technical", GRADES[6:9]),
    ]
    out += [_entry(t, s, g, 250 + n) for n, (t, s, g) in enumerate(mixed)]
    return out


def _high() -> list[CatalogEntry]:
    g9, g10, g11, g12 = GRADES[9:10], GRADES[10:11], GRADES[11:12], GRADES[12:13]
    upper, junior_up, all_hs = GRADES[10:13], GRADES[11:13], GRADES[9:13]
    rows: list[tuple[str, str, tuple[str, ...]]] = [
        ("English 9", "English Language Arts", g9),
        ("English 10", "English Language Arts", g10),
        ("American Literature", "English Language Arts", g11),
        ("AP English Language", "English Language Arts", g11),
        ("British Literature", "English Language Arts", g12),
        ("AP English Literature", "English Language Arts", g12),
        ("Creative Writing", "English Language Arts", upper),
        ("Journalism", "English Language Arts", all_hs),
        ("Algebra I", "Mathematics", g9 + g10),
        ("Geometry", "Mathematics", g9 + g10),
        ("Algebra II", "Mathematics", g10 + g11),
        ("Precalculus", "Mathematics", junior_up),
        ("AP Calculus AB", "Mathematics", g12),
        ("AP Statistics", "Mathematics", junior_up),
        ("Financial Math", "Mathematics", g12),
        ("Biology", "Science", g9),
        ("Chemistry", "Science", g10 + g11),
        ("Physics", "Science", junior_up),
        ("Environmental Science", "Science", upper),
        ("AP Biology", "Science", junior_up),
        ("AP Chemistry", "Science", junior_up),
        ("Anatomy", "Science", junior_up),
        ("World History", "Social Studies", g9),
        ("US History", "Social Studies", g10 + g11),
        ("AP US History", "Social Studies", g11),
        ("US Government", "Social Studies", g12),
        ("Economics", "Social Studies", g12),
        ("Psychology", "Social Studies", upper),
        ("Spanish I", "World Languages", all_hs),
        ("Spanish II", "World Languages", all_hs),
        ("Spanish III", "World Languages", upper),
        ("AP Spanish", "World Languages", junior_up),
        ("French I", "World Languages", all_hs),
        ("French II", "World Languages", all_hs),
        ("Chinese I", "World Languages", all_hs),
        ("ASL I", "World Languages", all_hs),
        ("Art I", "Fine Arts", all_hs),
        ("Ceramics", "Fine Arts", all_hs),
        ("Photography", "Fine Arts", upper),
        ("Concert Band", "Fine Arts", all_hs),
        ("Choir", "Fine Arts", all_hs),
        ("Theater Arts", "Fine Arts", all_hs),
        ("PE 9", "Physical Education", g9),
        ("Health", "Physical Education", g9),
        ("Weight Training", "Physical Education", upper),
        ("CS Principles", "Computer Science", all_hs),
        ("AP Computer Science A", "Computer Science", upper),
        ("Web Design", "Computer Science", all_hs),
        ("Culinary Arts", "Career and Technical", all_hs),
        ("Auto Technology", "Career and Technical", upper),
        ("Welding", "Career and Technical", upper),
        ("Health Careers", "Career and Technical", junior_up),
    ]
    out = [_entry(t, s, g, 300 + n) for n, (t, s, g) in enumerate(rows)]
    out += [_entry(f"Advisory {int(g)}", "Homeroom", (g,), 390 + n, True) for n, g in enumerate(all_hs)]
    return out


_CATALOGS: dict[str, list[CatalogEntry]] = {"elementary": _elementary(), "middle": _middle(), "high": _high()}
_CATALOGS["k8"] = _CATALOGS["elementary"] + _CATALOGS["middle"]
_CATALOGS["k12"] = _CATALOGS["k8"] + _CATALOGS["high"]

# Variants used once a school needs more courses than its level's catalog holds.
VARIANTS: tuple[str, ...] = ("{}", "Honors {}", "{} (Dual Language)", "{} - ELL Support", "{} Lab", "{} B")

COURSE_CODE_PREFIX: dict[str, str] = {
    "English Language Arts": "ELA",
    "Mathematics": "MATH",
    "Science": "SCI",
    "Social Studies": "SOC",
    "Fine Arts": "ART",
    "World Languages": "WLG",
    "Physical Education": "PE",
    "Computer Science": "CS",
    "Career and Technical": "CTE",
    "Homeroom": "HR",
}


def catalog(level: str) -> list[CatalogEntry]:
    return _CATALOGS[level]
