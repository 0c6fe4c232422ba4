"""GET /.well-known/safecode-keys.json: what any verifier fetches to check codes offline."""

from __future__ import annotations

import asyncpg
import httpx

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.signing import verify

KEYS = "/.well-known/safecode-keys.json"


async def test_the_key_set_verifies_issued_codes_and_says_how_long_to_keep_it(
    resolver_client: httpx.AsyncClient, pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        issued = await issue_code(conn, "e/p", keyring=keyring, province="14")
    response = await resolver_client.get(KEYS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    keys = response.json()["keys"]
    assert [(k["kty"], k["crv"], k["kid"], k["status"]) for k in keys] == [
        ("OKP", "Ed25519", "01", "active")
    ]
    assert verify(issued.code.text, response.content).genuine


async def test_an_unchanged_key_set_answers_304_and_a_rotation_changes_it(
    resolver_client: httpx.AsyncClient, pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    async with pool.acquire() as conn:
        await issue_code(conn, "e/p", keyring=keyring, province="14")
    first = await resolver_client.get(KEYS)
    etag = first.headers["etag"]
    again = await resolver_client.get(KEYS, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    async with pool.acquire() as conn:
        await keyring.rotate(conn)
    rotated = await resolver_client.get(KEYS, headers={"If-None-Match": etag})
    assert rotated.status_code == 200
    assert {k["kid"]: k["status"] for k in rotated.json()["keys"]} == {
        "01": "retired",
        "02": "active",
    }


async def test_an_empty_key_set_before_the_first_code(resolver_client: httpx.AsyncClient) -> None:
    response = await resolver_client.get(KEYS)
    assert response.json() == {"keys": []}
