"""`make bench` section "console": the server time of the console's main pages over a
province's worth of generated data (10,000 enterprises, 100,000 products, 200,000
submissions), p50 and p95 over 200 requests each.

The data is written in SQL (seconds, not hours of API calls) into a database of its own on
the product's PostgreSQL; the pages are asked for in this process through the registry
unit's real app (ASGI, no network), one request at a time, as the people they are for: a
provincial reviewer (queue, search, an enterprise's page) and an enterprise's owner (its
product page, the revision editor). What is timed is the app's work per page.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from registry_api.accounts.rules import hash_password
from registry_api.products.forms import RevisionForm
from registry_api.products.operations import revision_content
from safecode import apps
from safecode.demo import ACETONE_CLASSIFICATION, sample_record
from safecode.embedded import ServiceUrls
from safecode.migrations import apply_migrations, discover
from safecode.settings import Settings

ENTERPRISES = 10_000
PRODUCTS_PER_ENTERPRISE = 10
SUBMISSIONS_PER_ENTERPRISE = 20
PENDING_REGISTRATIONS = 2_000  # waiting at the province: the reviewer's queue
PASSWORD = "Bench-Console-2026"
REVIEWER_MOBILE, OWNER_MOBILE = "13900000001", "13700000001"
TARGET_P95_MS = 50.0
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass(frozen=True, slots=True)
class PageTiming:
    name: str
    path: str
    p50_ms: float
    p95_ms: float
    failures: int


def _revision() -> dict[str, Any]:
    """Acetone's complete revision, as the registry stores one."""
    record = sample_record()
    emergency = record["emergency"]
    body = {
        "classification": ACETONE_CLASSIFICATION,
        "sds": {
            "sections": [{"number": s["number"], "body": s["body"]} for s in record["sds"]],
            "supplier": record["supplier"],
            "first_aid": emergency["first_aid"],
            "fire_fighting": emergency["fire_fighting"],
            "spill_response": {"zh": emergency["spill_response"]},
            "protective_equipment": emergency["protective_equipment"],
            "transport": {k: v for k, v in record["transport"].items() if k != "un_number"},
        },
    }
    return revision_content(RevisionForm.model_validate(body))


async def generate(database_url: str) -> dict[str, int]:
    """The province's data; returns the ids the pages are asked for."""
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, discover())
        content = _revision()
        password_hash = hash_password(PASSWORD)
        async with conn.transaction():
            await conn.execute(
                """
                WITH counties AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total
                    FROM jurisdictions WHERE level = 'county' AND path LIKE '000000/140000/%'
                )
                INSERT INTO enterprises (uscc, name, county_id, address, kinds, industry_code,
                                         responsible_person, safety_head, safety_head_phone)
                SELECT '9114' || lpad(i::text, 14, '0'), '山西示范化工' || i || '号有限公司',
                       c.id, '山西省示范路' || i || '号', ARRAY['producer', 'chemical'], '2614',
                       '张三', '李四', '0351-1234567'
                FROM generate_series(1, $1) i
                JOIN counties c ON c.n = i % c.total
                """,
                ENTERPRISES,
            )
            await conn.execute(
                """
                INSERT INTO products (enterprise_id, name_zh, name_en, cas_numbers, un_number,
                                      catalogue_number, physical_form)
                SELECT e.id, '示范产品' || j, 'Product ' || j, ARRAY['67-64-1'], 'UN1090', 137,
                       'liquid'
                FROM enterprises e CROSS JOIN generate_series(1, $1) j
                """,
                PRODUCTS_PER_ENTERPRISE,
            )
            await conn.execute(
                """
                INSERT INTO revisions (product_id, number, status, classification, label, sds,
                                       approved_on)
                SELECT id, 1, 'current', $1::jsonb, $2::jsonb, $3::jsonb, current_date - 30
                FROM products
                """,
                json.dumps(content["classification"]),
                json.dumps(content["label"]),
                json.dumps(content["sds"]),
            )
            accounts = await conn.fetch(
                """
                INSERT INTO accounts (kind, mobile, name, password_hash, must_change_password,
                                      role, level, jurisdiction_id, work_unit, enterprise_id)
                VALUES ('regulator', $1, '省审核员', $3, false, 'reviewer', 'province',
                        '140000', '山西省应急管理厅', NULL),
                       ('enterprise', $2, '企业负责人', $3, false, NULL, NULL, NULL, NULL,
                        (SELECT min(id) FROM enterprises))
                RETURNING id, kind
                """,
                REVIEWER_MOBILE,
                OWNER_MOBILE,
                password_hash,
            )
            owner = next(a["id"] for a in accounts if a["kind"] == "enterprise")
            # Closed registrations, approved at both steps, each naming one revision.
            await conn.execute(
                """
                INSERT INTO submissions (pipeline, kind, enterprise_id, step, status,
                                         submitted_by, submitted_at, closed_at)
                SELECT 'registration', CASE WHEN k = 1 THEN 'new' ELSE 'change' END, e.id, 1,
                       'approved', $2, now() - (k || ' days')::interval,
                       now() - (k || ' days')::interval + interval '2 hours'
                FROM enterprises e CROSS JOIN generate_series(1, $1) k
                -- the enterprises with one pending below have one closed fewer
                WHERE k < $1 OR e.id >= (SELECT min(id) FROM enterprises) + $3
                """,
                SUBMISSIONS_PER_ENTERPRISE,
                owner,
                PENDING_REGISTRATIONS,
            )
            await conn.execute(
                """
                INSERT INTO review_decisions (submission_id, step, decision, decided_by,
                                              decided_at)
                SELECT s.id, step.n, 'approve', a.id, s.closed_at
                FROM submissions s CROSS JOIN generate_series(0, 1) step(n)
                CROSS JOIN (SELECT id FROM accounts WHERE kind = 'regulator') a
                """
            )
            # Pending registrations at the province: a second revision of one product each.
            await conn.execute(
                """
                WITH chosen AS (
                    SELECT e.id AS enterprise_id, min(p.id) AS product_id
                    FROM enterprises e JOIN products p ON p.enterprise_id = e.id
                    WHERE e.id <= (SELECT min(id) FROM enterprises) + $1 - 1
                    GROUP BY e.id
                ), drafted AS (
                    INSERT INTO revisions (product_id, number, status, classification, label, sds)
                    SELECT c.product_id, 2, 'submitted', r.classification, r.label,
                           jsonb_set(r.sds, '{sections,0,body,zh}', '"第1部分内容（修订）。"')
                    FROM chosen c JOIN revisions r ON r.product_id = c.product_id
                    RETURNING id, product_id
                ), filed AS (
                    INSERT INTO submissions (pipeline, kind, enterprise_id, step, status,
                                             submitted_by, submitted_at)
                    SELECT 'registration', 'change', c.enterprise_id, 0, 'pending', $2,
                           now() - (c.enterprise_id % 240 || ' hours')::interval
                    FROM chosen c
                    RETURNING id, enterprise_id
                )
                INSERT INTO submission_revisions (submission_id, revision_id)
                SELECT f.id, d.id
                FROM filed f JOIN chosen c ON c.enterprise_id = f.enterprise_id
                JOIN drafted d ON d.product_id = c.product_id
                """,
                PENDING_REGISTRATIONS,
                owner,
            )
            await conn.execute(
                """
                INSERT INTO submission_revisions (submission_id, revision_id)
                SELECT s.id, r.id
                FROM submissions s
                JOIN LATERAL (SELECT min(p.id) AS id FROM products p
                              WHERE p.enterprise_id = s.enterprise_id) p ON true
                JOIN revisions r ON r.product_id = p.id AND r.number = 1
                WHERE s.status = 'approved'
                """
            )
            await conn.execute(
                """
                INSERT INTO certificates (number, enterprise_id, submission_id, issued_on,
                                          expires_on)
                SELECT '晋危化登' || lpad(e.id::text, 8, '0'), e.id, min(s.id),
                       current_date - 400, current_date - 400 + interval '3 years'
                FROM enterprises e JOIN submissions s ON s.enterprise_id = e.id
                GROUP BY e.id
                """
            )
            # The owner's draft for the revision editor (its product has no revision open).
            enterprise_id = await conn.fetchval("SELECT min(id) FROM enterprises")
            product_id = await conn.fetchval(
                "SELECT max(id) FROM products WHERE enterprise_id = $1", enterprise_id
            )
            draft_id = await conn.fetchval(
                """
                INSERT INTO revisions (product_id, number, status, classification, label, sds)
                SELECT product_id, 2, 'draft', classification, label, sds
                FROM revisions WHERE product_id = $1 AND number = 1
                RETURNING id
                """,
                product_id,
            )
            await conn.execute("ANALYZE")
        return {"enterprise_id": enterprise_id, "product_id": product_id, "draft_id": draft_id}
    finally:
        await conn.close()


async def _signed_in(app: Any, mobile: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    page = await client.get("/console/sign-in")
    token = _CSRF.search(page.text)
    assert token is not None, "the sign-in page has no form token"
    signed = await client.post(
        "/console/sign-in",
        data={"mobile": mobile, "password": PASSWORD, "csrf": token.group(1)},
    )
    if signed.status_code != 303:
        raise SystemExit(f"bench sign-in as {mobile} failed: {signed.status_code}")
    return client


async def _time_page(client: httpx.AsyncClient, name: str, path: str, requests: int) -> PageTiming:
    for _ in range(5):  # warm up: templates compiled, connections open
        await client.get(path)
    durations, failures = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        durations.append((time.perf_counter() - started) * 1000)
        failures += response.status_code != 200
    quantiles = statistics.quantiles(durations, n=100)
    return PageTiming(name, path, statistics.median(durations), quantiles[94], failures)


async def measure_pages(
    settings: Settings, urls: ServiceUrls, ids: dict[str, int], requests: int
) -> list[PageTiming]:
    async with LifespanManager(apps.registry_app(settings, urls)) as manager:
        reviewer = await _signed_in(manager.app, REVIEWER_MOBILE)
        owner = await _signed_in(manager.app, OWNER_MOBILE)
        try:
            enterprise, product, draft = ids["enterprise_id"], ids["product_id"], ids["draft_id"]
            return [
                await _time_page(reviewer, "review queue (province)", "/console/reviews", requests),
                await _time_page(
                    reviewer, "search by name", "/console/search?q=示范化工12", requests
                ),
                await _time_page(
                    reviewer, "search by USCC", "/console/search?q=911400000000001234", requests
                ),
                await _time_page(
                    reviewer, "enterprise page", f"/console/enterprises/{enterprise}", requests
                ),
                await _time_page(owner, "product page", f"/console/products/{product}", requests),
                await _time_page(owner, "revision editor", f"/console/revisions/{draft}", requests),
            ]
        finally:
            await reviewer.aclose()
            await owner.aclose()


def console_section(
    settings: Settings, server_url: str, redis_url: str, requests: int
) -> list[PageTiming]:
    database = f"safecode_bench_{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        print(
            f"generating {ENTERPRISES} enterprises, {ENTERPRISES * PRODUCTS_PER_ENTERPRISE}"
            f" products, {ENTERPRISES * SUBMISSIONS_PER_ENTERPRISE} submissions ...",
            flush=True,
        )
        started = time.perf_counter()
        ids = asyncio.run(generate(database_url))
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
        urls = ServiceUrls(database_url=database_url, redis_url=redis_url)
        return asyncio.run(measure_pages(settings, urls, ids, requests))
    finally:
        asyncio.run(admin(f'DROP DATABASE "{database}" WITH (FORCE)'))


def print_console_table(rows: list[PageTiming], requests: int) -> None:
    print(f"\nconsole: server time of the main pages, {requests} requests each, one at a time")
    print(f"  {'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'failed':>7}")
    for row in rows:
        verdict = "ok" if row.p95_ms <= TARGET_P95_MS else "MISSED"
        print(
            f"  {row.name:<28} {row.p50_ms:>8.1f} {row.p95_ms:>8.1f} {verdict:>8} {row.failures:>7}"
        )
