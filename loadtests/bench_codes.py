"""`make bench` section "codes": issuing, verifying and rendering codes on this machine.

Runs in a database of its own (created on the product's PostgreSQL, migrated, dropped
at the end), so the numbers include real transactions and leave no codes behind.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from codesvc.codes import Code, group_code_id, scan_url
from codesvc.issuance import issue_code, issue_codes
from codesvc.keyring import KeyRing, published_keys
from codesvc.qr import QrFormat, QrOptions, qr_matrix, render_qr
from codesvc.signing import parse_jwks, verify
from safecode.migrations import apply_migrations, discover

BASE_URL = "https://safecode.example.cn"


@dataclass(frozen=True, slots=True)
class Rate:
    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


async def _timed(name: str, count: int, work: Callable[[], Awaitable[None]]) -> Rate:
    started = time.perf_counter()
    await work()
    return Rate(name, count, time.perf_counter() - started)


async def codes_section(server_url: str, n: int) -> list[Rate]:
    database = f"safecode_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        conn = await asyncpg.connect(urlunsplit(urlsplit(server_url)._replace(path=f"/{database}")))
        try:
            await apply_migrations(conn, discover())
            return await _measure(conn, n)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()


async def _measure(conn: asyncpg.Connection, n: int) -> list[Rate]:
    keyring = KeyRing(os.urandom(32))
    await issue_code(conn, "warm-up", keyring=keyring, province="14")  # makes the first key
    rates = []

    async def one_by_one() -> None:
        for i in range(n):
            await issue_code(conn, f"single/{i}", keyring=keyring, province="14")

    rates.append(await _timed("issue, one per transaction", n, one_by_one))

    async def with_qr() -> None:
        for i in range(n):
            issued = await issue_code(conn, f"qr/{i}", keyring=keyring, province="14")
            url = scan_url(BASE_URL, issued.code)
            render_qr(url, group_code_id(issued.code.code_id), QrOptions(QrFormat.PNG))

    rates.append(await _timed("issue + QR (PNG), one per transaction", n, with_qr))

    batch = [f"batch/{i}" for i in range(n * 10)]

    async def in_batches() -> None:
        for start in range(0, len(batch), 1000):
            await issue_codes(conn, batch[start : start + 1000], keyring=keyring, province="14")

    rates.append(await _timed("issue, batches of 1000", len(batch), in_batches))

    jwks = parse_jwks(await published_keys(conn))
    rows = await conn.fetch(
        "SELECT code_id, key_id, signature FROM codes WHERE subject LIKE 'batch/%' LIMIT $1", n
    )
    texts = [Code(row["code_id"], row["key_id"], row["signature"]).text for row in rows]

    async def verifying() -> None:
        for text in texts:
            if not verify(text, jwks).genuine:
                raise AssertionError("a freshly issued code did not verify")

    rates.append(await _timed("verify (offline, Ed25519)", len(texts), verifying))

    for fmt in QrFormat:
        urls = [f"{BASE_URL}/C/{text}".upper() for text in texts]

        async def rendering(fmt: QrFormat = fmt, urls: list[str] = urls) -> None:
            for url in urls:
                render_qr(url, "14AB-CDEF-GHJK-MNPQ", QrOptions(fmt))

        render_qr.cache_clear()  # every render below is a first render
        qr_matrix.cache_clear()
        rates.append(
            await _timed(f"QR render, {fmt.value.upper()} with caption", len(urls), rendering)
        )
    return rates


def print_rates(title: str, rates: list[Rate]) -> None:
    print(f"\n{title}")
    print(f"  {'operation':<42} {'count':>7} {'per second':>11} {'ms each':>9}")
    for rate in rates:
        print(
            f"  {rate.name:<42} {rate.count:>7} {rate.per_second:>11.0f}"
            f" {1000 / rate.per_second:>9.2f}"
        )
