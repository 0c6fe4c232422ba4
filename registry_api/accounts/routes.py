"""HTTP handlers of accounts, and their rows of the endpoint table: sign-in, sign-out, the
password, the signed-in account, regulator accounts, the annex 2 roster.

`signed_in` is how every domain's handlers learn who is calling."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc.storage import Connection
from registry_api.accounts import operations
from registry_api.accounts.forms import LoginForm, PasswordChangeForm, RegulatorForm
from registry_api.accounts.rules import PersonalDataCipher
from registry_api.accounts.storage import Account
from registry_api.forms import read_form
from registry_api.requests import (
    Endpoint,
    Link,
    Timestamp,
    answer,
    bearer_token,
    limiter,
    path_id,
    path_text,
    resources,
)


async def signed_in(
    request: Request, conn: Connection, *, changing_password: bool = False
) -> operations.Actor:
    """The actor behind the request's bearer token (401 without one, 403 while a forced
    password change is pending, unless `changing_password`)."""
    return await operations.authenticate(
        conn, bearer_token(request), changing_password=changing_password
    )


@answer
class AccountView(operations.AccountProfile):
    """An account as responses show it: the resident ID masked, never the password hash."""

    id: int
    kind: Literal["regulator", "enterprise"]
    enterprise_id: int | None
    must_change_password: bool
    disabled: bool
    created_at: Timestamp
    version: int


@answer
class SessionView(TypedDict):
    token: str
    expires_at: Timestamp
    must_change_password: bool
    account: AccountView


@answer
class AccountList(TypedDict):
    accounts: list[AccountView]


@answer
class CreatedAccount(TypedDict):
    account: AccountView
    temporary_password: str  # shown once: the new user signs in with it and must change it
    warnings: list[str]


@answer
class TemporaryPassword(TypedDict):
    temporary_password: str


def account_json(account: Account) -> AccountView:
    return {
        "id": account.id,
        "kind": "enterprise" if account.kind == "enterprise" else "regulator",
        **operations.account_profile(account),
        "enterprise_id": account.enterprise_id,
        "must_change_password": account.must_change_password,
        "disabled": account.disabled_at is not None,
        "created_at": account.created_at.isoformat(),
        "version": account.version,
    }


def _account_id(request: Request) -> int:
    return path_id(request, "account_id")


def _cipher(request: Request) -> PersonalDataCipher:
    cipher: PersonalDataCipher = request.app.state.cipher
    return cipher


async def login(request: Request) -> Response:
    form = await read_form(request, LoginForm)
    async with resources(request).pool.acquire() as conn:
        session = await operations.sign_in(conn, form.mobile, form.password, limiter(request))
    body: SessionView = {
        "token": session.token,
        "expires_at": session.expires_at.isoformat(),
        "must_change_password": session.account.must_change_password,
        "account": account_json(session.account),
    }
    return JSONResponse(body)


async def logout(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn, changing_password=True)
        token = bearer_token(request)
        assert token is not None
        await operations.sign_out(conn, actor, token)
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn, changing_password=True)
        form = await read_form(request, PasswordChangeForm)
        await operations.change_password(conn, actor, form.current_password, form.new_password)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn, changing_password=True)
    return JSONResponse(account_json(actor.account))


async def list_accounts(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        accounts = await operations.accounts_in_scope(conn, actor)
    listed: AccountList = {"accounts": [account_json(a) for a in accounts]}
    return JSONResponse(listed)


async def get_account(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        account = await operations.account_in_scope(conn, actor, _account_id(request))
    return JSONResponse(account_json(account))


async def create_account(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RegulatorForm)
        created = await operations.create_regulator(conn, actor, form, _cipher(request))
    body: CreatedAccount = {
        "account": account_json(created.account),
        "temporary_password": created.temporary_password,
        "warnings": created.warnings,
    }
    return JSONResponse(body, status_code=201)


async def reset_password(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        password = await operations.reset_password(conn, actor, _account_id(request))
    body: TemporaryPassword = {"temporary_password": password}
    return JSONResponse(body)


async def disable_account(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        await operations.disable(conn, actor, _account_id(request))
    return Response(status_code=204)


async def roster(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        exported = await operations.export_roster(
            conn, actor, path_text(request, "jurisdiction_id"), _cipher(request)
        )
    return Response(
        exported.csv,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="roster-{exported.unit.id}.csv"'},
    )


def _account_links(account_id: str) -> tuple[Link, ...]:
    return (
        Link("GetAccount", "GET", "/accounts/{account_id}", {"account_id": account_id}),
        Link("ResetPassword", "POST", "/accounts/{account_id}/password-reset",
             {"account_id": account_id}),
        Link("DisableAccount", "POST", "/accounts/{account_id}/disable",
             {"account_id": account_id}),
    )  # fmt: skip


def _own_links() -> tuple[Link, ...]:
    """From the signed-in account to what it works on: its unit (a regulator), or its
    enterprise (an enterprise account); the other is null."""
    unit = {"jurisdiction_id": "$response.body#/jurisdiction_id"}
    enterprise = {"enterprise_id": "$response.body#/enterprise_id"}
    return (
        Link("GetOwnUnit", "GET", "/jurisdictions/{jurisdiction_id}", unit),
        Link("OwnRoster", "GET", "/jurisdictions/{jurisdiction_id}/roster.csv", unit),
        Link("GetOwnEnterprise", "GET", "/enterprises/{enterprise_id}", enterprise),
        Link("OwnProducts", "GET", "/enterprises/{enterprise_id}/products", enterprise),
        Link("AddProduct", "POST", "/enterprises/{enterprise_id}/products", enterprise),
        Link("OwnSubmissions", "GET", "/enterprises/{enterprise_id}/submissions", enterprise),
    )


_WRITE = (422,)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/auth/login", login, "Sign in; returns a bearer token", LoginForm,
             (200, 401, 422, 423, 429), SessionView, public=True),
    Endpoint("POST", "/auth/logout", logout, "End this session", None, (204,),
             before_password_change=True),
    Endpoint("POST", "/auth/password", change_password, "Change the own password",
             PasswordChangeForm, (204, *_WRITE), before_password_change=True),
    Endpoint("GET", "/me", me, "The signed-in account", response=AccountView,
             before_password_change=True,
             links=_own_links()),
    Endpoint("GET", "/jurisdictions/{jurisdiction_id}/roster.csv", roster,
             "The annex 2 roster of a unit and below, as CSV (admins)", None, (200, 403, 404),
             media_type="text/csv"),
    # Regulators' routes answer an enterprise 404: it sees nothing of the regulators.
    Endpoint("GET", "/accounts", list_accounts, "Regulator accounts of the own unit and below",
             None, (200, 404), AccountList,
             links=_account_links("$response.body#/accounts/0/id")),
    Endpoint("POST", "/accounts", create_account,
             "Create a regulator account (admins); returns a one-time password", RegulatorForm,
             (201, 403, 404, 409, *_WRITE), CreatedAccount,
             links=_account_links("$response.body#/account/id")),
    Endpoint("GET", "/accounts/{account_id}", get_account, "A regulator account in scope",
             None, (200, 404), AccountView),
    Endpoint("POST", "/accounts/{account_id}/password-reset", reset_password,
             "Give an account a one-time password (admins)", None, (200, 403, 404),
             TemporaryPassword),
    Endpoint("POST", "/accounts/{account_id}/disable", disable_account,
             "Disable an account and end its sessions (admins)", None, (204, 403, 404, 409)),
)  # fmt: skip
