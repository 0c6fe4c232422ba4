"""Any JSON body, to any route that takes one, from a signed-in admin: never a 5xx."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_api.accounts import storage as accounts_db
from registry_api.accounts.operations import acting_as, create_national_admin
from registry_api.accounts.rules import Level, Role, hash_password
from registry_api.endpoints import ENDPOINTS
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.forms import EnterpriseApplicationForm
from registry_api.requests import PREFIX, Endpoint
from tests.registry_api.conftest import GOOD_PASSWORD, Signed, sign_in

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=12,
)
_FIELDS = st.sampled_from(
    ["mobile", "password", "name", "role", "level", "jurisdiction_id", "work_unit", "uscc",
     "county_id", "kinds", "industry_code", "reason", "new_password", "park_id",
     "aging_installations", "resident_id", "emergency_phone", "name_zh", "cas_numbers",
     "components", "physical_form", "classification", "label", "sds", "kind", "revision_ids",
     "changes", "resubmission_of"]
)  # fmt: skip
_BODIES = _JSON | st.dictionaries(_FIELDS, _JSON, max_size=8)
_WRITES = [e for e in ENDPOINTS if e.method in ("POST", "PATCH", "PUT") and e.body is not None]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(_WRITES), body=_BODIES, if_match=st.sampled_from(['"1"', "x", None])
)
async def test_no_body_gives_a_server_error(
    national: Signed, endpoint: Endpoint, body: object, if_match: str | None
) -> None:
    path = PREFIX + re.sub(
        r"\{(\w+)\}", lambda m: "140105" if m.group(1) == "jurisdiction_id" else "1", endpoint.path
    )
    headers = national.headers() | ({"If-Match": if_match} if if_match else {})
    response = await national.client.request(endpoint.method, path, json=body, headers=headers)
    assert response.status_code < 500, (endpoint.path, body, response.text[:300])
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.fixture
async def owner(pool: asyncpg.Pool, registry_client: httpx.AsyncClient) -> tuple[Signed, int]:
    """The owner of an approved enterprise, signed in, and the enterprise's id."""
    async with pool.acquire() as conn:
        national, _ = await create_national_admin(
            conn, mobile="13800000000", name="管理员", work_unit="中华人民共和国应急管理部"
        )
        county = await accounts_db.insert_regulator(
            conn, mobile="13800000005", name="区管理员", password_hash=national.password_hash,
            role=Role.ADMIN, level=Level.COUNTY, jurisdiction_id="140105",
            work_unit="小店区应急管理局",
            position=None, office_phone=None, resident_id_sealed=None, resident_id_masked=None,
            remark=None, created_by=None,
        )  # fmt: skip
        assert county is not None
        actor = await acting_as(conn, county)
        form = EnterpriseApplicationForm.model_validate(
            {"uscc": "91350100M000100Y43", "name": "模糊测试化工有限公司", "county_id": "140105",
             "address": "测试路1号", "kinds": ["producer", "chemical"], "industry_code": "2614",
             "contact_name": "联系人", "contact_mobile": "13700000001"}
        )  # fmt: skip
        approved = await enterprises.approve(
            conn, actor, (await enterprises.apply(conn, form, None)).id
        )
        await conn.execute(
            "UPDATE accounts SET password_hash = $1, must_change_password = false",
            hash_password(GOOD_PASSWORD),
        )
    login = await sign_in(registry_client, "13700000001", GOOD_PASSWORD)
    signed = Signed(registry_client, login.json()["token"], login.json()["account"]["id"])
    return signed, approved.enterprise.id


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_BODIES)
async def test_no_record_update_gives_a_server_error(
    owner: tuple[Signed, int], body: object
) -> None:
    signed, enterprise_id = owner
    current = await signed.get(f"/enterprises/{enterprise_id}")
    response = await signed.client.patch(
        f"{PREFIX}/enterprises/{enterprise_id}",
        json=body,
        headers=signed.headers() | {"If-Match": current.headers["etag"]},
    )
    assert response.status_code < 500, (body, response.text[:300])
    assert response.status_code in (200, 400, 422), (body, response.text[:300])
