"""HTTP handlers of enterprises, and their rows of the endpoint table: applications for an
account (public), their approval or rejection, enterprise records."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from registry_api.accounts.routes import AccountView, account_json, signed_in
from registry_api.enterprises import operations
from registry_api.enterprises.forms import (
    ApplicationStatusForm,
    DecisionForm,
    EnterpriseApplicationForm,
    EnterpriseKind,
    EnterpriseUpdateForm,
)
from registry_api.enterprises.storage import (
    Application,
    ApplicationStatus,
    Enterprise,
    HeldCertificate,
    HeldCertificateStatus,
)
from registry_api.errors import ValidationFailed
from registry_api.forms import read_form
from registry_api.requests import (
    Day,
    Endpoint,
    Link,
    QueryParameter,
    Timestamp,
    answer,
    if_match_version,
    limiter,
    path_id,
    resources,
)

APPLICATION_STATUSES = ("pending", "approved", "rejected")


@answer
class ApplicationView(TypedDict):
    id: int
    uscc: str
    name: str
    county_id: str
    address: str
    kinds: list[EnterpriseKind]
    industry_code: str
    contact_name: str
    contact_mobile: str
    status: ApplicationStatus
    reason: str | None
    enterprise_id: int | None
    created_at: Timestamp


@answer
class ApplicationList(TypedDict):
    applications: list[ApplicationView]


@answer
class ApplicationStatusView(TypedDict):
    """What an applicant learns of the own application: where it stands, and why a
    rejected one was rejected."""

    id: int
    name: str
    status: ApplicationStatus
    reason: str | None  # of a rejection
    submitted_at: Timestamp
    decided_at: Timestamp | None


@answer
class HeldCertificateView(TypedDict):
    number: str
    issued_on: Day
    expires_on: Day
    status: HeldCertificateStatus


@answer
class HeldCertificateList(TypedDict):
    certificates: list[HeldCertificateView]


@answer
class EnterpriseView(operations.EnterpriseFields):
    id: int
    version: int
    updated_at: Timestamp


@answer
class ApprovedView(TypedDict):
    enterprise: EnterpriseView
    owner: AccountView
    temporary_password: str  # shown once, for the enterprise's first sign-in


def application_json(application: Application) -> ApplicationView:
    return {
        "id": application.id,
        "uscc": application.uscc,
        "name": application.name,
        "county_id": application.county_id,
        "address": application.address,
        "kinds": [EnterpriseKind(kind) for kind in application.kinds],
        "industry_code": application.industry_code,
        "contact_name": application.contact_name,
        "contact_mobile": application.contact_mobile,
        "status": application.status,
        "reason": application.reason,
        "enterprise_id": application.enterprise_id,
        "created_at": application.created_at.isoformat(),
    }


def enterprise_json(record: Enterprise) -> EnterpriseView:
    return {
        "id": record.id,
        **operations.enterprise_fields(record),
        "version": record.version,
        "updated_at": record.updated_at.isoformat(),
    }


def _enterprise_response(record: Enterprise, status_code: int = 200) -> Response:
    return JSONResponse(
        enterprise_json(record), status_code=status_code, headers={"ETag": f'"{record.version}"'}
    )


async def apply_for_enterprise(request: Request) -> Response:
    form = await read_form(request, EnterpriseApplicationForm)
    async with resources(request).pool.acquire() as conn:
        application = await operations.apply(conn, form, limiter(request))
    return JSONResponse(application_json(application), status_code=201)


async def application_status(request: Request) -> Response:
    form = await read_form(request, ApplicationStatusForm)
    async with resources(request).pool.acquire() as conn:
        found = await operations.application_status(
            conn, form.application_id, form.mobile, limiter(request)
        )
    return JSONResponse(application_status_json(found))


def application_status_json(application: Application) -> ApplicationStatusView:
    return {
        "id": application.id,
        "name": application.name,
        "status": application.status,
        "reason": application.reason,
        "submitted_at": application.created_at.isoformat(),
        "decided_at": None
        if application.decided_at is None
        else application.decided_at.isoformat(),
    }


def held_certificate_json(certificate: HeldCertificate) -> HeldCertificateView:
    return {
        "number": certificate.number,
        "issued_on": certificate.issued_on.isoformat(),
        "expires_on": certificate.expires_on.isoformat(),
        "status": certificate.status,
    }


async def list_applications(request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in APPLICATION_STATUSES:
        raise ValidationFailed(
            "unknown status", {"status": "must be pending, approved or rejected"}
        )
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.applications(conn, actor, status)
    listed: ApplicationList = {"applications": [application_json(a) for a in found]}
    return JSONResponse(listed)


async def get_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.application(conn, actor, path_id(request, "application_id"))
    return JSONResponse(application_json(found))


async def approve_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        approved = await operations.approve(conn, actor, path_id(request, "application_id"))
    body: ApprovedView = {
        "enterprise": enterprise_json(approved.enterprise),
        "owner": account_json(approved.owner),
        "temporary_password": approved.temporary_password,
    }
    return JSONResponse(body)


async def reject_application(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, DecisionForm)
        rejected = await operations.reject(
            conn, actor, path_id(request, "application_id"), form.reason
        )
    return JSONResponse(application_json(rejected))


async def get_enterprise(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        record = await operations.enterprise(conn, actor, path_id(request, "enterprise_id"))
    return _enterprise_response(record)


async def enterprise_certificates(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        found = await operations.certificates(conn, actor, path_id(request, "enterprise_id"))
    listed: HeldCertificateList = {"certificates": [held_certificate_json(c) for c in found]}
    return JSONResponse(listed)


async def update_enterprise(request: Request) -> Response:
    async with resources(request).pool.acquire() as conn:
        actor = await signed_in(request, conn)
        form = await read_form(request, EnterpriseUpdateForm)
        version = if_match_version(request.headers.get("if-match"))
        record = await operations.update(
            conn, actor, path_id(request, "enterprise_id"), version, form
        )
    return _enterprise_response(record)


_APPLICATION = "$response.body#/id"
_ENTERPRISE = "$response.body#/enterprise/id"
_WRITE = (422,)
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/enterprise-applications", apply_for_enterprise,
             "Apply for an enterprise account (public)", EnterpriseApplicationForm,
             (201, 409, 429, *_WRITE), ApplicationView, public=True,
             links=(Link("GetApplication", "GET", "/enterprise-applications/{application_id}",
                         {"application_id": _APPLICATION}),
                    Link("ApproveApplication", "POST",
                         "/enterprise-applications/{application_id}/approve",
                         {"application_id": _APPLICATION}),
                    Link("RejectApplication", "POST",
                         "/enterprise-applications/{application_id}/reject",
                         {"application_id": _APPLICATION}))),
    # Its own path, not under /enterprise-applications/: a GET there would be an application
    # id's, and this path answers every other method 405.
    Endpoint("POST", "/enterprise-application-status", application_status,
             "Look up the own application by its number and contact mobile (public; the same "
             "404 for a wrong number and a wrong mobile)", ApplicationStatusForm,
             (200, 404, 429, *_WRITE), ApplicationStatusView, public=True),
    Endpoint("GET", "/enterprise-applications", list_applications,
             "Applications of enterprises in scope, optionally of one status (regulators)",
             None, (200, 404), ApplicationList,
             links=(Link("GetFirstApplication", "GET",
                         "/enterprise-applications/{application_id}",
                         {"application_id": "$response.body#/applications/0/id"}),),
             query=(QueryParameter("status", {"type": "string", "enum": list(APPLICATION_STATUSES)},
                                   "only the applications of this status"),)),
    Endpoint("GET", "/enterprise-applications/{application_id}", get_application,
             "An application in scope", None, (200, 404), ApplicationView),
    Endpoint("POST", "/enterprise-applications/{application_id}/approve", approve_application,
             "Approve: creates the enterprise and its owner account (county or city admins)",
             None, (200, 403, 404, 409), ApprovedView,
             links=(Link("GetEnterprise", "GET", "/enterprises/{enterprise_id}",
                         {"enterprise_id": _ENTERPRISE}),)),
    Endpoint("POST", "/enterprise-applications/{application_id}/reject", reject_application,
             "Reject with a reason (county or city admins)", DecisionForm,
             (200, 403, 404, 409, *_WRITE), ApplicationView),
    Endpoint("GET", "/enterprises/{enterprise_id}", get_enterprise,
             "An enterprise record (ETag: its version)", None, (200, 404), EnterpriseView,
             etag=True,
             links=(Link("UpdateEnterprise", "PATCH", "/enterprises/{enterprise_id}",
                         {"enterprise_id": "$response.body#/id",
                          "If-Match": "$response.header.ETag"}),)),
    Endpoint("GET", "/enterprises/{enterprise_id}/certificates", enterprise_certificates,
             "The enterprise's registration certificates, the newest first (status valid: in "
             "force)", None, (200, 404), HeldCertificateList),
    Endpoint("PATCH", "/enterprises/{enterprise_id}", update_enterprise,
             "Change the own enterprise record (If-Match: the version read)",
             EnterpriseUpdateForm, (200, 403, 404, 409, 412, 428, *_WRITE), EnterpriseView,
             etag=True),
)  # fmt: skip
