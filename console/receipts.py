"""The receipt on a phone: a receiving clerk scans a package, follows its scan page's
"Record receipt" link here, sees the transport view of what arrived and records the
receipt with one tap.

The form records one EPCIS ObjectEvent (bizStep receiving) through
`lifecycle.operations.record_events`, as `POST /api/v1/events` does: any enterprise account
may record a receipt (receipts that do not add up raise alerts rather than being refused);
regulators record none and are told so (403), or told there is no such item outside their
scope (404). A case or pallet is received with everything packed in it.

The form carries the eventID it will record (a UUID made when the page was shown), so a
second tap, or the form sent again after a dropped connection, records nothing twice: the
API skips an eventID it has stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.storage import Connection
from console.errors import SignInNeeded
from console.forms import Posted, posted
from console.lifecycle import CONDITION_NAMES, facts_view, public_base_url, read_serial
from console.navigation import connection
from console.rendering import LOCAL_TIME, PREFIX, lang_of, local_time, page, see_other, tr
from console.sessions import forget_session, signed_in
from public_site.pages import Lang
from registry_api.accounts.operations import Actor
from registry_api.errors import NotFound
from registry_api.lifecycle import operations
from registry_api.lifecycle.epcis import (
    CONDITION_FIELD,
    CONDITIONS,
    MAX_NOTE_LENGTH,
    NOTE_FIELD,
    EventsInvalid,
)
from registry_api.lifecycle.packages import package_facts
from registry_api.lifecycle.storage import EventFilter

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME_ZONE_OFFSET = "+08:00"  # the console's clerks record in Beijing time (LOCAL_TIME)
# The registry's words for an event recorded out of order (`operations._step`).
_BEFORE_LAST = re.compile(r"eventTime .* is before the item's last recorded event \((.+)\)")


async def _receiver(request: Request, conn: Connection, serial: str) -> Actor | None:
    """The signed-in enterprise account receiving; None for a regulator in whose scope the
    item is (it gets the 403 page; outside its scope, the 404 page of a missing item)."""
    actor = await signed_in(request, conn)
    if actor.account.kind == "enterprise":
        return actor
    await operations.item_timeline(conn, actor, serial, EventFilter(limit=1))
    return None


def _refused_page(request: Request) -> Response:
    lang = lang_of(request)
    return page(
        request,
        "error.html",
        status=403,
        title=tr(lang, "监管账号不登记收货", "Regulators do not record receipts"),
        message=tr(
            lang,
            "收货由收到货物的企业（道路运输企业、使用单位等）用企业账号登记。"
            "监管人员可以查看此包装的记录和警示。",
            "Receipts are recorded by the enterprise that received the goods (a logistics "
            "company, a user enterprise) with its enterprise account. Regulators read the "
            "package's timeline and its alerts.",
        ),
    )


async def _form_page(
    request: Request,
    conn: Connection,
    actor: Actor,
    serial: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    facts = await package_facts(conn, serial, public_base_url(request))
    if facts is None:
        raise NotFound(f"no item {serial}")
    lang = lang_of(request)
    shown = {"condition": "intact", "note": "", "receipt_id": str(uuid.uuid4())}
    return page(
        request,
        "receive.html",
        status=status,
        actor=actor,
        item=facts_view(facts, lang),
        conditions=[(value, tr(lang, *CONDITION_NAMES[value])) for value in CONDITIONS],
        values=shown | (values or {}),
        errors=errors or {},
        message=message,
        max_note=MAX_NOTE_LENGTH,
    )


async def receive_form(request: Request) -> Response:
    """`/console/receive/{serial}`: the transport view of what arrived, and the form."""
    serial = read_serial(request.path_params["serial"])
    async with connection(request) as conn:
        actor = await _receiver(request, conn, serial)
        if actor is None:
            return _refused_page(request)
        return await _form_page(request, conn, actor, serial)


def receiving_event(
    *, event_id: str, item_url: str, condition: str, note: str | None, now: datetime
) -> dict[str, Any]:
    """The EPCIS ObjectEvent of a receipt recorded at `now` (aware), in Beijing time."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{event_id}",
        "eventTime": now.astimezone(LOCAL_TIME).isoformat(),
        "eventTimeZoneOffset": _TIME_ZONE_OFFSET,
        "action": "OBSERVE",
        "bizStep": "receiving",
        "epcList": [item_url],
        CONDITION_FIELD: condition,
    }
    if note is not None:
        event[NOTE_FIELD] = note
    return event


def _form_errors(form: Posted, lang: Lang) -> dict[str, str]:
    errors = {}
    if form.get("condition") not in CONDITIONS:
        errors["condition"] = tr(
            lang,
            "请选择货物状况：完好、破损或泄漏。",
            "Choose the condition: intact, damaged or leaking.",
        )
    if len(form.get("note").strip()) > MAX_NOTE_LENGTH:
        errors["note"] = tr(
            lang, f"最多 {MAX_NOTE_LENGTH} 个字符", f"At most {MAX_NOTE_LENGTH} characters"
        )
    return errors


def problem_words(problems: dict[str, str], lang: Lang) -> str:
    """Why the registry recorded nothing, in the reader's language."""
    for message in problems.values():
        found = _BEFORE_LAST.search(message)
        if found is not None:
            try:
                last = local_time(datetime.fromisoformat(found.group(1)))
            except ValueError:
                last = found.group(1)
            return tr(
                lang,
                f"未登记：此包装最近一次记录的时间（{last}）晚于现在。"
                "请检查手机的日期和时间后重试。",
                f"Nothing was recorded: the package's last event ({last}) is later than now. "
                "Check this device's date and time, then try again.",
            )
    details = "; ".join(problems.values())
    return tr(
        lang,
        f"未登记，没有做任何记录。登记系统的答复：{details}",
        f"Nothing was recorded. The registry answered: {details}",
    )


def _sign_in_and_back(request: Request, serial: str, exc: SignInNeeded) -> Response:
    """A session that ended while the form was open: sign in and come back to the receipt
    page (the console's pages send no Referer for the usual way back to find)."""
    query = {"next": f"{PREFIX}/receive/{serial}"} | ({"expired": "1"} if exc.expired else {})
    response = see_other(request, f"{PREFIX}/sign-in?{urlencode(query)}")
    forget_session(request, response)
    return response


async def record_receipt(request: Request) -> Response:
    form = await posted(request)
    serial = read_serial(request.path_params["serial"])
    lang = lang_of(request)
    async with connection(request) as conn:
        try:
            actor = await _receiver(request, conn, serial)
        except SignInNeeded as exc:
            return _sign_in_and_back(request, serial, exc)
        if actor is None:
            return _refused_page(request)
        receipt_id = form.get("receipt_id").lower()
        values = {
            "condition": form.get("condition"),
            "note": form.get("note"),
            "receipt_id": receipt_id if _UUID.fullmatch(receipt_id) else str(uuid.uuid4()),
        }
        errors = _form_errors(form, lang)
        if errors:
            return await _form_page(
                request, conn, actor, serial, status=422, values=values, errors=errors
            )
        facts = await package_facts(conn, serial, public_base_url(request))
        if facts is None:
            raise NotFound(f"no item {serial}")
        event = receiving_event(
            event_id=values["receipt_id"],
            item_url=facts.scan_url,
            condition=values["condition"],
            note=form.text("note"),
            now=datetime.now(LOCAL_TIME),
        )
        try:
            recorded = await operations.record_events(conn, actor, event)
        except EventsInvalid as exc:
            return await _form_page(
                request, conn, actor, serial, status=exc.status, values=values,
                message=problem_words(exc.problems, lang),
            )  # fmt: skip
    alerted = next((a.kind for a in recorded.alerts), None)
    return see_other(request, f"{PREFIX}/items/{serial}?receipt={alerted or 'recorded'}")


ROUTES = [
    Route(f"{PREFIX}/receive/{{serial}}", receive_form, methods=["GET"]),
    Route(f"{PREFIX}/receive/{{serial}}", record_receipt, methods=["POST"]),
]
