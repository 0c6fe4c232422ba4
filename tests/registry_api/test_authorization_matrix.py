"""The authorization matrix, generated from the endpoint table: every route, called by
every role at every level (and by an enterprise), on a resource inside and outside the
caller's scope. Outside answers 404 like absent, every time; nothing answers 5xx; inside,
a role that may not do something is told 403, and every route is done by someone.

A new route with a path parameter this test does not know fails here until someone says
what resource the parameter names, and a new write until someone says who may call it, so
no route can skip the scope or the role check unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from codesvc.codes import group_code_id
from codesvc.keyring import KeyRing
from codesvc.storage import Connection
from registry_api.accounts import storage as accounts_db
from registry_api.accounts.operations import Actor, acting_as
from registry_api.accounts.rules import Level, Role, hash_password
from registry_api.endpoints import ENDPOINTS
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.forms import EnterpriseApplicationForm
from registry_api.jurisdictions.storage import insert_park
from registry_api.openapi import statuses
from registry_api.products import operations as products
from registry_api.products import storage as products_db
from registry_api.products.codes import CodeDesk
from registry_api.products.forms import ProductForm, RevisionForm
from registry_api.requests import PREFIX, Endpoint
from registry_api.reviews import operations as reviews
from registry_api.reviews.forms import InfoUpdateForm, RegistrationForm
from safecode.master_key import load_master_key
from safecode.settings import Settings

PASSWORD = "Matrix-Check-2026"
# (level, unit) of the callers, all in Shanxi; the "outside" resources are in Inner Mongolia.
CALLER_UNITS = [
    (Level.NATIONAL, "000000"),
    (Level.PROVINCE, "140000"),
    (Level.CITY, "140100"),
    (Level.COUNTY, "140105"),
    (Level.PARK, "140105P01"),
]
INSIDE_COUNTY, OUTSIDE_COUNTY = "140105", "150102"
RESOURCE_PATHS = {
    "inside": "000000/140000/140100/140105",
    "outside": "000000/150000/150100/150102",
}
# What an enterprise account owns, as path parameters: inside its own enterprise, all of it.
ENTERPRISE_OWNS = {"enterprise_id", "product_id", "revision_id", "submission_id", "code_id"}

PRODUCT = {"cas_numbers": ["67-64-1"], "physical_form": "liquid"}
COMPLETE_REVISION = {
    "classification": [{"class": "flammable_liquids", "category": "2"}],
    "sds": {
        "sections": [{"number": n, "body": {"zh": f"第{n}部分内容。"}} for n in range(1, 17)],
        "supplier": {
            "name": {"zh": "矩阵测试化工有限公司"},
            "address": {"zh": "山西省太原市小店区测试路1号"},
            "phone": "0351-1234567",
            "emergency_phone": "0351-7654321",
        },
    },
}


@dataclass
class Resources:
    jurisdiction: str
    account: int
    application: int  # pending
    enterprise: int  # registered: it holds a certificate
    product: int  # registered: its code issued, no revision in the works
    revision: int  # a complete draft, of another product
    submission: int  # an update of the enterprise record, waiting at its first step
    code: str  # the registered product's code


@dataclass
class Caller:
    label: str
    unit_path: str | None  # None for the enterprise
    role: Role | None  # None for the enterprise
    level: Level | None
    headers: dict[str, str]


async def _regulator(
    conn: Connection, mobile: str, role: Role, level: Level, unit: str, password_hash: str
) -> accounts_db.Account:
    account = await accounts_db.insert_regulator(
        conn, mobile=mobile, name="测试", password_hash=password_hash, role=role, level=level,
        jurisdiction_id=unit, work_unit="测试单位全称", position=None, office_phone=None,
        resident_id_sealed=None, resident_id_masked=None, remark=None, created_by=None,
    )  # fmt: skip
    assert account is not None
    return account


async def _enterprise_and_application(
    conn: Connection, approver: Actor, county: str, usccs: tuple[str, str], mobile: str
) -> tuple[enterprises.Approved, int]:
    """An approved enterprise in the county, and a second application left pending."""

    def form(uscc: str, contact_mobile: str) -> EnterpriseApplicationForm:
        return EnterpriseApplicationForm.model_validate(
            {"uscc": uscc, "name": "矩阵测试化工有限公司", "county_id": county,
             "address": "测试路1号", "kinds": ["producer"], "industry_code": "2614",
             "contact_name": "联系人", "contact_mobile": contact_mobile}
        )  # fmt: skip

    applied = await enterprises.apply(conn, form(usccs[0], mobile), None)
    approved = await enterprises.approve(conn, approver, applied.id)
    pending = await enterprises.apply(conn, form(usccs[1], mobile[:-1] + "9"), None)
    return approved, pending.id


async def _filings(
    conn: Connection,
    approved: enterprises.Approved,
    deciders: tuple[Actor, Actor],
    desk: CodeDesk,
) -> tuple[int, int, int, str]:
    """A product registered through both approvals (so it has a code, and the enterprise a
    certificate), a complete draft of a second product, and a record update under review."""
    owner = Actor(approved.owner, None)
    enterprise_id = approved.enterprise.id
    revision = RevisionForm.model_validate(COMPLETE_REVISION)

    def product(name: str) -> ProductForm:
        return ProductForm.model_validate(PRODUCT | {"name_zh": name})

    registered = await products.create_product(conn, owner, enterprise_id, product("矩阵丙酮"))
    _, first = await products.create_revision(conn, owner, registered.id, revision)
    filed = await reviews.submit_registration(
        conn, owner, enterprise_id, RegistrationForm(kind="new", revision_ids=[first.id])
    )
    for decider in deciders:
        await reviews.decide(conn, decider, filed.id, approve=True, reason=None, desk=desk)
    coded = await products_db.fetch_product(conn, registered.id)
    assert coded is not None
    assert coded.code_id is not None

    other = await products.create_product(conn, owner, enterprise_id, product("矩阵乙醇"))
    _, draft = await products.create_revision(conn, owner, other.id, revision)
    update = await reviews.submit_info_update(
        conn,
        owner,
        enterprise_id,
        InfoUpdateForm.model_validate({"changes": {"safety_head": "王五"}}),
    )
    return registered.id, draft.id, update.id, group_code_id(coded.code_id)


@pytest.fixture
async def world(
    pool: asyncpg.Pool, registry_client: httpx.AsyncClient, settings: Settings
) -> tuple[list[Caller], Resources, Resources]:
    password_hash = hash_password(PASSWORD)
    # The desk the app approves with, so the fixture's codes are the app's own.
    desk = CodeDesk(KeyRing(load_master_key(settings)), settings.public_base_url, settings.province)
    async with pool.acquire() as conn:
        county = await accounts_db.fetch_jurisdiction(conn, INSIDE_COUNTY)
        assert county is not None
        await insert_park(conn, county, "矩阵园区")
        accounts: dict[tuple[Level, Role], accounts_db.Account] = {}
        mobile = 13911000000
        for level, unit in CALLER_UNITS:
            for role in Role:
                mobile += 1
                accounts[level, role] = await _regulator(
                    conn, str(mobile), role, level, unit, password_hash
                )
        outside_admin = await _regulator(
            conn, "13911000100", Role.ADMIN, Level.COUNTY, OUTSIDE_COUNTY, password_hash
        )
        outside_province = await _regulator(
            conn, "13911000101", Role.ADMIN, Level.PROVINCE, "150000", password_hash
        )
        # What reset and disable act on: an account that is no caller, so none is signed out.
        target = await _regulator(
            conn, "13911999999", Role.VIEWER, Level.COUNTY, INSIDE_COUNTY, password_hash
        )
        national = await acting_as(conn, accounts[Level.NATIONAL, Role.ADMIN])

        inside_enterprise, inside_application = await _enterprise_and_application(
            conn,
            await acting_as(conn, accounts[Level.COUNTY, Role.ADMIN]),
            INSIDE_COUNTY,
            ("91350100M000100Y43", "91140105MA0GRKQ5XN"),
            "13722000001",
        )
        outside_enterprise, outside_application = await _enterprise_and_application(
            conn,
            await acting_as(conn, outside_admin),
            OUTSIDE_COUNTY,
            ("91140100MA0K7J8A8W", "91150102MA0AAAA1X7"),
            "13722000002",
        )
        inside = Resources(
            INSIDE_COUNTY,
            target.id,
            inside_application,
            inside_enterprise.enterprise.id,
            *await _filings(
                conn,
                inside_enterprise,
                (await acting_as(conn, accounts[Level.PROVINCE, Role.ADMIN]), national),
                desk,
            ),
        )
        outside = Resources(
            OUTSIDE_COUNTY,
            outside_admin.id,
            outside_application,
            outside_enterprise.enterprise.id,
            *await _filings(
                conn, outside_enterprise, (await acting_as(conn, outside_province), national), desk
            ),
        )
        await conn.execute(
            "UPDATE accounts SET password_hash = $1, must_change_password = false", password_hash
        )

    callers = [
        await _caller(
            registry_client,
            f"{role.value}@{level.value}",
            account.mobile,
            account.jurisdiction_id,
            role,
            level,
        )
        for (level, role), account in accounts.items()
    ]
    callers.append(
        await _caller(
            registry_client, "enterprise", inside_enterprise.owner.mobile, None, None, None
        )
    )
    return callers, inside, outside


async def _caller(
    client: httpx.AsyncClient,
    label: str,
    mobile: str,
    unit: str | None,
    role: Role | None,
    level: Level | None,
) -> Caller:
    response = await client.post(
        "/api/v1/auth/login", json={"mobile": mobile, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    path = None
    if unit is not None:
        path = {"000000": "000000", "140000": "000000/140000", "140100": "000000/140000/140100",
                "140105": "000000/140000/140100/140105",
                "140105P01": "000000/140000/140100/140105/140105P01"}[unit]  # fmt: skip
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    return Caller(label, path, role, level, headers)


def _path(template: str, resources: Resources) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        known = {
            "jurisdiction_id": resources.jurisdiction,
            "parent_id": resources.jurisdiction,  # a county
            "account_id": str(resources.account),
            "application_id": str(resources.application),
            "enterprise_id": str(resources.enterprise),
            "product_id": str(resources.product),
            "revision_id": str(resources.revision),
            "submission_id": str(resources.submission),
            "code_id": resources.code,
        }
        assert name in known, f"the matrix does not know what {{{name}}} names: add it here"
        return known[name]

    return PREFIX + re.sub(r"\{(\w+)\}", value, template)


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
}


def _admin(caller: Caller) -> bool:
    return caller.role is Role.ADMIN


def _county_or_city_admin(caller: Caller) -> bool:
    return caller.role is Role.ADMIN and caller.level in (Level.COUNTY, Level.CITY)


def _the_enterprise(caller: Caller) -> bool:
    return caller.role is None


def _decider(caller: Caller) -> bool:
    return caller.role in (Role.ADMIN, Role.REVIEWER)


def _the_enterprise_or_a_decider(caller: Caller) -> bool:
    return _the_enterprise(caller) or _decider(caller)


# Who may call each write (and each read not every role may), whatever the state: any
# other caller in scope is told 403. (Every reader in scope, the enterprise too, reads an
# enterprise's audit trail; search has no path parameter: `test_lists_hold_nothing_outside_scope`.)
MAY: dict[tuple[str, str], Callable[[Caller], bool]] = {
    ("GET", "/jurisdictions/{jurisdiction_id}/roster.csv"): _admin,
    ("POST", "/jurisdictions/{parent_id}/parks"): _admin,
    ("POST", "/accounts/{account_id}/password-reset"): _admin,
    ("POST", "/accounts/{account_id}/disable"): _admin,
    ("POST", "/enterprise-applications/{application_id}/approve"): _county_or_city_admin,
    ("POST", "/enterprise-applications/{application_id}/reject"): _county_or_city_admin,
    ("PATCH", "/enterprises/{enterprise_id}"): _the_enterprise,
    ("POST", "/enterprises/{enterprise_id}/products"): _the_enterprise,
    ("PUT", "/products/{product_id}"): _the_enterprise,
    ("POST", "/products/{product_id}/revisions"): _the_enterprise,
    ("PUT", "/revisions/{revision_id}"): _the_enterprise,
    ("POST", "/enterprises/{enterprise_id}/registrations"): _the_enterprise,
    ("POST", "/enterprises/{enterprise_id}/info-updates"): _the_enterprise,
    ("POST", "/enterprises/{enterprise_id}/deregistrations"): _the_enterprise_or_a_decider,
    ("POST", "/submissions/{submission_id}/approve"): _decider,
    ("POST", "/submissions/{submission_id}/reject"): _decider,
    ("POST", "/codes/{code_id}/suspend"): _decider,
    ("POST", "/codes/{code_id}/reinstate"): _decider,
}
# A step is decided at its level: a decider of another level is told 403 (or 409 when its
# own step is behind the submission).
DECIDED_BY_LEVEL = {
    ("POST", "/submissions/{submission_id}/approve"),
    ("POST", "/submissions/{submission_id}/reject"),
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


def _covers(caller: Caller, jurisdiction_path: str) -> bool:
    return caller.unit_path is not None and (
        jurisdiction_path == caller.unit_path
        or jurisdiction_path.startswith(caller.unit_path + "/")
    )


def _in_scope(caller: Caller, template: str, where: str) -> bool:
    if caller.role is None:
        return where == "inside" and set(re.findall(r"\{(\w+)\}", template)) <= ENTERPRISE_OWNS
    return _covers(caller, RESOURCE_PATHS[where])


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
    world: tuple[list[Caller], Resources, Resources], registry_client: httpx.AsyncClient
) -> None:
    callers, inside, outside = world
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
                if not _in_scope(caller, endpoint.path, where):
                    assert status == 404, label
                else:
                    assert _expected_inside(endpoint, caller, status), label
                    done += [caller.label] if status < 300 else []
                checked += 1
        # Every route is done by someone, but for those whose state refuses everyone.
        assert done or key in STATE_ANSWERS, f"no caller in scope got {key} done"
    assert checked > 900


async def test_lists_hold_nothing_outside_scope(
    world: tuple[list[Caller], Resources, Resources], registry_client: httpx.AsyncClient
) -> None:
    callers, inside, outside = world
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
            inside.enterprise: _covers(caller, RESOURCE_PATHS["inside"]),
            outside.enterprise: _covers(caller, RESOURCE_PATHS["outside"]),
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
