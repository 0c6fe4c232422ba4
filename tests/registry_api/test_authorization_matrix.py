"""The authorization matrix, generated from the endpoint table: every route, called by
every role at every level (and by an enterprise), on a resource inside and outside the
caller's scope. Outside answers 404 like absent, every time; nothing answers 5xx; inside,
a role that may not do something is told 403, and every route is done by someone.

A new route with a path parameter this test does not know fails here until someone says
what resource the parameter names, and a new write until someone says who may call it, so
no route can skip the scope or the role check unnoticed. The world, who may call each write
and what each parameter names are shared with the console's matrix (`matrix_world.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import asyncpg
import httpx
import pytest

from registry_api.accounts.rules import Level, Role
from registry_api.endpoints import ENDPOINTS
from registry_api.openapi import statuses
from registry_api.requests import PREFIX, Endpoint
from safecode.settings import Settings
from tests.registry_api.matrix_world import (
    COMPLETE_REVISION,
    DECIDED_BY_LEVEL,
    MAY,
    OUTSIDE_COUNTY,
    PRODUCT,
    RESOURCE_PATHS,
    Caller,
    MatrixWorld,
    Resources,
    build_world,
    covers,
    in_scope,
    resource_value,
)


@pytest.fixture
async def world(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient, settings: Settings
) -> MatrixWorld:
    return await build_world(pool, registry_client, settings)


def _path(template: str, resources: Resources) -> str:
    return PREFIX + re.sub(r"\{(\w+)\}", lambda m: resource_value(m.group(1), resources), template)


# Valid bodies, so that an in-scope caller gets past validation and only scope, role and
# state decide the answer.
BODIES: dict[str, Callable[[Resources], object]] = {
    "/jurisdictions/{parent_id}/parks": lambda _: {"name": "新园区"},
    "/enterprise-applications/{application_id}/reject": lambda _: {"reason": "材料不全"},
    "/enterprises/{enterprise_id}": lambda _: {"safety_head": "测试"},
    "/enterprises/{enterprise_id}/products": lambda _: PRODUCT | {"name_zh": "矩阵新品"},
    "/products/{product_id}": lambda _: PRODUCT | {"name_zh": "矩阵改名"},
    "/products/{product_id}/revisions": lambda _: COMPLETE_REVISION,
    "/revisions/{revision_id}": lambda _: COMPLETE_REVISION,
    "/enterprises/{enterprise_id}/registrations": lambda r: {
        "kind": "change",
        "revision_ids": [r.revision],
    },
    "/enterprises/{enterprise_id}/info-updates": lambda _: {"changes": {"safety_head": "赵六"}},
    "/enterprises/{enterprise_id}/deregistrations": lambda _: {"reason": "企业已关闭"},
    "/submissions/{submission_id}/reject": lambda _: {"reason": "材料不全"},
    "/codes/{code_id}/suspend": lambda _: {"reason": "标签与登记不符"},
    "/codes/{code_id}/reinstate": lambda _: {"reason": "已整改"},
    "/products/{product_id}/batches": lambda _: {
        "batch_no": "MATRIX-2",
        "produced_on": "2026-01-05",
        "use_by": "2027-01-05",
        "use_by_kind": "expiry",
        "quantity": 100,
        "unit": "kg",
        "packaging": {"inner": {"kind": "drum", "capacity": 25, "unit": "kg"}},
    },
    "/batches/{batch_id}/items": lambda _: {"count": 2, "kind": "case"},
    "/batches/{batch_id}/recall": lambda _: {"reason": "杂质超标", "instructions": "停止使用"},
    "/batches/{batch_id}/recall/end": lambda _: {"note": "已收回"},
}


# Routes no caller gets done, because of the state the fixture sets or an earlier caller
# leaves, and what the callers allowed are told instead.
STATE_ANSWERS = {
    # A registered enterprise changes its record through an info update, not directly.
    ("PATCH", "/enterprises/{enterprise_id}"): 409,
    # The city admin approved the application on the route before: it is decided.
    ("POST", "/enterprise-applications/{application_id}/reject"): 409,
}
# The enterprise's own record update is filed after the decisions, which close the one the
# fixture filed; before, it would answer 409 (one update under review at a time).
LAST = {("POST", "/enterprises/{enterprise_id}/info-updates")}


def _in_call_order(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    return sorted(endpoints, key=lambda e: (e.method, e.path) in LAST)


def _expected_inside(endpoint: Endpoint, caller: Caller, status: int) -> bool:
    """Whether `status` is a right answer to a caller in scope."""
    key = (endpoint.method, endpoint.path)
    if key in MAY and not MAY[key](caller):
        return status == 403
    if endpoint.method == "GET":
        return status == 200
    if key in STATE_ANSWERS:
        return status == STATE_ANSWERS[key]
    # Done; or refused by the state an earlier caller left (decided, filed, suspended).
    return status < 300 or status == 409 or (key in DECIDED_BY_LEVEL and status == 403)


async def test_every_route_every_role_every_level_in_and_out_of_scope(
    world: MatrixWorld, registry_client: httpx.AsyncClient
) -> None:
    callers, inside, outside = world.callers, world.inside, world.outside
    checked = 0
    for endpoint in _in_call_order(ENDPOINTS):
        if endpoint.public or "{" not in endpoint.path:
            continue
        key = (endpoint.method, endpoint.path)
        assert endpoint.method == "GET" or key in MAY, f"say in MAY who may call {key}"
        done = []
        for caller in callers:
            for resources, where in ((inside, "inside"), (outside, "outside")):
                headers = caller.headers | (
                    {"If-Match": '"1"'} if endpoint.method in ("PATCH", "PUT") else {}
                )
                response = await registry_client.request(
                    endpoint.method,
                    _path(endpoint.path, resources),
                    json=BODIES[endpoint.path](resources) if endpoint.path in BODIES else {},
                    headers=headers,
                )
                status = response.status_code
                label = (endpoint.method, endpoint.path, caller.label, where, response.text[:200])
                assert status < 500, label
                assert status in statuses(endpoint), label  # as the document says
                if not in_scope(caller, endpoint.path, where):
                    assert status == 404, label
                else:
                    assert _expected_inside(endpoint, caller, status), label
                    done += [caller.label] if status < 300 else []
                checked += 1
        # Every route is done by someone, but for those whose state refuses everyone.
        assert done or key in STATE_ANSWERS, f"no caller in scope got {key} done"
    assert checked > 900


async def test_lists_hold_nothing_outside_scope(
    world: MatrixWorld, registry_client: httpx.AsyncClient
) -> None:
    callers, inside, outside = world.callers, world.inside, world.outside
    for caller in callers:
        accounts = await registry_client.get("/api/v1/accounts", headers=caller.headers)
        applications = await registry_client.get(
            "/api/v1/enterprise-applications", headers=caller.headers
        )
        queue = await registry_client.get("/api/v1/reviews", headers=caller.headers)
        certificates = await registry_client.get(
            "/api/v1/certificates?expiring_within_days=3650", headers=caller.headers
        )
        # Both enterprises and their products are named alike: each caller finds its scope's.
        found = await registry_client.get(
            "/api/v1/search", params={"q": "矩阵"}, headers=caller.headers
        )
        if caller.unit_path is None:
            assert accounts.status_code == applications.status_code == found.status_code == 404
            assert queue.status_code == certificates.status_code == 403
            continue
        ids = {a["id"] for a in accounts.json()["accounts"]}
        county_ids = {a["county_id"] for a in applications.json()["applications"]}
        if caller.unit_path != "000000":
            assert outside.account not in ids, caller.label
            assert OUTSIDE_COUNTY not in county_ids, caller.label

        # Both enterprises hold a certificate; each caller sees those of its scope.
        holders = {c["enterprise_id"] for c in certificates.json()["certificates"]}
        expected = {
            inside.enterprise: covers(caller, RESOURCE_PATHS["inside"]),
            outside.enterprise: covers(caller, RESOURCE_PATHS["outside"]),
        }
        assert holders == {e for e, seen in expected.items() if seen}, caller.label
        assert {e["id"] for e in found.json()["enterprises"]} == {
            e for e, seen in expected.items() if seen
        }, caller.label
        assert {p["enterprise_id"] for p in found.json()["products"]} == {
            e for e, seen in expected.items() if seen
        }, caller.label

        # Both updates wait at the county/city step: in the queue of those deciders only.
        if caller.role is Role.VIEWER:
            assert queue.status_code == 403, caller.label
            continue
        waiting = [s["id"] for s in queue.json()["submissions"]]
        deciding_here = caller.level in (Level.COUNTY, Level.CITY)
        assert waiting == ([inside.submission] if deciding_here else []), caller.label
