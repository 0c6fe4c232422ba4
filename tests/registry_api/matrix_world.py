"""The world of the authorization matrices (`tests/registry_api/test_authorization_matrix.py`
for the JSON API, `tests/console/test_authorization_matrix.py` for the console): a caller of
every role at every level and an enterprise, all in Shanxi, and the same resources inside
their scope (Taiyuan's Xiaodian county) and outside it (Hohhot's Xincheng district).

Both faces call the same operations, so both matrices share this world, who may call each
write, and what a path parameter names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

from codesvc import storage as codes_db
from codesvc.codes import group_code_id
from codesvc.keyring import KeyRing
from codesvc.storage import Connection
from registry_api.accounts import storage as accounts_db
from registry_api.accounts.operations import Actor, acting_as
from registry_api.accounts.rules import Level, Role, hash_password
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.forms import EnterpriseApplicationForm
from registry_api.jurisdictions.storage import insert_park
from registry_api.lifecycle import batches as lifecycle_batches
from registry_api.lifecycle.batch_forms import BatchForm, ItemIssueForm
from registry_api.oversight import notices
from registry_api.oversight.forms import NoticeForm
from registry_api.products import operations as products
from registry_api.products import storage as products_db
from registry_api.products.codes import CodeDesk
from registry_api.products.forms import ProductForm, RevisionForm
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
ENTERPRISE_OWNS |= {"batch_id", "issue_id", "serial"}

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
    batch: int = 0  # a batch of the registered product (`_batch_and_items`)
    issue: int = 0  # an issue of serials for it
    serial: str = ""  # an item of that issue
    # A notice for enterprises too, published in the county by a unit no caller is at (inside,
    # a second park: its overseers above open it, none of the callers is reached by it, so no
    # park caller or enterprise reads it either); outside, by the county itself.
    notice: int = 0


@dataclass
class Caller:
    label: str
    unit_path: str | None  # None for the enterprise
    role: Role | None  # None for the enterprise
    level: Level | None
    headers: dict[str, str]

    @property
    def token(self) -> str:
        """The session token: the API's bearer token, and the console's session cookie."""
        return self.headers["Authorization"].removeprefix("Bearer ")


@dataclass
class MatrixWorld:
    callers: list[Caller]
    inside: Resources
    outside: Resources


def resource_value(name: str, resources: Resources) -> str:
    """What a path parameter named `name` is, for `resources`: the same names in the API's
    paths and the console's. A name not known here fails the matrix until someone says."""
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
        "batch_id": str(resources.batch),
        "issue_id": str(resources.issue),
        "serial": resources.serial,
        "notice_id": str(resources.notice),
    }
    assert name in known, f"the matrix does not know what {{{name}}} names: add it here"
    return known[name]


def path_parameters(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


def covers(caller: Caller, jurisdiction_path: str) -> bool:
    return caller.unit_path is not None and (
        jurisdiction_path == caller.unit_path
        or jurisdiction_path.startswith(caller.unit_path + "/")
    )


def in_scope(caller: Caller, template: str, where: str) -> bool:
    """Whether the resources of `where` that `template`'s parameters name are the caller's."""
    if caller.role is None:
        return where == "inside" and set(path_parameters(template)) <= ENTERPRISE_OWNS
    return covers(caller, RESOURCE_PATHS[where])


def _admin(caller: Caller) -> bool:
    return caller.role is Role.ADMIN


def _county_or_city_admin(caller: Caller) -> bool:
    return caller.role is Role.ADMIN and caller.level in (Level.COUNTY, Level.CITY)


def _the_enterprise(caller: Caller) -> bool:
    return caller.role is None


def _anyone(_caller: Caller) -> bool:
    return True


def _decider(caller: Caller) -> bool:
    return caller.role in (Role.ADMIN, Role.REVIEWER)


def _the_enterprise_or_a_decider(caller: Caller) -> bool:
    return _the_enterprise(caller) or _decider(caller)


# Who may call each write of the API (and each read not every role may), whatever the state:
# any other caller in scope is told 403. (Every reader in scope, the enterprise too, reads an
# enterprise's audit trail; search has no path parameter: `test_lists_hold_nothing_outside_scope`.)
MAY: dict[tuple[str, str], Callable[[Caller], bool]] = {
    ("GET", "/jurisdictions/{jurisdiction_id}/roster.csv"): _admin,
    ("POST", "/jurisdictions/{parent_id}/parks"): _admin,
    ("POST", "/accounts/{account_id}/password-reset"): _admin,
    ("POST", "/accounts/{account_id}/disable"): _admin,
    ("POST", "/enterprise-applications/{application_id}/approve"): _county_or_city_admin,
    ("POST", "/enterprise-applications/{application_id}/reject"): _county_or_city_admin,
    ("PATCH", "/enterprises/{enterprise_id}"): _the_enterprise,
    ("POST", "/events"): _the_enterprise,
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
    ("POST", "/products/{product_id}/batches"): _the_enterprise,
    ("POST", "/batches/{batch_id}/items"): _the_enterprise,
    ("GET", "/item-issues/{issue_id}/serials.csv"): _the_enterprise,
    ("GET", "/item-issues/{issue_id}/sheet.pdf"): _the_enterprise,
    ("POST", "/batches/{batch_id}/recall"): _the_enterprise_or_a_decider,
    ("POST", "/batches/{batch_id}/recall/end"): _the_enterprise_or_a_decider,
    ("POST", "/notices/{notice_id}/read"): _anyone,  # anyone who may open it
    ("GET", "/notices/{notice_id}/receipts"): _admin,
}
# A step is decided at its level: a decider of another level is told 403 (or 409 when its
# own step is behind the submission).
DECIDED_BY_LEVEL = {
    ("POST", "/submissions/{submission_id}/approve"),
    ("POST", "/submissions/{submission_id}/reject"),
}


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


async def _batch_and_items(
    conn: Connection, approved: enterprises.Approved, resources: Resources
) -> None:
    """A batch of the registered product, two serials issued for it, one of them named."""
    owner = Actor(approved.owner, None)
    batch = await lifecycle_batches.declare_batch(
        conn, owner, resources.product,
        BatchForm.model_validate(
            {"batch_no": "MATRIX-1", "produced_on": "2026-01-05", "use_by": "2027-01-05",
             "use_by_kind": "expiry", "quantity": 100, "unit": "kg",
             "packaging": {"inner": {"kind": "drum", "capacity": 25, "unit": "kg"}}}
        ),
    )  # fmt: skip
    issued = await lifecycle_batches.issue_items(
        conn, owner, batch.batch.id, ItemIssueForm(count=2, kind="item")
    )
    [(_, serial), _] = await codes_db.fetch_issue_serials(
        conn, issued.issue.id, after_seq=0, limit=2
    )
    resources.batch, resources.issue, resources.serial = batch.batch.id, issued.issue.id, serial


async def _notice(conn: Connection, publisher: accounts_db.Account) -> int:
    form = NoticeForm(title="矩阵通知", body="请各单位知悉。", to_enterprises=True)
    published = await notices.publish(conn, await acting_as(conn, publisher), form)
    return published.id


async def build_world(
    pool: asyncpg.Pool, client: httpx.AsyncClient, settings: Settings
) -> MatrixWorld:
    """The callers, each signed in through `client` (a client of the registry unit), and the
    resources inside and outside their scope."""
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
        await _batch_and_items(conn, inside_enterprise, inside)
        await _batch_and_items(conn, outside_enterprise, outside)
        second_park = await insert_park(conn, county, "矩阵二园区")
        park_admin = await _regulator(
            conn, "13911000102", Role.ADMIN, Level.PARK, second_park.id, password_hash
        )
        inside.notice = await _notice(conn, park_admin)
        outside.notice = await _notice(conn, outside_admin)
        await conn.execute(
            "UPDATE accounts SET password_hash = $1, must_change_password = false", password_hash
        )

    callers = [
        await _caller(
            client,
            f"{role.value}@{level.value}",
            account.mobile,
            account.jurisdiction_id,
            role,
            level,
        )
        for (level, role), account in accounts.items()
    ]
    callers.append(
        await _caller(client, "enterprise", inside_enterprise.owner.mobile, None, None, None)
    )
    return MatrixWorld(callers, inside, outside)


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
