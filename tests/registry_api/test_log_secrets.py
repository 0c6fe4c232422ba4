"""No log line holds a secret: the journeys of accounts, passwords and enterprises run
through the real app with every logger at DEBUG, and every line written, formatted as the
product writes it, is searched for the passwords, tokens and resident ID numbers used; and
scans and lookups through the real resolver, for the codes and the cookies sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from registry_api.accounts.operations import create_national_admin
from safecode.demo import sample_record
from safecode.logs import JsonFormatter
from tests.codesvc.conftest import BASE
from tests.registry_api.conftest import API, GOOD_PASSWORD, Signed, first_sign_in, regulator

RESIDENT_ID = "11010519491231002X"
WRONG_PASSWORD = "Not-The-Password-9"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line any logger writes during the test, as the product's handler writes it."""
    root = logging.getLogger()
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_no_log_line_holds_a_password_token_or_resident_id(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient, log_lines: list[str]
) -> None:
    secrets: list[str] = [GOOD_PASSWORD, WRONG_PASSWORD, RESIDENT_ID]
    async with pool.acquire() as conn:
        account, temporary = await create_national_admin(
            conn, mobile="13800000000", name="国家管理员", work_unit="中华人民共和国应急管理部"
        )
    secrets.append(temporary)
    national = await first_sign_in(registry_client, account.mobile, temporary)
    secrets.append(national.token)

    body = regulator("13900000301", "admin", "province", "140000", resident_id=RESIDENT_ID)
    created = await national.post("/accounts", body)
    assert created.status_code == 201, created.text
    secrets.append(created.json()["temporary_password"])
    reset = await national.post(f"/accounts/{created.json()['account']['id']}/password-reset")
    secrets.append(reset.json()["temporary_password"])
    province = await first_sign_in(
        registry_client, "13900000301", reset.json()["temporary_password"]
    )
    secrets.append(province.token)
    assert (await province.get(f"/accounts/{created.json()['account']['id']}")).status_code == 200
    roster = await national.get("/jurisdictions/000000/roster.csv")  # IDs in full, by design
    assert RESIDENT_ID in roster.text

    for _ in range(6):  # wrong passwords, then a lock
        await registry_client.post(
            f"{API}/auth/login", json={"mobile": "13900000301", "password": WRONG_PASSWORD}
        )
    forged = "forged-token-0123456789abcdef"
    secrets.append(forged)
    refused = await registry_client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    await national.post("/auth/logout")
    stale = Signed(registry_client, national.token, national.account_id)
    assert (await stale.get("/me")).status_code == 401

    assert log_lines, "the journeys wrote no log line: the capture is not working"
    written = "\n".join(log_lines)
    assert [secret for secret in secrets if secret in written] == []


# Neither app sets a cookie (the registry takes bearer tokens); a client may still send
# some, and whatever it sends is its own.
COOKIES = {"Cookie": "session=sess-7f3a9c1e5b2d4f60; csrftoken=csrf-0a1b2c3d4e5f6789"}
COOKIE_VALUES = ["sess-7f3a9c1e5b2d4f60", "csrf-0a1b2c3d4e5f6789"]


async def test_no_log_line_holds_a_code_or_a_cookie(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    resolver_client: httpx.AsyncClient,
    registry_client: httpx.AsyncClient,
    log_lines: list[str],
) -> None:
    async with pool.acquire() as conn:  # in PostgreSQL only: the resolver reads it there
        issued = await issue_code(conn, "logs/product", keyring=keyring, province="14")
        await publish(conn, issued.code.code_id, sample_record(), public_base_url=BASE)
    code = issued.code.text
    forged = f"{code[:-20]}{'A' if code[-20] != 'A' else 'B'}{code[-19:]}"
    answers = [
        await resolver_client.get(f"/C/{code}", headers=COOKIES),
        await resolver_client.get(f"/c/{code}/B/LOT-7?view=sds", headers=COOKIES),
        await resolver_client.get(f"/C/{forged}", headers=COOKIES),
        await resolver_client.get(f"/lookup?id={code[:16]}&lang=en", headers=COOKIES),
        await resolver_client.get("/lookup?id=14AB-CDEF", headers=COOKIES),
        await registry_client.get(f"{API}/me", headers=COOKIES),
        await registry_client.post(
            f"{API}/auth/login",
            json={"mobile": "13900000302", "password": WRONG_PASSWORD},
            headers=COOKIES,
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 303, 400, 401, 401]

    # The test's own client (httpx) logs the URLs it asks for; the product's lines are the rest.
    product = [line for line in log_lines if json.loads(line)["logger"].split(".")[0] != "httpx"]
    access = [line for line in product if json.loads(line)["logger"] == "safecode.access"]
    assert len(access) == len(answers), "not every request was logged: the capture is not working"
    written = "\n".join(product)
    secrets = [code, code[16:], forged, code[:16], *COOKIE_VALUES]
    assert [secret for secret in secrets if secret in written] == []
