"""The console's authorization matrix (issue 14): the console reaches nothing the same
account could not reach through /api/v1. Generated from the console's route table, every
page and form is called by every role at every level and by an enterprise, on resources
inside and outside the caller's scope (the API matrix's world, `matrix_world.py`):

- a page or a form outside scope is a 404 page, like a missing object, and changes nothing;
- a page the console shows a caller names only resources the API shows that caller;
- a form in scope is refused (403) to a caller the API refuses, and done only for one the
  API lets do it;
- nothing answers 5xx.

A new console route with a path parameter this test does not know fails here until someone
says what the parameter names (`matrix_world.resource_value`, `API_RESOURCES`), and a new
form until someone says which API write it is (`API_WRITES`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.routing import Route

from console import csrf
from console.sessions import SESSION_COOKIE
from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.settings import Settings
from tests.console.conftest import CONSOLE, text_of
from tests.registry_api.matrix_world import (
    DECIDED_BY_LEVEL,
    MAY,
    RESOURCE_PATHS,
    Caller,
    MatrixWorld,
    Resources,
    build_world,
    covers,
    in_scope,
    path_parameters,
    resource_value,
)

API = "/api/v1"
# Where the API serves the resource each path parameter names: what the consistency rule
# reads (a page shown to a caller names only resources the API shows that caller).
API_RESOURCES = {
    "jurisdiction_id": "/jurisdictions/{}",
    "account_id": "/accounts/{}",
    "application_id": "/enterprise-applications/{}",
    "enterprise_id": "/enterprises/{}",
    "product_id": "/products/{}",
    "revision_id": "/revisions/{}",
    "submission_id": "/submissions/{}",
    "code_id": "/codes/{}",
    "serial": "/items/{}",
    "batch_id": "/batches/{}",
    "notice_id": "/notices/{}",
}
# Path parameters that name no resource of anyone: the same for every caller.
PUBLIC_PARAMETERS = {"code": "GHS02"}  # /ghs/{code}.svg, a GHS pictogram
# Well-formed values that name nothing, for the page of a missing object.
ABSENT = Resources(
    jurisdiction="149999",
    account=987654321,
    application=987654321,
    enterprise=987654321,
    product=987654321,
    revision=987654321,
    submission=987654321,
    code="14AB-CDEF-GHJK-MNPQ",
    serial="0000000000000",  # its check character fits: well formed, never issued
    notice=987654321,
)
# Pages and forms that take their enterprise from the query rather than the path (a
# regulator's `?enterprise=`): in the matrix as if it were a path parameter.
QUERY_SCOPED = [
    ("GET", "/products?enterprise={enterprise_id}"),
    ("GET", "/enterprise/qr-sheet.pdf?enterprise={enterprise_id}"),
    ("POST", "/products/new?enterprise={enterprise_id}"),
]
# Lists, asked so that they show what they hold (else an empty search form, for instance).
LIST_QUERIES = {
    "/search": "?q=矩阵",
    "/certificates": "?expiring_within_days=3650",
    "/applications": "?status=",
}
NEW_ACCOUNT = {
    "mobile": "13911888888",
    "name": "王五",
    "role": "reviewer",
    "work_unit": "测试单位全称",
}
PRODUCT_FORM = {"name_zh": "矩阵改名", "cas_numbers": "67-64-1", "physical_form": "liquid"}
BATCH_FORM = {
    "batch_no": "MATRIX-2", "produced_on": "2026-01-05", "use_by_kind": "expiry",
    "use_by": "2027-01-05", "quantity": "100", "unit": "kg", "packaging.inner.kind": "drum",
    "packaging.inner.capacity": "25", "packaging.inner.unit": "kg",
}  # fmt: skip


@dataclass(frozen=True)
class Write:
    api: tuple[str, str]  # the API write the form does: who may call it is the API's (MAY)
    form: Callable[[Resources], dict[str, str]]
    versioned: str | None = None  # the parameter whose record's version the form carries


def _no_fields(_: Resources) -> dict[str, str]:
    return {}


# Every form of the console with a path parameter, and the API write it does; the fields
# are valid, so that only scope, role and state decide the answer.
API_WRITES: dict[str, Write] = {
    "/units/{jurisdiction_id}/parks": Write(
        ("POST", "/jurisdictions/{parent_id}/parks"), lambda _: {"name": "新园区"}
    ),
    "/accounts/{account_id}/password-reset": Write(
        ("POST", "/accounts/{account_id}/password-reset"), _no_fields
    ),
    "/accounts/{account_id}/disable": Write(("POST", "/accounts/{account_id}/disable"), _no_fields),
    "/applications/{application_id}/approve": Write(
        ("POST", "/enterprise-applications/{application_id}/approve"), _no_fields
    ),
    "/applications/{application_id}/reject": Write(
        ("POST", "/enterprise-applications/{application_id}/reject"),
        lambda _: {"reason": "材料不全"},
    ),
    "/submissions/{submission_id}/approve": Write(
        ("POST", "/submissions/{submission_id}/approve"), _no_fields
    ),
    "/submissions/{submission_id}/reject": Write(
        ("POST", "/submissions/{submission_id}/reject"), lambda _: {"reason": "材料不全"}
    ),
    "/codes/{code_id}/suspend": Write(
        ("POST", "/codes/{code_id}/suspend"), lambda _: {"reason": "标签与登记不符"}
    ),
    "/codes/{code_id}/reinstate": Write(
        ("POST", "/codes/{code_id}/reinstate"), lambda _: {"reason": "已整改"}
    ),
    "/products/{product_id}/edit": Write(
        ("PUT", "/products/{product_id}"), lambda _: PRODUCT_FORM, versioned="product_id"
    ),
    "/products/{product_id}/revisions/new": Write(
        ("POST", "/products/{product_id}/revisions"), lambda _: {"copy": "on"}
    ),
    "/revisions/{revision_id}": Write(
        ("PUT", "/revisions/{revision_id}"),
        lambda _: {
            "sds.supplier.name.zh": "矩阵测试化工有限公司",
            "sds.supplier.address.zh": "山西省太原市小店区测试路2号",
            "sds.supplier.phone": "0351-1234567",
            "sds.supplier.emergency_phone": "0351-7654321",
        },
        versioned="revision_id",
    ),
    "/products/new?enterprise={enterprise_id}": Write(
        ("POST", "/enterprises/{enterprise_id}/products"),
        lambda _: PRODUCT_FORM | {"name_zh": "矩阵新品"},
    ),
    "/receive/{serial}": Write(("POST", "/events"), lambda _: {"condition": "intact"}),
    "/products/{product_id}/batches/new": Write(
        ("POST", "/products/{product_id}/batches"), lambda _: BATCH_FORM
    ),
    "/batches/{batch_id}/items": Write(
        ("POST", "/batches/{batch_id}/items"), lambda _: {"kind": "item", "count": "2"}
    ),
    "/batches/{batch_id}/recall": Write(
        ("POST", "/batches/{batch_id}/recall"),
        lambda _: {"reason": "杂质超标", "instructions": "停止使用，退回供应商"},
    ),
    "/batches/{batch_id}/recall/end": Write(("POST", "/batches/{batch_id}/recall/end"), _no_fields),
    "/notices/{notice_id}/read": Write(("POST", "/notices/{notice_id}/read"), _no_fields),
}
# Forms no caller gets done, because of the state an earlier caller leaves, and what the
# callers allowed are told instead.
STATE_ANSWERS = {
    # The city admin approved the application on the form before: it is decided.
    "/applications/{application_id}/reject": 409,
}
# The regulators' pages of what an enterprise also reads elsewhere (its own pages): the
# enterprise is told there is no such page, as it is told of any regulator's page.
REGULATORS_PAGES = {"/enterprises/{enterprise_id}"}
# Pages and forms of any item for every enterprise: a receiving clerk records what arrived,
# whoever made it (`POST /api/v1/events` takes a receipt from any enterprise; receipts that
# do not add up raise alerts). They show only what the item's scan page shows anyone.
ANY_ENTERPRISE_PAGES = {"/receive/{serial}"}


def _reaches(caller: Caller, template: str, where: str) -> bool:
    """Whether the caller reaches what `template` names on the side `where`."""
    anyones = caller.role is None and template in ANY_ENTERPRISE_PAGES
    return anyones or in_scope(caller, template, where)


@dataclass
class Browser:
    """A caller at a browser: its session (the API's token) and a CSRF anchor as cookies."""

    caller: Caller
    client: httpx.AsyncClient
    csrf_token: str

    async def post(self, path: str, fields: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, data=fields | {csrf.FIELD: self.csrf_token})


@dataclass
class Matrix:
    world: MatrixWorld
    browsers: list[Browser]
    api: httpx.AsyncClient
    routes: list[Route]  # the console's own

    @property
    def reader(self) -> Caller:
        """The national admin, who reads everything of both sides through the API."""
        return next(c for c in self.world.callers if c.label == "admin@national")


@pytest.fixture
async def matrix(
    pool: asyncpg.Pool, settings: Settings, service_urls: ServiceUrls
) -> AsyncIterator[Matrix]:
    """The registry unit running, the world built through it, a browser for each caller
    (the API's session token is the console's session cookie), and the console's routes."""
    unit = apps.registry_app(settings, service_urls)
    assert isinstance(unit, apps.RegistryUnit)
    csrf_key = csrf.key_from_master(load_master_key(settings))
    async with LifespanManager(unit) as manager, AsyncExitStack() as stack:

        def client(**cookies: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=manager.app)
            return httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies=cookies
            )

        api = await stack.enter_async_context(client())
        world = await build_world(pool, api, settings)
        browsers = []
        for caller in world.callers:
            anchor = csrf.new_anchor()
            browser_client = await stack.enter_async_context(
                client(**{SESSION_COOKIE: caller.token, csrf.ANCHOR_COOKIE: anchor})
            )
            browsers.append(Browser(caller, browser_client, csrf.form_token(csrf_key, anchor)))
        routes = [
            route
            for route in unit.console.routes
            if isinstance(route, Route) and route.path.startswith(CONSOLE + "/")
        ]
        yield Matrix(world, browsers, api, routes)


def _paths(matrix: Matrix, method: str, *, named: bool) -> list[str]:
    """The console's paths (after /console) answering `method`: those that name something
    (the route table's with a parameter, and those naming it in the query), or the others."""
    found = [
        route.path.removeprefix(CONSOLE)
        for route in matrix.routes
        if route.methods is not None and method in route.methods and ("{" in route.path) == named
    ]
    return found + [path for m, path in QUERY_SCOPED if m == method and named]


def _console_path(template: str, resources: Resources) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PUBLIC_PARAMETERS:
            return PUBLIC_PARAMETERS[name]
        return resource_value(name, resources)

    return CONSOLE + re.sub(r"\{(\w+)\}", value, template)


def _is_page(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith("text/html")


def _is_404_page(response: httpx.Response) -> bool:
    return response.status_code == 404 and _is_page(response)


def _to_sign_in(response: httpx.Response) -> bool:
    """Sent to sign in or to change the password: the caller's session did not hold."""
    location = response.headers.get("location", "")
    return response.status_code == 303 and location.startswith(
        (f"{CONSOLE}/sign-in", f"{CONSOLE}/password")
    )


def _decided_elsewhere(response: httpx.Response) -> bool:
    """The console's word for the API's 409 on a decision: someone else decided first."""
    return response.status_code == 303 and "done=decided_elsewhere" in response.headers.get(
        "location", ""
    )


def _done(response: httpx.Response) -> bool:
    """A form done: Post/Redirect/Get, and not to the sign-in, the password change or the
    news that someone else decided first."""
    return (
        response.status_code == 303
        and not _to_sign_in(response)
        and not _decided_elsewhere(response)
    )


def _api_path(name: str, resources: Resources) -> str:
    assert name in API_RESOURCES, f"say in API_RESOURCES where the API serves {{{name}}}"
    return API_RESOURCES[name].format(resource_value(name, resources))


def _both_sides(matrix: Matrix) -> tuple[tuple[Resources, str], ...]:
    return ((matrix.world.inside, "inside"), (matrix.world.outside, "outside"))


async def _api_status(matrix: Matrix, caller: Caller, path: str, seen: dict[Any, int]) -> int:
    if (caller.label, path) not in seen:
        response = await matrix.api.get(API + path, headers=caller.headers)
        assert response.status_code < 500, (path, caller.label, response.text[:200])
        seen[caller.label, path] = response.status_code
    return seen[caller.label, path]


async def test_every_page_every_caller_in_and_out_of_scope(matrix: Matrix) -> None:
    """Every page that names something: outside scope the page of a missing object; in scope
    shown, sent on or refused to the role; shown only where the API shows the same caller
    each resource the page names; shown to someone."""
    api_seen: dict[Any, int] = {}
    checked = 0
    for template in _paths(matrix, "GET", named=True):
        names = path_parameters(template)
        if set(names) <= PUBLIC_PARAMETERS.keys():
            for browser in matrix.browsers:
                response = await browser.client.get(_console_path(template, matrix.world.inside))
                assert response.status_code == 200, (template, browser.caller.label)
            continue
        shown = []
        for browser in matrix.browsers:
            caller = browser.caller
            absent = await browser.client.get(_console_path(template, ABSENT))
            assert _is_404_page(absent), (template, caller.label)
            for resources, where in _both_sides(matrix):
                response = await browser.client.get(_console_path(template, resources))
                status = response.status_code
                label = (template, caller.label, where, status, text_of(response)[:300])
                assert status < 500, label
                if not _reaches(caller, template, where):
                    # Like a missing object: the same page, word for word.
                    assert _is_404_page(response), label
                    assert text_of(response) == text_of(absent), label
                elif caller.role is None and template in REGULATORS_PAGES:
                    assert _is_404_page(response), label
                else:
                    # Shown, sent on (a label PDF is the public site's), or refused to the role.
                    assert status in (200, 303, 403), label
                    assert status != 403 or _is_page(response), label
                    assert not _to_sign_in(response), label
                    shown += [caller.label] if status < 400 else []
                if status == 200 and in_scope(caller, template, where):
                    # The API shows the caller each resource the page names.
                    for name in names:
                        api_path = _api_path(name, resources)
                        api_status = await _api_status(matrix, caller, api_path, api_seen)
                        assert api_status == 200, (*label, api_path, api_status)
                checked += 1
        assert shown, f"no caller in scope is shown {template}"
    assert checked > 600


def _links_out_of_scope(matrix: Matrix, caller: Caller) -> list[str]:
    """The console's addresses of the world's resources that are not the caller's."""
    found = []
    for template in _paths(matrix, "GET", named=True):
        names = path_parameters(template)
        if "?" in template or set(names) & PUBLIC_PARAMETERS.keys():
            continue
        for resources, where in _both_sides(matrix):
            if not _reaches(caller, template, where):
                found.append(_console_path(template, resources))
    return found


def _links_to(page: str, path: str) -> bool:
    return re.search(re.escape(path) + r"(?![0-9A-Za-z-])", page) is not None


async def test_pages_without_a_parameter_show_nothing_outside_scope(matrix: Matrix) -> None:
    """Home pages, lists and forms: every caller is shown the page, sent on, refused, or told
    there is no such page for its kind of account; none links to a resource not its own."""
    templates = _paths(matrix, "GET", named=False)
    assert len(templates) > 15
    outside = matrix.world.outside
    searched = [
        _console_path("/enterprises/{enterprise_id}", outside),
        _console_path("/products/{product_id}", outside),
    ]
    for browser in matrix.browsers:
        caller = browser.caller
        forbidden = _links_out_of_scope(matrix, caller)
        sees_outside = covers(caller, RESOURCE_PATHS["outside"])
        linked_outside = False
        for template in templates:
            response = await browser.client.get(CONSOLE + template + LIST_QUERIES.get(template, ""))
            label = (template, caller.label, response.status_code, text_of(response)[:300])
            assert response.status_code in (200, 303, 403, 404), label
            assert not _to_sign_in(response), label
            if response.status_code != 200 or not _is_page(response):
                continue
            for path in forbidden:
                assert not _links_to(response.text, path), (*label, path)
            if not sees_outside:
                assert outside.code not in response.text, label
            linked_outside |= any(_links_to(response.text, path) for path in searched)
        # Not for want of looking: the search finds the outside's for those who cover it.
        assert linked_outside == sees_outside, caller.label


async def _fields(matrix: Matrix, write: Write, resources: Resources) -> dict[str, str]:
    """The form's fields, with the version the record has now when the form carries one
    (as the page it came from would)."""
    fields = write.form(resources)
    if write.versioned is not None:
        path = _api_path(write.versioned, resources)
        read = await matrix.api.get(API + path, headers=matrix.reader.headers)
        assert read.status_code == 200, read.text
        fields = fields | {"version": read.headers["etag"].strip('"')}
    return fields


def _write(template: str) -> Write:
    assert template in API_WRITES, f"say in API_WRITES which API write {template} does"
    return API_WRITES[template]


async def _everything(matrix: Matrix) -> dict[str, object]:
    """What the world holds on both sides, as the national admin reads it through the API."""
    held: dict[str, object] = {}
    for resources, _ in _both_sides(matrix):
        enterprise = f"/enterprises/{resources.enterprise}"
        paths = [
            *(_api_path(name, resources) for name in API_RESOURCES),
            *(
                f"{enterprise}/{part}"
                for part in ("products", "submissions", "audit", "certificates")
            ),
        ]
        for path in paths:
            read = await matrix.api.get(API + path, headers=matrix.reader.headers)
            assert read.status_code == 200, (path, read.text[:200])
            held[path] = read.json()
    for path in ("/accounts", "/enterprise-applications?status=pending"):
        read = await matrix.api.get(API + path, headers=matrix.reader.headers)
        assert read.status_code == 200, (path, read.text[:200])
        held[path] = read.json()
    return held


async def test_no_form_reaches_outside_scope(matrix: Matrix) -> None:
    """A form sent with the caller's own valid token, on something not the caller's: a 404
    page (an account asked for in another's unit: refused), and nothing has changed on
    either side."""
    before = await _everything(matrix)
    checked = 0
    for template in _paths(matrix, "POST", named=True):
        write = _write(template)
        for browser in matrix.browsers:
            for resources, where in _both_sides(matrix):
                if _reaches(browser.caller, template, where):
                    continue
                fields = await _fields(matrix, write, resources)
                response = await browser.post(_console_path(template, resources), fields)
                label = (template, browser.caller.label, where, response.status_code)
                assert _is_404_page(response), (*label, text_of(response)[:300])
                checked += 1
    assert checked > 150
    # A form whose fields name the unit: a new account in a unit not the caller's.
    for browser in matrix.browsers:
        for resources, where in _both_sides(matrix):
            if covers(browser.caller, RESOURCE_PATHS[where]):
                continue
            fields = NEW_ACCOUNT | {"jurisdiction_id": resources.jurisdiction}
            response = await browser.post(f"{CONSOLE}/accounts", fields)
            shown = (browser.caller.label, where, response.status_code, text_of(response)[:300])
            # (An enterprise is told the form is not valid: no level without a unit of its own.)
            assert response.status_code in (403, 404, 422), shown
            assert _is_page(response), shown
    assert await _everything(matrix) == before


async def test_every_form_in_scope_answers_as_the_api_does(matrix: Matrix) -> None:
    """In scope, a form is refused (403) to each caller the API refuses that write, and done
    only by callers the API lets do it; each form is done by someone."""
    for template in _paths(matrix, "POST", named=True):
        write = _write(template)
        may = MAY[write.api]
        done = []
        for browser in matrix.browsers:
            caller = browser.caller
            for resources, where in _both_sides(matrix):
                if not _reaches(caller, template, where):
                    continue
                fields = await _fields(matrix, write, resources)
                response = await browser.post(_console_path(template, resources), fields)
                status = response.status_code
                label = (template, caller.label, where, status, text_of(response)[:300])
                assert status < 500, label
                if not may(caller):
                    assert status == 403, label
                    assert _is_page(response), label
                elif template in STATE_ANSWERS:
                    assert status == STATE_ANSWERS[template], label
                else:
                    # Done; or refused by the state an earlier caller left (decided,
                    # suspended), or by the level a step is decided at.
                    assert (
                        _done(response)
                        or status == 409
                        or _decided_elsewhere(response)
                        or (write.api in DECIDED_BY_LEVEL and status == 403)
                    ), label
                done += [caller.label] if _done(response) else []
        assert done or template in STATE_ANSWERS, f"no caller in scope got {template} done"
