"""HTTP handlers of the registry: read the request, call a service, shape the JSON."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codesvc.service import Resources
from registry_api import services, storage
from registry_api.accounts import PersonalDataCipher
from registry_api.errors import NotFound
from registry_api.forms import LoginForm, ParkForm, PasswordChangeForm, RegulatorForm, read_form

PREFIX = "/api/v1"


def account_json(account: storage.Account) -> dict[str, Any]:
    """An account as responses show it: the resident ID masked, never the password hash."""
    return {
        "id": account.id,
        "kind": account.kind,
        "mobile": account.mobile,
        "name": account.name,
        "role": None if account.role is None else account.role.value,
        "level": None if account.level is None else account.level.value,
        "jurisdiction_id": account.jurisdiction_id,
        "work_unit": account.work_unit,
        "position": account.position,
        "office_phone": account.office_phone,
        "resident_id": account.resident_id_masked,
        "remark": account.remark,
        "must_change_password": account.must_change_password,
        "disabled": account.disabled_at is not None,
        "created_at": account.created_at.isoformat(),
        "version": account.version,
    }


def jurisdiction_json(unit: storage.Jurisdiction) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "level": unit.level.value,
        "parent_id": unit.parent_id,
    }


def _token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


async def _actor(request: Request, conn: Any, *, changing_password: bool = False) -> services.Actor:
    return await services.authenticate(conn, _token(request), changing_password=changing_password)


def _account_id(request: Request) -> int:
    raw = request.path_params["account_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"no account {raw[:40]}")
    return int(raw)


async def login(request: Request) -> Response:
    form = await read_form(request, LoginForm)
    async with _resources(request).pool.acquire() as conn:
        session = await services.sign_in(conn, form.mobile, form.password)
    return JSONResponse(
        {
            "token": session.token,
            "expires_at": session.expires_at.isoformat(),
            "must_change_password": session.account.must_change_password,
            "account": account_json(session.account),
        }
    )


async def logout(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        await _actor(request, conn, changing_password=True)
        token = _token(request)
        assert token is not None
        await services.sign_out(conn, token)
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    form = await read_form(request, PasswordChangeForm)
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn, changing_password=True)
        await services.change_password(conn, actor, form.current_password, form.new_password)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn, changing_password=True)
    return JSONResponse(account_json(actor.account))


async def jurisdiction(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        found = await services.jurisdiction_in_scope(
            conn, actor, request.path_params["jurisdiction_id"]
        )
        children = await storage.fetch_children(conn, found.id)
    return JSONResponse(
        {**jurisdiction_json(found), "children": [jurisdiction_json(c) for c in children]}
    )


async def create_park(request: Request) -> Response:
    form = await read_form(request, ParkForm)
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        park = await services.create_park(
            conn, actor, request.path_params["jurisdiction_id"], form.name
        )
    return JSONResponse(jurisdiction_json(park), status_code=201)


async def list_accounts(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        accounts = await services.accounts_in_scope(conn, actor)
    return JSONResponse({"accounts": [account_json(a) for a in accounts]})


async def get_account(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        account = await services.account_in_scope(conn, actor, _account_id(request))
    return JSONResponse(account_json(account))


def create_account_view(cipher: PersonalDataCipher) -> Any:
    async def create_account(request: Request) -> Response:
        form = await read_form(request, RegulatorForm)
        async with _resources(request).pool.acquire() as conn:
            actor = await _actor(request, conn)
            created = await services.create_regulator(conn, actor, form, cipher)
        return JSONResponse(
            {
                "account": account_json(created.account),
                # Shown once: the new user signs in with it and must change it.
                "temporary_password": created.temporary_password,
                "warnings": created.warnings,
            },
            status_code=201,
        )

    return create_account


async def reset_password(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        password = await services.reset_password(conn, actor, _account_id(request))
    return JSONResponse({"temporary_password": password})


async def disable_account(request: Request) -> Response:
    async with _resources(request).pool.acquire() as conn:
        actor = await _actor(request, conn)
        await services.disable(conn, actor, _account_id(request))
    return Response(status_code=204)


def routes(cipher: PersonalDataCipher) -> list[Route]:
    """Every route of the API; a test walks them all for authentication and scope."""
    return [
        Route(f"{PREFIX}/auth/login", login, methods=["POST"]),
        Route(f"{PREFIX}/auth/logout", logout, methods=["POST"]),
        Route(f"{PREFIX}/auth/password", change_password, methods=["POST"]),
        Route(f"{PREFIX}/me", me, methods=["GET"]),
        Route(f"{PREFIX}/jurisdictions/{{jurisdiction_id}}", jurisdiction, methods=["GET"]),
        Route(f"{PREFIX}/jurisdictions/{{jurisdiction_id}}/parks", create_park, methods=["POST"]),
        Route(f"{PREFIX}/accounts", list_accounts, methods=["GET"]),
        Route(f"{PREFIX}/accounts", create_account_view(cipher), methods=["POST"]),
        Route(f"{PREFIX}/accounts/{{account_id}}", get_account, methods=["GET"]),
        Route(f"{PREFIX}/accounts/{{account_id}}/password-reset", reset_password, methods=["POST"]),
        Route(f"{PREFIX}/accounts/{{account_id}}/disable", disable_account, methods=["POST"]),
    ]
