"""The division tree through the HTTP API: chemical parks under a county or a city, and
who sees which unit."""

from __future__ import annotations

from tests.registry_api.conftest import Signed, create_account, regulator


async def test_parks_hang_from_a_county_or_city(national: Signed) -> None:
    park = await national.post("/jurisdictions/140105/parks", {"name": "太原化工园区"})
    assert park.status_code == 201
    assert park.json() == {
        "id": "140105P01",
        "name": "太原化工园区",
        "level": "park",
        "parent_id": "140105",
    }
    # A province has no parks: the path names no city or county (as the document says).
    refused = await national.post("/jurisdictions/140000/parks", {"name": "省级园区"})
    assert refused.status_code == 404
    assert "no city or county '140000'" in refused.json()["error"]["message"]
    admin = await create_account(national, regulator("13900000051", "admin", "province", "140000"))
    city = await create_account(admin, regulator("13900000052", "admin", "city", "140100"))
    # The park hangs from the county: the city's admin may not skip the county's.
    skipped = await city.post("/accounts", regulator("13900000053", "admin", "park", "140105P01"))
    assert skipped.status_code == 403
    county = await create_account(city, regulator("13900000054", "admin", "county", "140105"))
    park_admin = await create_account(
        county, regulator("13900000053", "admin", "park", "140105P01")
    )
    assert (await park_admin.get("/jurisdictions/140105P01")).status_code == 200
    assert (await park_admin.get("/jurisdictions/140105")).status_code == 404
