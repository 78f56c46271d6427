"""references._school_mismatches: exactly the enrollments whose school is not their class's, whatever the hashes."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_csv.reader import LINE
from workers.imports.references import _school_mismatches

ids = st.sampled_from(["c1", "c2", "c3", "s1", "s2", ""]) | st.none()


@settings(max_examples=300, deadline=None)
@given(
    classes=st.dictionaries(st.sampled_from(["c1", "c2", "c3"]), ids, max_size=3),
    records=st.lists(st.tuples(ids, ids), max_size=12),
)
def test_only_records_whose_class_has_another_school_are_found(
    classes: dict[str, str | None], records: list[tuple[str | None, str | None]]
) -> None:
    frame = pl.DataFrame(
        {
            LINE: list(range(2, len(records) + 2)),
            "sourcedId": [f"e{i}" for i in range(len(records))],
            "classSourcedId": [c for c, _ in records],
            "schoolSourcedId": [s for _, s in records],
        },
        schema={LINE: pl.Int64, "sourcedId": pl.String, "classSourcedId": pl.String, "schoolSourcedId": pl.String},
    )
    class_schools = pl.DataFrame(
        {"classSourcedId": list(classes), "schoolSourcedId": list(classes.values())},
        schema={"classSourcedId": pl.String, "schoolSourcedId": pl.String},
    )
    found = _school_mismatches(frame, class_schools)
    # Compared only where the class is known and both sides name a school.
    expected = [
        f"e{i}"
        for i, (cls, school) in enumerate(records)
        if cls in classes and classes[cls] is not None and school is not None and school != classes[cls]
    ]
    assert sorted(found["sourcedId"].to_list()) == sorted(expected)
    assert (found["_class_school"] != found["schoolSourcedId"]).all()
