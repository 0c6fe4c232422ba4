"""No log line holds a secret: the journeys of accounts, passwords and enterprises run
through the real app with every logger at DEBUG, and every line written, formatted as the
product writes it, is searched for the passwords, tokens and resident ID numbers used."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from registry_api.accounts.operations import create_national_admin
from safecode.logs import JsonFormatter
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
