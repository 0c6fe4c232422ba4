"""The registry keeps the contract of its OpenAPI document: schemathesis runs every phase it
has (examples, coverage, fuzzing, stateful) with every check against `/api/v1/openapi.json`,
once signed in as the Xiaodian county admin and once as a demo enterprise.

How it runs. Each account gets a database of its own (the `service_urls` fixture) holding the
demo data (`safecode.demo`: accounts, three enterprises, three approved products). The real
registry app (`safecode.apps.registry_app`) is served by uvicorn on a free 127.0.0.1 port in
a thread of this process, its lifespan started before the run and ended after it, before the
database is dropped. Not schemathesis' in-process ASGI transport: in schemathesis 4 that
starts an app's lifespan on first use, on an event-loop thread shared by the whole process,
and ends it only at interpreter exit (or through an undocumented module function), after the
fixtures have dropped the database its pool holds; and a real server answers what a client
gets (HTTP parsing, the `Allow` of a 405). schemathesis talks HTTP only; nothing is imported
from `registry_api`.

The run is schemathesis' own engine (what `st run` drives): the phases share one
deduplicated list of failures. At most `MAX_EXAMPLES` cases per operation and phase,
`continue-on-failure` (every failure of an operation, not only its first), a fixed seed so
that a run can be repeated, and neither an example database nor schemathesis' cache is
written to the tree. Measured on a 2-core machine: about 60 s of schemathesis per account
(some 19,000 cases: the coverage phase walks every pattern, length and enum), two minutes
for both runs with their set-up.

Left out, and kept in:
- `POST /api/v1/auth/logout` is left out: it would end the session the run signs with.
- `POST /api/v1/auth/password` stays in. A wrong `current_password` is a 422 that does not
  count towards the lock-out (only sign-ins do); a change needs the current password, which
  no response contains, so the run cannot make one; and a change would not end the session.
- `POST /api/v1/auth/login` stays in: five wrong passwords for a real mobile lock that account,
  but a lock only refuses new sign-ins, and the run's token was issued before it.

Every check runs but `max_response_time`, which schemathesis leaves off unless given a
limit: it is a timing, and tests here assert none (`make bench` measures speed). Departures
from the checks' defaults, each a status the check does not know to be a right answer:
- `missing_required_header` also takes 428, RFC 6585's status for a missing `If-Match`;
- `positive_data_acceptance` also takes 412 on the three operations that take `If-Match`
  (a generated one does not name the current version: a state precondition, like the 404
  and 409 the check takes already), and 422 on the operations listed in
  `CHECKED_AGAINST_STORED`, whose bodies are checked against what is stored: the current
  password, the revisions a registration names, the parks of the enterprise's county... No
  schema can carry that, and no generator can know it; and 423 on sign-in, once the run's
  wrong passwords have locked an account whose mobile it found in an answer. A request the
  schema forbids is still refused before any of it is looked at: a bad body is
  400/415/422 and a malformed `If-Match` 400 before a stale one is 412.

The identifiers with check characters have string formats in the document
(`gb32100-uscc`, `gb11643-resident-id`, `cas-registry-number`, described there in words);
`tests/registry_api/identifiers.py` generates valid values of each, registered here.

A failing run reports every unique failure (operation, check, status, reason, the request and
the response), every 5xx, every engine error and every phase that ran nothing; then, to help
whoever fixes the document, the fields named by 422 answers to schema-valid requests and the
operations that never answered 2xx.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from schemathesis import engine
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.engine.run import PhaseName
from schemathesis.schemas import BaseSchema

from safecode import apps
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.settings import Settings
from tests.conftest import free_port, serving
from tests.registry_api.identifiers import FORMATS

API = "/api/v1"
# (account, mobile): README "Demo data".
ACCOUNTS = [("county-admin", "13800000005"), ("enterprise", "13700000001")]
MAX_EXAMPLES = 25
SEED = 20260314
EXCLUDED = [
    "post_auth_logout",
    # A generated count up to 1,000,000 stores that many serials each time (about 20 s):
    # the run would spend its time in COPY. tests/registry_api/lifecycle/test_batches.py
    # holds the route to its document.
    "post_batches_batch_id_items",
]
CONDITIONAL_WRITES = [
    "patch_enterprises_enterprise_id",
    "put_products_product_id",
    "put_revisions_revision_id",
]
# Operations whose schema-valid bodies may still be refused with 422, being checked against
# what is stored, not sent.
CHECKED_AGAINST_STORED = [
    # The current password is a secret; the new one must differ from it and not contain the
    # account's mobile.
    "post_auth_password",
    # The revisions named are checked whole, as they are stored (16 SDS sections, a label
    # that conforms...); `resubmission_of` must name a rejected submission.
    "post_enterprises_enterprise_id_registrations",
    # A park of the enterprise's county or city; an industry class of annex 1 when the
    # stored record is a chemical or pharmaceutical enterprise; `resubmission_of`.
    "post_enterprises_enterprise_id_info_updates",
    "patch_enterprises_enterprise_id",
    # `resubmission_of` must name a rejected deregistration of the enterprise.
    "post_enterprises_enterprise_id_deregistrations",
    # The same class twice (in two categories): JSON Schema cannot refuse that.
    "post_ghs_derive",
    # A batch produced "not after today", used by "on or after" its production.
    "post_products_product_id_batches",
    # `from` within the stored count.
    "get_item_issues_issue_id_sheet_pdf",
    # An EPCIS document is checked event by event against the items stored: their serials,
    # states and holders.
    "post_events",
    # A `batch` is named with its `code` (a dependency between query parameters that
    # OpenAPI cannot state), and a `serial` must pass its check character.
    "get_events",
]
# Five wrong passwords lock an account (the run finds the mobiles in answers): 423, a state
# of the account like the 429 of a rate limit that the check takes already.
LOCKABLE = ["post_auth_login"]
TESTING_PHASES = (
    PhaseName.EXAMPLES,
    PhaseName.COVERAGE,
    PhaseName.FUZZING,
    PhaseName.STATEFUL_TESTING,
)
# schemathesis' defaults (`schemathesis.config._checks`), spelt out so that what is added shows.
MISSING_REQUIRED_HEADER_STATUSES = ["400", "401", "403", "406", "415", "422"]
POSITIVE_DATA_ACCEPTANCE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


@pytest.mark.parametrize(("account", "mobile"), ACCOUNTS, ids=[name for name, _ in ACCOUNTS])
def test_the_registry_keeps_its_openapi_contract(
    registry_url: str, account: str, mobile: str
) -> None:
    token = _sign_in(registry_url, mobile)
    for name, strategy in FORMATS.items():
        schemathesis.openapi.format(name, strategy)
    schema = schemathesis.openapi.from_url(
        f"{registry_url}{API}/openapi.json", config=_config(token)
    )
    run = _run(schema)
    if not run.clean:
        pytest.fail(_report(account, mobile, run), pytrace=False)


def _config(token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "continue-on-failure": True,
            # No `.schemathesis/` cache and (`database`) no `.hypothesis/` examples in the tree:
            # nothing carried from one run to the next.
            "cache": {"enabled": False},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            # Sent to the operations that declare the `bearer` scheme, as a client sends it.
            "auth": {"openapi": {"bearer": {"bearer": token}}},
            "checks": {
                "enabled": True,
                # RFC 6585: 428 Precondition Required answers a missing `If-Match`.
                "missing_required_header": {
                    "expected-statuses": [*MISSING_REQUIRED_HEADER_STATUSES, "428"]
                },
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
            "operations": [
                # It would end the session the run signs its requests with.
                {"include-operation-id": EXCLUDED, "enabled": False},
                *_acceptance_overrides(),
            ],
        }
    )


def _acceptance_overrides() -> list[dict[str, Any]]:
    """What `positive_data_acceptance` also takes, operation by operation (see above)."""
    extra: dict[str, list[str]] = {}
    for operation in CONDITIONAL_WRITES:
        extra.setdefault(operation, []).append("412")
    for operation in CHECKED_AGAINST_STORED:
        extra.setdefault(operation, []).append("422")
    for operation in LOCKABLE:
        extra.setdefault(operation, []).append("423")
    return [
        {
            "include-operation-id": [operation],
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_STATUSES, *statuses]
                }
            },
        }
        for operation, statuses in extra.items()
    ]


# --- the run ----------------------------------------------------------------------------


@dataclass
class Finding:
    """A unique failure, as schemathesis counts them: one per operation and kind."""

    operation: str
    check: str
    status: int | None
    title: str
    reason: str
    request: str
    response: str


@dataclass
class Run:
    findings: dict[Failure, Finding] = field(default_factory=dict)
    # (operation, status) -> the first request and response
    server_errors: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    phases: dict[PhaseName, str] = field(default_factory=dict)
    cases: dict[PhaseName, int] = field(default_factory=dict)
    stateful_transitions: int = 0
    # operation -> fields named by 422 answers to schema-valid requests
    refused_fields: dict[str, set[str]] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def idle_phases(self) -> list[PhaseName]:
        return [phase for phase in TESTING_PHASES if self.phases.get(phase) != "ran"]

    @property
    def clean(self) -> bool:
        return not (self.findings or self.server_errors or self.errors or self.idle_phases)


def _run(schema: BaseSchema) -> Run:
    run = Run()
    started = time.monotonic()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            run.stateful_transitions = event.payload.transitions_selected
        elif isinstance(event, events.PhaseFinished) and event.phase.name in TESTING_PHASES:
            if event.status != Status.SKIP:
                run.phases[event.phase.name] = "ran"
            else:
                reason = event.phase.skip_reason or "nothing to run"
                run.phases.setdefault(event.phase.name, f"skipped ({reason})")
        elif isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            _collect(run, event.phase, event.recorder)
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {_first_line(str(event.value))}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.Interrupted):
            run.errors.append(f"interrupted in phase {event.phase}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:  # of checks that judge the run as a whole
                run.findings.setdefault(failure, _finding(failure, "(run)", None))
    run.seconds = time.monotonic() - started
    return run


def _collect(run: Run, phase: PhaseName, recorder: ScenarioRecorder) -> None:
    run.cases[phase] = run.cases.get(phase, 0) + len(recorder.cases)
    for case_id, node in recorder.cases.items():
        case, response = node.value, recorder.find_response(case_id=case_id)
        operation = case.operation.label
        run.operations.add(operation)
        if response is None:
            continue
        if 200 <= response.status_code < 300:
            run.succeeded.add(operation)
        elif response.status_code >= 500:
            run.server_errors.setdefault(
                (operation, response.status_code), (_request_text(response), _body(response))
            )
        elif (
            response.status_code == 422
            and case.meta is not None
            and case.meta.generation.mode.is_positive
        ):
            run.refused_fields.setdefault(operation, set()).update(_error_fields(response))
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None or check.failure_info.failure in run.findings:
                continue
            failure = check.failure_info.failure
            response = recorder.find_response(case_id=failure.case_id or case_id)
            run.findings[failure] = _finding(failure, check.name, response)


def _finding(failure: Failure, check: str, response: schemathesis.Response | None) -> Finding:
    return Finding(
        operation=failure.operation or "(run)",
        check=check,
        status=response.status_code if response is not None else None,
        title=failure.title,
        reason=" / ".join(line for line in failure.message.splitlines() if line.strip()),
        request=_request_text(response) if response is not None else "",
        response=_body(response) if response is not None else "",
    )


def _error_fields(response: schemathesis.Response) -> list[str]:
    """The `error.fields` of the registry's documented error body, if that is what came."""
    try:
        fields = json.loads(response.content)["error"]["fields"]
    except (ValueError, KeyError, TypeError):
        return ["(not the documented error body)"]
    # `cas_numbers[3]` and `cas_numbers[0]` are the same rule
    return [re.sub(r"\[\d+\]", "[]", name) for name in fields] if isinstance(fields, dict) else []


def _request_text(response: schemathesis.Response) -> str:
    request = response.request
    url = urlsplit(request.url or "")
    parts = [f"{request.method} {url.path}" + (f"?{url.query}" if url.query else "")]
    parts += [
        f"{name}: {value.decode('latin-1') if isinstance(value, bytes) else value}"
        for name, value in request.headers.items()
        if name.lower() in ("if-match", "content-type")
    ]
    body = request.body
    if isinstance(body, bytes):
        parts.append(_clip(body.decode("utf-8", "replace")))
    elif isinstance(body, str) and body:
        parts.append(_clip(body))
    return " | ".join(parts)


def _body(response: schemathesis.Response) -> str:
    return _clip(response.content.decode("utf-8", "replace"))


def _clip(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), text)


def _report(account: str, mobile: str, run: Run) -> str:
    lines = [
        f"schemathesis {schemathesis.__version__} signed in as {account} ({mobile}), seed {SEED}, "
        f"{run.seconds:.0f} s: {len(run.findings)} failures, {len(run.server_errors)} kinds of "
        f"5xx, {len(run.errors)} errors, {len(run.idle_phases)} idle phases",
        "phases: "
        + ", ".join(
            f"{phase.value} {run.phases.get(phase, 'not run')} ({run.cases.get(phase, 0)} cases)"
            for phase in TESTING_PHASES
        )
        + f"; {run.stateful_transitions} stateful transitions",
    ]
    for finding in sorted(run.findings.values(), key=lambda f: (f.operation, f.check)):
        lines += [
            f"- {finding.operation}  [{finding.check}]  {finding.status}: {finding.title}",
            f"    {_clip(finding.reason, 400)}",
            f"    > {finding.request}",
            f"    < {finding.response}",
        ]
    for (operation, status), (request, response) in sorted(run.server_errors.items()):
        lines += [f"- {operation}  [5xx]  {status}", f"    > {request}", f"    < {response}"]
    lines += [f"- error: {error}" for error in run.errors]
    lines += [f"- phase {phase.value} ran nothing" for phase in run.idle_phases]
    if run.refused_fields:
        lines.append("fields named by 422 answers to schema-valid requests:")
        lines += [
            f"  {operation}: {', '.join(sorted(fields))}"
            for operation, fields in sorted(run.refused_fields.items())
        ]
    if run.operations - run.succeeded:
        lines.append("never answered 2xx: " + ", ".join(sorted(run.operations - run.succeeded)))
    return "\n".join(lines)


# --- the registry, served -----------------------------------------------------------------


def _sign_in(base_url: str, mobile: str) -> str:
    response = httpx.post(
        f"{base_url}{API}/auth/login", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


@pytest.fixture
async def demo_urls(service_urls: ServiceUrls, settings: Settings) -> ServiceUrls:
    """This test's database, with the demo's accounts, enterprises and approved products."""
    master_key = load_master_key(settings)  # the key `registry_app` loads from `settings`
    await ensure_demo_registry(service_urls.database_url, master_key=master_key)
    await ensure_demo_products(
        service_urls.database_url,
        master_key=master_key,
        public_base_url=settings.public_base_url,
        province=settings.province,
    )
    return service_urls


@pytest.fixture
def registry_url(settings: Settings, demo_urls: ServiceUrls) -> Iterator[str]:
    port = free_port()
    with serving(apps.registry_app(settings, demo_urls), port):
        yield f"http://127.0.0.1:{port}"
