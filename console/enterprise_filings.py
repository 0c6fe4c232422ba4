"""The enterprise's filings: registrations (new, change, renewal) of products' drafts,
deregistration, and the history of every submission with its decisions; and what the
enterprise's pages share: its overview, read through the registry's operations.

A filing the registry refuses (a renewal before its window opens, a draft with problems,
one under review already) shows the registry's message on the page and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.forms import Posted, checked, field_errors, posted
from console.navigation import connection
from console.rendering import PREFIX, lang_of, page, see_other, tr
from console.sessions import signed_in
from public_site.pages import Lang
from registry_api.accounts.operations import Actor
from registry_api.enterprises import operations as enterprises
from registry_api.enterprises.storage import Enterprise, HeldCertificate
from registry_api.errors import Conflict, NotFound, RegistryError, ValidationFailed
from registry_api.products import operations as products
from registry_api.products.filings import revision_problems
from registry_api.products.operations import ProductSummary
from registry_api.products.storage import Product, Revision
from registry_api.reviews import operations as reviews
from registry_api.reviews.forms import DeregistrationForm, RegistrationForm
from registry_api.reviews.operations import Reviewed
from registry_api.reviews.pipelines import PIPELINES, Pipeline, renewal_opens_on
from registry_api.reviews.storage import Decision, Submission

FILINGS = f"{PREFIX}/enterprise/filings"


def own_enterprise_id(actor: Actor) -> int:
    """The signed-in enterprise's id. These pages are an enterprise account's own: anyone
    else is told there is no such page (404), as the registry answers out of scope."""
    if actor.account.kind != "enterprise" or actor.account.enterprise_id is None:
        raise NotFound("the enterprise pages belong to enterprise accounts")
    return actor.account.enterprise_id


def refused_message(lang: Lang, exc: RegistryError) -> str:
    """A refusal of the registry (its message is in English), introduced in both languages."""
    return tr(lang, "登记系统未接受：", "The registry refused this: ") + exc.message


def step_name(submission: Submission, step: int, lang: Lang) -> str:
    """A step's name in the reader's language (the pipelines name them `中文 English`)."""
    zh, _, en = PIPELINES[Pipeline(submission.pipeline)][step].name.partition(" ")
    return tr(lang, zh, en or zh)


@dataclass(frozen=True, slots=True)
class Draft:
    product: Product
    revision: Revision
    problems: dict[str, str]  # what blocks filing it, by field; empty: ready


@dataclass(frozen=True, slots=True)
class Rejection:
    submission: Submission
    decision: Decision


@dataclass(frozen=True, slots=True)
class Overview:
    """What the enterprise's pages show of it, read with the actor's own rights."""

    record: Enterprise
    certificates: list[HeldCertificate]  # newest first
    products: list[ProductSummary]
    drafts: list[Draft]
    history: list[Reviewed]  # newest first
    revision_names: dict[int, tuple[str, int]]  # revision id -> (product name, number)

    @property
    def certificate(self) -> HeldCertificate | None:
        """The certificate in force."""
        return next((c for c in self.certificates if c.status == "valid"), None)

    @property
    def renewal_opens(self) -> date | None:
        held = self.certificate
        return None if held is None else renewal_opens_on(held.expires_on)

    @property
    def pending(self) -> list[Submission]:
        return [s for s, _ in self.history if s.status == "pending"]

    @property
    def rejections(self) -> list[Rejection]:
        """Rejected submissions not filed again since, with the decision that rejected them."""
        resubmitted = {s.resubmission_of for s, _ in self.history}
        return [
            Rejection(s, d)
            for s, decisions in self.history
            if s.status == "rejected" and s.id not in resubmitted
            for d in decisions
            if d.decision == "reject"
        ]

    def rejected(self, pipeline: str) -> list[Submission]:
        """Rejected submissions of `pipeline`: what a new filing may name as resubmitted."""
        return [s for s, _ in self.history if s.status == "rejected" and s.pipeline == pipeline]

    @property
    def ready(self) -> list[Draft]:
        return [d for d in self.drafts if not d.problems]


async def overview(conn: Connection, actor: Actor, enterprise_id: int) -> Overview:
    record = await enterprises.enterprise(conn, actor, enterprise_id)
    summaries = await products.products_of(conn, actor, enterprise_id)
    drafts = [
        Draft(s.product, s.open, revision_problems(s.product, s.open))
        for s in summaries
        if s.open is not None and s.open.status == "draft"
    ]
    return Overview(
        record=record,
        certificates=await enterprises.certificates(conn, actor, enterprise_id),
        products=summaries,
        drafts=drafts,
        history=await reviews.history(conn, actor, enterprise_id),
        revision_names={
            r.id: (s.product.name_zh, r.number) for s in summaries for r in s.revisions
        },
    )


def _filings_page(
    request: Request,
    actor: Actor,
    seen: Overview,
    *,
    status: int = 200,
    form_name: str | None = None,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    posted_form: Posted | None = None,
) -> Response:
    return page(
        request,
        "enterprise_filings.html",
        status=status,
        actor=actor,
        o=seen,
        today=date.today(),
        step_name=lambda s, i: step_name(s, i, lang_of(request)),
        form_name=form_name,  # the form the message and errors are about
        message=message,
        errors=errors or {},
        values={} if posted_form is None else posted_form.values(),
        chosen_revisions=[] if posted_form is None else posted_form.getlist("revision_ids"),
    )


async def filings(request: Request) -> Response:
    """`/console/enterprise/filings`: file, and see every submission and decision."""
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        seen = await overview(conn, actor, own_enterprise_id(actor))
    return _filings_page(request, actor, seen)


def _optional_id(form: Posted, name: str) -> str | None:
    """An optional id field: None when left at "none" (the registry checks the rest)."""
    return form.text(name)


async def _file(request: Request, form_name: str) -> Response:
    form = await posted(request)
    lang = lang_of(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        enterprise_id = own_enterprise_id(actor)
        try:
            if form_name == "registration":
                registration = checked(
                    RegistrationForm,
                    {
                        "kind": form.get("kind"),
                        "revision_ids": form.getlist("revision_ids"),
                        "resubmission_of": _optional_id(form, "resubmission_of"),
                    },
                )
                await reviews.submit_registration(conn, actor, enterprise_id, registration)
            else:
                deregistration = checked(
                    DeregistrationForm,
                    {
                        "reason": form.get("reason"),
                        "resubmission_of": _optional_id(form, "dereg_resubmission_of"),
                    },
                )
                await reviews.submit_deregistration(conn, actor, enterprise_id, deregistration)
        except (ValidationFailed, Conflict) as exc:
            fields = dict(exc.fields)
            if form_name == "deregistration" and "resubmission_of" in fields:
                # Both forms name an earlier submission: the page's inputs have their own names.
                fields["dereg_resubmission_of"] = fields.pop("resubmission_of")
            message = refused_message(lang, exc) if isinstance(exc, Conflict) else None
            if isinstance(exc, ValidationFailed) and form_name == "registration":
                # Problems of the drafts named are the registry's, by revision: say so.
                message = refused_message(lang, exc)
            seen = await overview(conn, actor, enterprise_id)
            return _filings_page(
                request, actor, seen, status=exc.status, form_name=form_name, message=message,
                errors=field_errors(request, fields), posted_form=form,
            )  # fmt: skip
    return see_other(request, FILINGS, done="filed")


async def file_registration(request: Request) -> Response:
    return await _file(request, "registration")


async def file_deregistration(request: Request) -> Response:
    return await _file(request, "deregistration")


ROUTES: list[Route] = [
    Route(FILINGS, filings, methods=["GET"]),
    Route(f"{FILINGS}/registration", file_registration, methods=["POST"]),
    Route(f"{FILINGS}/deregistration", file_deregistration, methods=["POST"]),
]
