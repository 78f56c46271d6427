"""Duplicate rows (§2): mergeable groups fold into one record, conflicting groups and uniqueness clashes are excluded
whole, and nothing the district had is lost because of a bad row."""

from __future__ import annotations

from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary
from tests.workers.imports.packages import base_pkg, by_id, by_line, content_state, run, user
from workers.imports.model import ImportOptions


async def _users(district: District) -> dict[str, dict[str, object]]:
    rows = await district.pool.fetch(
        'SELECT * FROM users_versions WHERE tenant_id = $1 AND valid_to IS NULL ORDER BY "sourcedId"',
        district.tenant.id,
    )
    return {r["sourcedId"]: dict(r) for r in rows}


async def test_a_mergeable_group_fills_blanks_unions_lists_and_counts_merged(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"][1]["middleName"] = "M"
    # u2 again (line 5): no email on line 3 but one here, another org and grade, no middle name; the rest agrees
    pkg.rows["users"].append(user("u2", "d1", "student", email="u2@example.org", grades="06"))
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["total"], row["new"], row["merged"], row["excluded"]) == (4, 3, 1, 0)
    u2 = by_id(records, DataType.USERS)["u2"]
    assert sorted((r.line, r.outcome) for r in u2) == [(3, "NEW"), (5, "MERGED")]  # the first row carries NEW
    assert "duplicate.merged" in by_line(records, DataType.USERS)[5].codes
    stored = (await _users(district))["u2"]
    assert stored["orgSourcedIds"] == "s1,s2,d1"  # unioned in first-seen order
    assert stored["grades"] == "05,06"
    assert stored["email"] == "u2@example.org"  # a blank filled from the other row
    assert stored["middleName"] == "M"  # a blank never overrides a value
    assert result.counts["errors"] == 0  # merged rows are not errors


async def test_exact_repeats_merge_without_changing_the_record(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"] += [dict(pkg.rows["users"][0]), dict(pkg.rows["users"][0])]
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["total"], row["new"], row["merged"]) == (5, 3, 2)
    assert sorted(r.outcome for r in by_id(records, DataType.USERS)["u1"]) == ["MERGED", "MERGED", "NEW"]


async def test_a_conflicting_group_is_excluded_whole_and_the_current_entity_kept(district: District) -> None:
    await run(district, base_pkg())
    before = await content_state(district)
    pkg = base_pkg()
    pkg.rows["users"][1]["givenName"] = "Renamed"  # u2 line 3
    pkg.rows["users"].append(user("u2", "s1,s2", grades="05", givenName="Other"))  # line 5 disagrees
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["total"], row["no_change"], row["excluded"], row["merged"], row["deleted"]) == (4, 2, 2, 0, 0)
    u2 = by_id(records, DataType.USERS)["u2"]
    assert sorted((r.line, r.outcome) for r in u2) == [(3, "EXCLUDED"), (5, "EXCLUDED")]
    assert all("duplicate.conflict" in r.codes for r in u2)
    # kept as it was, not deleted by the bulk file, and its enrollments and demographics still resolve
    assert await content_state(district) == before
    assert summary(result, DataType.ENROLLMENTS)["no_change"] == 3
    assert summary(result, DataType.DEMOGRAPHICS)["no_change"] == 1
    assert result.counts["errors"] == 2


async def test_a_conflicting_new_sourcedid_is_not_created_and_its_referrers_are_skipped(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"] += [user("u9", "s1", givenName="A"), user("u9", "s1", givenName="B")]
    pkg.rows["demographics"].append({"sourcedId": "u9", "sex": "male"})
    result, records = await run(district, pkg)
    assert summary(result, DataType.USERS)["excluded"] == 2
    assert "u9" not in await _users(district)
    demographic = by_id(records, DataType.DEMOGRAPHICS)["u9"][0]
    assert (demographic.outcome, demographic.codes) == ("SKIPPED", ("reference.target_not_applied",))


async def test_a_username_clash_between_two_sourcedids_excludes_both_groups(district: District) -> None:
    await run(district, base_pkg())
    before = await _users(district)
    pkg = base_pkg()
    pkg.rows["users"][0]["username"] = "USER.U3"  # u1 takes u3's username, in another case
    pkg.rows["users"].append(dict(pkg.rows["users"][0]))  # u1 repeated: its merged row goes with the group
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["total"], row["no_change"], row["excluded"], row["merged"], row["deleted"]) == (4, 1, 3, 0, 0)
    for sid, lines in (("u1", [2, 5]), ("u3", [4])):
        group = by_id(records, DataType.USERS)[sid]
        assert sorted(r.line for r in group) == lines
        assert all(r.outcome == "EXCLUDED" for r in group)
    assert "duplicate.username" in by_line(records, DataType.USERS)[2].codes
    assert "duplicate.username" in by_line(records, DataType.USERS)[4].codes
    after = await _users(district)
    for sid in ("u1", "u3"):  # both current users kept as they were
        assert after[sid]["username"] == before[sid]["username"]
        assert after[sid]["kind"] != 4
    assert result.counts["errors"] == 3


async def test_uniqueness_domains_are_the_apps_choice(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"][0]["username"] = "user.u3"
    pkg.rows["users"][0]["email"] = pkg.rows["users"][2]["email"] = "shared@example.org"
    without = await run(district, pkg, ImportOptions(uniqueness_domains=()))
    assert summary(without[0], DataType.USERS)["excluded"] == 0
    email = await run(district, pkg, ImportOptions(uniqueness_domains=("users.email",)))
    row = summary(email[0], DataType.USERS)
    assert row["excluded"] == 2
    assert {r.sourced_id for r in email[1] if "duplicate.email" in r.codes} == {"u1", "u3"}


async def test_a_sourcedid_only_on_skipped_rows_is_not_deleted_by_a_bulk_file(district: District) -> None:
    await run(district, base_pkg())
    before = await content_state(district)
    pkg = base_pkg()
    pkg.rows["users"][2]["enabledUser"] = "perhaps"  # u3's only row is skipped
    pkg.rows["classes"][1]["classType"] = "lecture"  # so is k2's
    result, records = await run(district, pkg)
    assert summary(result, DataType.USERS)["deleted"] == 0
    assert summary(result, DataType.CLASSES)["deleted"] == 0
    # k2 is kept, so its enrollment e3 still resolves against it
    enrollments = summary(result, DataType.ENROLLMENTS)
    assert (enrollments["no_change"], enrollments["skipped"]) == (3, 0)
    assert await content_state(district) == before
    assert by_line(records, DataType.USERS)[4].outcome == "SKIPPED"


async def test_a_repeated_enrollment_under_another_sourcedid_is_a_soft_finding_not_a_duplicate(
    district: District,
) -> None:
    pkg = base_pkg()
    pkg.rows["enrollments"].append({**pkg.rows["enrollments"][1], "sourcedId": "e9"})
    result, records = await run(district, pkg)
    row = summary(result, DataType.ENROLLMENTS)
    assert (row["new"], row["merged"], row["excluded"], row["invalid"]) == (4, 0, 0, 1)
    assert "semantic.duplicate_enrollment" in by_line(records, DataType.ENROLLMENTS)[5].codes


async def test_a_repeated_enrollment_next_to_a_merged_group_is_flagged(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["enrollments"].append(dict(pkg.rows["enrollments"][0]))  # line 5: e1 again, merged
    pkg.rows["enrollments"].append({**pkg.rows["enrollments"][1], "sourcedId": "e9"})  # line 6: e2 repeated as e9
    result, records = await run(district, pkg)
    assert result.status == "SUCCEEDED"
    row = summary(result, DataType.ENROLLMENTS)
    assert (row["new"], row["merged"], row["invalid"]) == (4, 1, 1)
    assert "semantic.duplicate_enrollment" in by_line(records, DataType.ENROLLMENTS)[6].codes


async def test_a_merged_row_excluded_with_its_group_says_why(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"][0]["username"] = "USER.U3"
    pkg.rows["users"].append(dict(pkg.rows["users"][0]))  # line 5: u1 again, merged, then excluded with u1
    _, records = await run(district, pkg)
    line5 = by_line(records, DataType.USERS)[5]
    assert line5.outcome == "EXCLUDED"
    # its only finding is INFO duplicate.merged ("... were merged into one record"): the admin sees no reason
    assert "duplicate.username" in line5.codes
    assert "duplicate.merged" not in line5.codes
