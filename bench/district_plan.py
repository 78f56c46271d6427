"""How many schools, and how users and classes are spread over them, for the requested sizes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from bench._rand import stream_key
from bench.catalog import LEVELS
from bench.district_static import largest_remainder, school_levels

CO_TEACHING_RATE = 0.10  # share of classes that get a second, non-primary teacher


@dataclass(frozen=True)
class RoleCounts:
    students: int
    teachers: int
    aides: int
    administrators: int  # school-level
    district_admins: int
    guardians: int  # parents linked to students through agentSourcedIds


@dataclass(frozen=True)
class Layout:
    roles: RoleCounts
    n_schools: int
    n_courses: int
    students_per_school: list[int]
    classes_per_school: list[int]
    teachers_per_school: list[int]
    aides_per_school: list[int]
    admins_per_school: list[int]


def role_counts(users: int) -> RoleCounts:
    district_admins = min(20, max(1, round(users * 0.0002)))
    admins = max(1, round(users * 0.003))
    aides = round(users * 0.005)
    guardians = round(users * 0.003)
    teachers = max(2, round(users * 0.06))
    students = users - district_admins - admins - aides - guardians - teachers
    if students < 1:
        raise ValueError(f"--users {users} is too small for a district")
    return RoleCounts(students, teachers, aides, admins, district_admins, guardians)


def plan_layout(seed: int, users: int, classes: int, enrollments: int) -> Layout:
    roles = role_counts(users)
    # every school needs more classes than a student takes, so that a student's classes are distinct
    per_student = math.ceil(max(0, enrollments - classes * (1 + CO_TEACHING_RATE)) / roles.students)
    min_classes = per_student + 2
    if min_classes > classes:
        raise ValueError(f"{enrollments} enrollments need more than {classes} classes for {roles.students} students")
    n_schools = max(1, min(40, round(users / 2500), classes // min_classes))
    rng = random.Random(stream_key(seed, "layout"))
    weights = [LEVELS[lv].weight * rng.uniform(0.75, 1.25) for lv in school_levels(n_schools)]
    classes_per_school = largest_remainder(classes, weights, minimum=min_classes)
    return Layout(
        roles=roles,
        n_schools=n_schools,
        n_courses=max(min(classes, 3), round(classes * 0.225)),
        students_per_school=largest_remainder(roles.students, weights),
        classes_per_school=classes_per_school,
        teachers_per_school=largest_remainder(roles.teachers, [float(c) for c in classes_per_school], minimum=1),
        aides_per_school=largest_remainder(roles.aides, weights),
        admins_per_school=largest_remainder(
            roles.administrators, weights, minimum=1 if roles.administrators >= n_schools else 0
        ),
    )
