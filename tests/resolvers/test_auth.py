"""Authentication and roles over HTTP: no token, bad tokens, and what each role may do."""

from __future__ import annotations

import pytest

from tests.conftest import GraphQLClient, Tenant, data, error_codes

APPS = "{ apps { id name kind provider } }"
INSTALL = 'mutation { appInstall(provider: "csv-upload", name: "second upload") { app { name } userErrors { code } } }'


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer nonsense", "Basic abc", "Bearer ors_1_wrong", "Bearer ors_x_y", "Bearer ors_99999_z"],
)
async def test_requests_without_a_valid_token_get_an_authentication_error(
    gql: GraphQLClient, tenant: Tenant, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    body = await gql(APPS, headers=headers)
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_a_token_with_another_tenants_id_does_not_authenticate(gql: GraphQLClient, pool, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_tenant

    other = await make_tenant(pool)
    secret = tenant.tokens["admin"].split("_", 2)[2]
    forged = f"ors_{other.id}_{secret}"
    assert error_codes(await gql(APPS, headers={"Authorization": f"Bearer {forged}"})) == ["UNAUTHENTICATED"]


async def test_new_tenant_has_the_four_default_apps(gql: GraphQLClient, tenant: Tenant) -> None:
    apps = data(await gql(APPS, headers=tenant.headers("viewer")))["apps"]
    assert [(a["name"], a["kind"], a["provider"]) for a in apps] == [
        ("csv-upload", "IMPORT", "csv-upload"),
        ("sftp", "IMPORT", "sftp"),
        ("amplify", "EXPORT", "amplify"),
        ("amplify-mclass", "EXPORT", "amplify-mclass"),
    ]
    exports = data(await gql("{ apps(kind: EXPORT) { name } }", headers=tenant.headers("viewer")))["apps"]
    assert [a["name"] for a in exports] == ["amplify", "amplify-mclass"]


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("operator", False), ("admin", True)])
async def test_only_admins_install_apps(gql: GraphQLClient, tenant: Tenant, role: str, allowed: bool) -> None:
    body = await gql(INSTALL, headers=tenant.headers(role))
    if allowed:
        assert data(body)["appInstall"] == {"app": {"name": "second upload"}, "userErrors": []}
    else:
        assert error_codes(body) == ["FORBIDDEN"]
        apps = data(await gql(APPS, headers=tenant.headers("admin")))["apps"]
        assert "second upload" not in [a["name"] for a in apps]


async def test_business_errors_come_back_as_user_errors(gql: GraphQLClient, tenant: Tenant) -> None:
    body = data(
        await gql(
            'mutation { appInstall(provider: "nope") { app { id } userErrors { code message } } }',
            headers=tenant.headers(),
        )
    )
    assert body["appInstall"]["app"] is None
    assert body["appInstall"]["userErrors"][0]["code"] == "APP_NOT_INSTALLABLE"
    assert "unknown provider" in body["appInstall"]["userErrors"][0]["message"]


async def test_app_configure_keeps_fields_left_out(gql: GraphQLClient, tenant: Tenant) -> None:
    app_id = data(await gql(APPS, headers=tenant.headers()))["apps"][0]["id"]
    query = """mutation($id: ID!, $s: AppSettingsInput!) { appConfigure(appId: $id, settings: $s) {
        app { settings { strict holdDeletePercent holdDeleteMinimum ruleSeverities { code severity } } }
        userErrors { code } } }"""
    first = data(await gql(query, {"id": app_id, "s": {"strict": True}}, headers=tenant.headers()))
    second = data(
        await gql(
            query,
            {
                "id": app_id,
                "s": {"holdDeleteMinimum": 5, "ruleSeverities": [{"code": "row.invalid_email", "severity": "HARD"}]},
            },
            headers=tenant.headers(),
        )
    )
    assert first["appConfigure"]["app"]["settings"]["strict"] is True
    assert second["appConfigure"]["app"]["settings"] == {
        "strict": True,
        "holdDeletePercent": 10.0,
        "holdDeleteMinimum": 5,
        "ruleSeverities": [{"code": "row.invalid_email", "severity": "HARD"}],
    }
    denied = await gql(query, {"id": app_id, "s": {"strict": False}}, headers=tenant.headers("operator"))
    assert error_codes(denied) == ["FORBIDDEN"]


async def test_internal_errors_are_masked_but_validation_errors_are_not(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql("{ apps { nme } }", headers=tenant.headers())
    assert "nme" in body["errors"][0]["message"]
