"""HTTP handlers of the registry: read the request, call a service, shape the JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from registry_api import enterprises, filing_views, ghs_views, services, storage
from registry_api.accounts import PersonalDataCipher, Role, levels_below
from registry_api.errors import (
    Forbidden,
    ValidationFailed,
)
from registry_api.forms import (
    CodeStatusForm,
    DecisionForm,
    DeregistrationForm,
    DeriveForm,
    EnterpriseApplicationForm,
    EnterpriseUpdateForm,
    InfoUpdateForm,
    LoginForm,
    ParkForm,
    PasswordChangeForm,
    ProductForm,
    RegistrationForm,
    RegulatorForm,
    RevisionForm,
    read_form,
)
from registry_api.request_context import PREFIX as PREFIX  # re-exported: the table's prefix
from registry_api.request_context import (
    bearer_token,
    if_match_version,
    path_id,
    resources,
    signed_in,
)
from registry_api.roster import roster_csv


def account_json(account: storage.Account) -> dict[str, Any]:
    """An account as responses show it: the resident ID masked, never the password hash."""
    return {
        "id": account.id,
        "kind": account.kind,
        **services.account_profile(account),
        "enterprise_id": account.enterprise_id,
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


def _account_id(request: Request) -> int:
    return path_id(request, "account_id")


async def login(request: Request) -> Response:
    form = await read_form(request, LoginForm)
    async with resources(request).pool.acquire() as conn:
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
    async with resources(request).pool.acquire() as conn:
        await signed_in(request, conn, changing_password=True)
        token = bearer_token(request)
        assert token is not None
        await services.sign_out(conn, token)
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn, changing_password=True)
        form = await read_form(request, PasswordChangeForm)
        await services.change_password(conn, actor, form.current_password, form.new_password)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn, changing_password=True)
    return JSONResponse(account_json(actor.account))


async def jurisdiction(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await services.jurisdiction_in_scope(
            conn, actor, request.path_params["jurisdiction_id"]
        )
        children = await storage.fetch_children(conn, found.id)
    return JSONResponse(
        {**jurisdiction_json(found), "children": [jurisdiction_json(c) for c in children]}
    )


async def create_park(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, ParkForm)
        park = await services.create_park(
            conn, actor, request.path_params["jurisdiction_id"], form.name
        )
    return JSONResponse(jurisdiction_json(park), status_code=201)


async def list_accounts(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        accounts = await services.accounts_in_scope(conn, actor)
    return JSONResponse({"accounts": [account_json(a) for a in accounts]})


async def get_account(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        account = await services.account_in_scope(conn, actor, _account_id(request))
    return JSONResponse(account_json(account))


async def create_account(request: Request) -> Response:
    cipher: PersonalDataCipher = request.app.state.cipher
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, RegulatorForm)
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


async def reset_password(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        password = await services.reset_password(conn, actor, _account_id(request))
    return JSONResponse({"temporary_password": password})


async def disable_account(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        await services.disable(conn, actor, _account_id(request))
    return Response(status_code=204)


def application_json(application: storage.Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "uscc": application.uscc,
        "name": application.name,
        "county_id": application.county_id,
        "address": application.address,
        "kinds": application.kinds,
        "industry_code": application.industry_code,
        "contact_name": application.contact_name,
        "contact_mobile": application.contact_mobile,
        "status": application.status,
        "reason": application.reason,
        "enterprise_id": application.enterprise_id,
        "created_at": application.created_at.isoformat(),
    }


def enterprise_json(record: storage.Enterprise) -> dict[str, Any]:
    return {
        "id": record.id,
        **enterprises.enterprise_fields(record),
        "version": record.version,
        "updated_at": record.updated_at.isoformat(),
    }


def _enterprise_response(record: storage.Enterprise, status_code: int = 200) -> Response:
    return JSONResponse(
        enterprise_json(record), status_code=status_code, headers={"ETag": f'"{record.version}"'}
    )


async def apply_for_enterprise(request: Request) -> Response:
    form = await read_form(request, EnterpriseApplicationForm)
    async with resources(request).pool.acquire() as conn:
        application = await enterprises.apply(conn, form)
    return JSONResponse(application_json(application), status_code=201)


async def list_applications(request: Request) -> Response:
    status = request.query_params.get("status")
    if status not in (None, "pending", "approved", "rejected"):
        raise ValidationFailed(
            "unknown status", {"status": "must be pending, approved or rejected"}
        )
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await enterprises.applications(conn, actor, status)
    return JSONResponse({"applications": [application_json(a) for a in found]})


async def get_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await enterprises.application(conn, actor, path_id(request, "application_id"))
    return JSONResponse(application_json(found))


async def approve_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        approved = await enterprises.approve(conn, actor, path_id(request, "application_id"))
    return JSONResponse(
        {
            "enterprise": enterprise_json(approved.enterprise),
            "owner": account_json(approved.owner),
            # Shown once, for the enterprise's first sign-in.
            "temporary_password": approved.temporary_password,
        }
    )


async def reject_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, DecisionForm)
        rejected = await enterprises.reject(
            conn, actor, path_id(request, "application_id"), form.reason
        )
    return JSONResponse(application_json(rejected))


async def get_enterprise(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        record = await enterprises.enterprise(conn, actor, path_id(request, "enterprise_id"))
    return _enterprise_response(record)


async def update_enterprise(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        version = if_match_version(request.headers.get("if-match"))
        form = await read_form(request, EnterpriseUpdateForm)
        record = await enterprises.update(
            conn, actor, path_id(request, "enterprise_id"), version, form
        )
    return _enterprise_response(record)


async def roster(request: Request) -> Response:
    """The annex 2 roster of a unit and everything below it, for its admins and those above."""
    cipher: PersonalDataCipher = request.app.state.cipher
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        unit = await services.jurisdiction_in_scope(
            conn, actor, request.path_params["jurisdiction_id"]
        )
        if actor.account.role is not Role.ADMIN:
            raise Forbidden("only admins export the roster")
        rows = await storage.fetch_roster(conn, unit.path)
    assert actor.unit is not None
    body = roster_csv(rows, cipher, full_ids_for=levels_below(actor.unit.level))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="roster-{unit.id}.csv"'},
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route of the API and what its documentation says of it."""

    method: str
    path: str
    handler: Callable[[Request], Awaitable[Response]]
    summary: str
    body: type[BaseModel] | None = None
    answers: tuple[int, ...] = (200,)
    public: bool = False  # callable without a session
    media_type: str = "application/json"

    @property
    def route(self) -> Route:
        return Route(PREFIX + self.path, self.handler, methods=[self.method])


_WRITE = (422,)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/auth/login", login, "Sign in; returns a bearer token", LoginForm,
             (200, 401, 422, 423), public=True),
    Endpoint("POST", "/auth/logout", logout, "End this session", None, (204,)),
    Endpoint("POST", "/auth/password", change_password, "Change the own password",
             PasswordChangeForm, (204, *_WRITE)),
    Endpoint("GET", "/me", me, "The signed-in account"),
    Endpoint("GET", "/jurisdictions/{jurisdiction_id}", jurisdiction,
             "A jurisdiction in scope, with its children", None, (200, 404)),
    Endpoint("GET", "/jurisdictions/{jurisdiction_id}/roster.csv", roster,
             "The annex 2 roster of a unit and below, as CSV (admins)", None, (200, 403, 404),
             media_type="text/csv"),
    Endpoint("POST", "/jurisdictions/{jurisdiction_id}/parks", create_park,
             "Add a chemical park under a county or city (admins)", ParkForm,
             (201, 403, 404, *_WRITE)),
    Endpoint("GET", "/accounts", list_accounts, "Regulator accounts of the own unit and below"),
    Endpoint("POST", "/accounts", create_account,
             "Create a regulator account (admins); returns a one-time password", RegulatorForm,
             (201, 403, 409, *_WRITE)),
    Endpoint("GET", "/accounts/{account_id}", get_account, "A regulator account in scope",
             None, (200, 404)),
    Endpoint("POST", "/accounts/{account_id}/password-reset", reset_password,
             "Give an account a one-time password (admins)", None, (200, 403, 404)),
    Endpoint("POST", "/accounts/{account_id}/disable", disable_account,
             "Disable an account and end its sessions (admins)", None, (204, 403, 404, 409)),
    Endpoint("POST", "/enterprise-applications", apply_for_enterprise,
             "Apply for an enterprise account (public)", EnterpriseApplicationForm,
             (201, 409, *_WRITE), public=True),
    Endpoint("GET", "/enterprise-applications", list_applications,
             "Applications of enterprises in scope (?status=pending|approved|rejected)"),
    Endpoint("GET", "/enterprise-applications/{application_id}", get_application,
             "An application in scope", None, (200, 404)),
    Endpoint("POST", "/enterprise-applications/{application_id}/approve", approve_application,
             "Approve: creates the enterprise and its owner account (county or city admins)",
             None, (200, 403, 404, 409)),
    Endpoint("POST", "/enterprise-applications/{application_id}/reject", reject_application,
             "Reject with a reason (county or city admins)", DecisionForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/enterprises/{enterprise_id}", get_enterprise,
             "An enterprise record (ETag: its version)", None, (200, 404)),
    Endpoint("PATCH", "/enterprises/{enterprise_id}", update_enterprise,
             "Change the own enterprise record (If-Match: the version read)",
             EnterpriseUpdateForm, (200, 403, 404, 409, 412, 428, *_WRITE)),
    Endpoint("POST", "/enterprises/{enterprise_id}/products", filing_views.create_product,
             "Add a product of the own enterprise", ProductForm, (201, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/enterprises/{enterprise_id}/products", filing_views.list_products,
             "The enterprise's products with status, current revision and code", None,
             (200, 404)),
    Endpoint("GET", "/products/{product_id}", filing_views.get_product,
             "A product with its revisions (ETag: its version)", None, (200, 404)),
    Endpoint("PUT", "/products/{product_id}", filing_views.update_product,
             "Correct a product's details (If-Match: the version read); scans show them "
             "from the next approved revision", ProductForm,
             (200, 403, 404, 409, 412, 428, *_WRITE)),
    Endpoint("POST", "/products/{product_id}/revisions", filing_views.create_revision,
             "Start a revision (a draft) of the SDS and label", RevisionForm,
             (201, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/revisions/{revision_id}", filing_views.get_revision,
             "A revision (ETag: its version); a draft lists what still blocks submitting it",
             None, (200, 404)),
    Endpoint("PUT", "/revisions/{revision_id}", filing_views.update_revision,
             "Replace a draft's content (If-Match: the version read)", RevisionForm,
             (200, 403, 404, 409, 412, 428, *_WRITE)),
    Endpoint("POST", "/enterprises/{enterprise_id}/registrations", filing_views.submit_registration,
             "File a registration (new, change, renewal) with product revisions",
             RegistrationForm, (201, 403, 404, 409, *_WRITE)),
    Endpoint("POST", "/enterprises/{enterprise_id}/info-updates", filing_views.submit_info_update,
             "A registered enterprise files changes of its record for review", InfoUpdateForm,
             (201, 403, 404, 409, *_WRITE)),
    Endpoint("POST", "/enterprises/{enterprise_id}/deregistrations",
             filing_views.submit_deregistration,
             "Report a closed enterprise for deregistration (the enterprise or its regulators)",
             DeregistrationForm, (201, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/enterprises/{enterprise_id}/submissions", filing_views.enterprise_submissions,
             "The enterprise's submissions with every decision and reason", None, (200, 404)),
    Endpoint("GET", "/reviews", filing_views.review_queue,
             "Submissions waiting at a step of the own level, inside the own jurisdiction",
             None, (200, 403)),
    Endpoint("GET", "/submissions/{submission_id}", filing_views.get_submission,
             "A submission with its decisions", None, (200, 404)),
    Endpoint("POST", "/submissions/{submission_id}/approve", filing_views.approve_submission,
             "Approve the step waiting (the last step carries the submission out)", None,
             (200, 403, 404, 409)),
    Endpoint("POST", "/submissions/{submission_id}/reject", filing_views.reject_submission,
             "Reject with a reason: the submission returns to the enterprise", DecisionForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/certificates", filing_views.expiring_certificates,
             "Registration certificates in scope expiring within ?expiring_within_days=N (90)",
             None, (200, 403, 422)),
    Endpoint("POST", "/codes/{code_id}/suspend", filing_views.suspend_code,
             "Suspend a code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("POST", "/codes/{code_id}/reinstate", filing_views.reinstate_code,
             "Reinstate a suspended code with a reason (admins, reviewers)", CodeStatusForm,
             (200, 403, 404, 409, *_WRITE)),
    Endpoint("GET", "/products/{product_id}/qr.svg", filing_views.product_qr_svg,
             "The product's QR code as SVG", None, (200, 404), media_type="image/svg+xml"),
    Endpoint("GET", "/products/{product_id}/qr.png", filing_views.product_qr_png,
             "The product's QR code as PNG", None, (200, 404), media_type="image/png"),
    Endpoint("GET", "/products/{product_id}/qr.pdf", filing_views.product_qr_pdf,
             "The product's QR code as PDF", None, (200, 404), media_type="application/pdf"),
    Endpoint("GET", "/enterprises/{enterprise_id}/qr-sheet.pdf", filing_views.qr_sheet,
             "An A4 print sheet of the enterprise's codes", None, (200, 404),
             media_type="application/pdf"),
    Endpoint("GET", "/ghs/hazard-classes", ghs_views.hazard_classes,
             "GHS hazard classes and categories with their label elements (public)",
             public=True),
    Endpoint("POST", "/ghs/derive", ghs_views.derive,
             "Label elements of a GHS classification, each with its rule; with `label`, "
             "whether that label conforms (public)", DeriveForm, (200, *_WRITE), public=True),
)  # fmt: skip


def routes() -> list[Route]:
    """Every route of the API; a test walks them all for authentication and scope."""
    return [endpoint.route for endpoint in ENDPOINTS]
