"""The demo data `make run` loads: logins that work, in the right places, loaded once."""

from __future__ import annotations

import httpx

from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.embedded import ServiceUrls


async def test_the_demo_logins_work_where_the_readme_says(
    service_urls: ServiceUrls, master_key: bytes, registry_client: httpx.AsyncClient
) -> None:
    assert await ensure_demo_registry(service_urls.database_url, master_key=master_key)
    assert not await ensure_demo_registry(service_urls.database_url, master_key=master_key)

    async def signed_in(mobile: str) -> dict[str, str]:
        response = await registry_client.post(
            "/api/v1/auth/login", json={"mobile": mobile, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json()["must_change_password"] is False
        return {"Authorization": f"Bearer {response.json()['token']}"}

    county = await signed_in("13800000005")
    approved = await registry_client.get(
        "/api/v1/enterprise-applications?status=approved", headers=county
    )
    assert len(approved.json()["applications"]) == 3
    enterprise = await signed_in("13700000001")
    own = approved.json()["applications"][0]["enterprise_id"]
    assert (
        await registry_client.get(f"/api/v1/enterprises/{own}", headers=enterprise)
    ).status_code == 200
    province = await signed_in("13800000001")
    accounts = await registry_client.get("/api/v1/accounts", headers=province)
    assert {a["level"] for a in accounts.json()["accounts"]} == {
        "province",
        "city",
        "county",
        "park",
    }
    park = await signed_in("13800000007")
    assert (
        await registry_client.get("/api/v1/jurisdictions/140105P01", headers=park)
    ).status_code == 200
