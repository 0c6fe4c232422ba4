"""Any JSON body, to any route that takes one, from a signed-in admin: never a 5xx."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_api import views
from tests.registry_api.conftest import Signed

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
     "aging_installations", "resident_id", "emergency_phone"]
)  # fmt: skip
_BODIES = _JSON | st.dictionaries(_FIELDS, _JSON, max_size=8)
_WRITES = [e for e in views.ENDPOINTS if e.method in ("POST", "PATCH") and e.body is not None]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(_WRITES), body=_BODIES, if_match=st.sampled_from(['"1"', "x", None])
)
async def test_no_body_gives_a_server_error(
    national: Signed, endpoint: views.Endpoint, body: object, if_match: str | None
) -> None:
    path = views.PREFIX + re.sub(
        r"\{(\w+)\}", lambda m: "140105" if m.group(1) == "jurisdiction_id" else "1", endpoint.path
    )
    headers = national.headers() | ({"If-Match": if_match} if if_match else {})
    response = await national.client.request(endpoint.method, path, json=body, headers=headers)
    assert response.status_code < 500, (endpoint.path, body, response.text[:300])
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}
