"""Helpers for the history-view tests: a small handmade district imported through the engine, and GraphQL paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import GraphQLClient, Tenant, data
from tests.workers.imports.conftest import write_package

ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
SESSIONS = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
COURSES = (
    "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n"
)
CLASSES = ("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
           "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n")  # fmt: skip
USERS = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
         "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n")  # fmt: skip
ENROLLMENTS = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
)


def day_one(folder: Path) -> Path:
    """Two schools; users with a merged pair, an excluded (conflicting) pair, a skipped row and a soft finding;
    an enrollment of a missing class (skipped)."""
    return write_package(folder, {
        "orgs": ORGS + "d1,,,District,district,,\ns1,,,North High,school,N1,d1\ns2,,,South Middle,school,S2,d1\n",
        "academicSessions": SESSIONS + "t1,,,Fall,term,2024-08-01,2024-12-20,,2025\n",
        "courses": COURSES + "c1,,,t1,Algebra,ALG,09,s1,,\n",
        "classes": CLASSES + "k1,,,Algebra A,09,c1,ALG-A,scheduled,,s1,t1,,,1\n"
                             "k2,,,Algebra B,09,c1,ALG-B,scheduled,,s2,t1,,,2\n",
        "users": USERS + "u1,,,true,s1,student,ada,,Ada,Lovelace,,,ada@example.org,,,,09,\n"
                         "u2,,,true,\"s1,s2\",teacher,alan,,Alan,Turing,,,alan@example.org,,,,,\n"
                         "u3,,,true,s2,student,grace,,Grace,Hopper,,,not-an-email,,,,09,\n"
                         "u4,,,true,s1,student,,,Kurt,Goedel,,,,,,,09,\n"
                         "u5,,,true,s1,student,emmy,,Emmy,Noether,,,,,,,09,\n"
                         "u5,,,true,s1,student,emmy,,Emmy,Noether,,,,,,,09,\n"
                         "u6,,,true,s2,student,john,,John,Neumann,,,,,,,09,\n"
                         "u6,,,true,s2,student,john,,Johnny,Neumann,,,,,,,09,\n",
        "enrollments": ENROLLMENTS + "e1,,,k1,s1,u1,student,,,\ne2,,,k1,s1,u2,teacher,true,,\n"
                                     "e3,,,k2,s2,u3,student,,,\ne4,,,k2,s2,u2,teacher,true,,\n"
                                     "e5,,,k9,s2,u3,student,,,\n",
    })  # fmt: skip


def day_two(folder: Path) -> Path:
    """Bulk again: u1 renamed (UPDATED), u3 and its enrollment gone (DELETED), u7 new, the rest unchanged."""
    return write_package(folder, {
        "orgs": ORGS + "d1,,,District,district,,\ns1,,,North High,school,N1,d1\ns2,,,South Middle,school,S2,d1\n",
        "academicSessions": SESSIONS + "t1,,,Fall,term,2024-08-01,2024-12-20,,2025\n",
        "courses": COURSES + "c1,,,t1,Algebra,ALG,09,s1,,\n",
        "classes": CLASSES + "k1,,,Algebra A,09,c1,ALG-A,scheduled,,s1,t1,,,1\n"
                             "k2,,,Algebra B,09,c1,ALG-B,scheduled,,s2,t1,,,2\n",
        "users": USERS + "u1,,,true,s1,student,ada,,Augusta Ada,Lovelace,,,ada@example.org,,,,09,\n"
                         "u2,,,true,\"s1,s2\",teacher,alan,,Alan,Turing,,,alan@example.org,,,,,\n"
                         "u5,,,true,s1,student,emmy,,Emmy,Noether,,,,,,,09,\n"
                         "u7,,,true,s2,student,kat,,Katherine,Johnson,,,,,,,09,\n",
        "enrollments": ENROLLMENTS + "e1,,,k1,s1,u1,student,,,\ne2,,,k1,s1,u2,teacher,true,,\n"
                                     "e4,,,k2,s2,u2,teacher,true,,\ne6,,,k2,s2,u7,student,,,\n",
    })  # fmt: skip


SUMMARY_FIELDS = """dataType total
  ... on ImportTypeSummary { noChange new updated deleted skipped duplicates merged excluded invalid }
  ... on ExportTypeSummary { skippedByProvider grantedByProvider skippedByVendor receivedByVendor }"""

# ImportTypeSummary field -> the SummaryColumn listing its records.
IMPORT_COLUMNS = {"total": "TOTAL", "noChange": "NO_CHANGE", "new": "NEW", "updated": "UPDATED", "deleted": "DELETED",
                  "skipped": "SKIPPED", "duplicates": "DUPLICATES", "merged": "MERGED", "excluded": "EXCLUDED",
                  "invalid": "INVALID"}  # fmt: skip

RECORD_FIELDS = (
    "id dataType sourcedId outcome invalid line attributes changes { field before after } "
    "issues { code severity field message }"
)


async def query(gql: GraphQLClient, tenant: Tenant, text: str, **variables: Any) -> dict[str, Any]:
    return data(await gql(text, variables, headers=tenant.headers("viewer")))


async def sync_summaries(gql: GraphQLClient, tenant: Tenant, sync_id: str) -> list[dict[str, Any]]:
    found = await query(
        gql,
        tenant,
        f"query($id: ID!) {{ node(id: $id) {{ ... on Sync {{ summaries {{ {SUMMARY_FIELDS} }} }} }} }}",
        id=sync_id,
    )
    result: list[dict[str, Any]] = found["node"]["summaries"]
    return result


async def all_schools(gql: GraphQLClient, tenant: Tenant, sync_id: str, first: int = 2) -> list[dict[str, Any]]:
    """Every SchoolStatistic of a sync, paged `first` at a time."""
    text = f"""query($id: ID!, $first: Int!, $after: String) {{ node(id: $id) {{ ... on Sync {{
      schools(first: $first, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }}
        edges {{ node {{ school {{ id sourcedId attributes }} totals {{ dataType count }}
                        summaries {{ {SUMMARY_FIELDS} }} }} }} }} }} }} }}"""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await query(gql, tenant, text, id=sync_id, first=first, after=after))["node"]["schools"]
        found += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(found)
            return found
        after = page["pageInfo"]["endCursor"]


async def page_sync_records(
    gql: GraphQLClient,
    tenant: Tenant,
    sync_id: str,
    *,
    first: int,
    fields: str = RECORD_FIELDS,
    after: str | None = None,
    **selection: Any,
) -> tuple[int, list[dict[str, Any]]]:
    """totalCount and every record reached by paging Sync.records to the end (from `after`)."""
    text = f"""query($id: ID!, $first: Int!, $after: String, $dataType: DataType, $column: SummaryColumn,
                     $schoolId: ID) {{ node(id: $id) {{ ... on Sync {{
      records(first: $first, after: $after, dataType: $dataType, column: $column, schoolId: $schoolId) {{
        totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {fields} }} }} }} }} }} }}"""
    return await _page_to_the_end(gql, tenant, text, ("node", "records"), after, id=sync_id, first=first,
                                  **selection)  # fmt: skip


async def _page_to_the_end(
    gql: GraphQLClient, tenant: Tenant, text: str, path: tuple[str, ...], after: str | None = None, **variables: Any
) -> tuple[int, list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    total = -1
    for _ in range(10_000):
        page: Any = await query(gql, tenant, text, after=after, **variables)
        for key in path:
            page = page[key]
        total = page["totalCount"] if total < 0 else total
        assert len(page["edges"]) <= variables["first"]
        found += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return total, found
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


async def page_entity_history(
    gql: GraphQLClient, tenant: Tenant, data_type: str, sourced_id: str, *, first: int
) -> tuple[int, list[dict[str, Any]]]:
    text = f"""query($dataType: DataType!, $sid: String!, $first: Int!, $after: String) {{
      entity(dataType: $dataType, sourcedId: $sid) {{ history(first: $first, after: $after) {{
        totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {RECORD_FIELDS} sync {{ id }} }} }} }} }} }}"""
    return await _page_to_the_end(gql, tenant, text, ("entity", "history"), None, dataType=data_type,
                                  sid=sourced_id, first=first)  # fmt: skip
