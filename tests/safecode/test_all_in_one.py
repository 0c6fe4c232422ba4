"""`safecode run`'s app: both units on one port, and no input ever yields a traceback."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


async def test_resolver_at_root_and_registry_under_api(
    all_in_one_client: httpx.AsyncClient,
) -> None:
    home = await all_in_one_client.get("/")
    assert home.headers["content-type"].startswith("text/html")
    api = await all_in_one_client.get("/api/v1")
    assert api.json()["api"] == "v1"
    missing_api = await all_in_one_client.get("/api/v1/missing")
    assert missing_api.json()["error"]["code"] == "not_found"
    ready = await all_in_one_client.get("/readyz")
    assert ready.status_code == 200


_METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
_SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#"), max_size=30
)
_PATHS = st.one_of(
    st.lists(_SEGMENT, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from(["/api", "/api/", "/api/v1/", "/C/", "/c/x", "/healthz/", "//", "/%ff"]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=_METHODS, path=_PATHS, query=st.text(max_size=40), body=st.binary(max_size=200))
async def test_no_route_method_or_input_gives_a_server_error(
    all_in_one_client: httpx.AsyncClient, method: str, path: str, query: str, body: bytes
) -> None:
    # Quoted as a client must put them on the wire; stray "%" stays, so bad escapes arrive too.
    target = (
        "http://testserver" + quote(path, safe="/%:@!$&'()*+,;=") + "?" + quote(query, safe="=&%")
    )
    response = await all_in_one_client.request(method, target, content=body)
    assert response.status_code < 500, (method, path, response.text[:200])
    assert "Traceback" not in response.text
