"""Pages of the lifecycle: an item with its timeline, and the alerts list.

The timeline is `lifecycle.operations.item_timeline`'s and the alerts are
`lifecycle.operations.alerts`', called with the signed-in actor as `GET
/api/v1/items/{serial}/events` and `GET /api/v1/alerts` call them: the item's enterprise,
its holder, the enterprises that recorded its events and the regulators over it read the
timeline (anyone else gets the 404 page, like a serial never issued); alerts are the
enterprise's own products' or those of every enterprise in the regulator's unit.

What the pages say of the package itself (product, transport data, state, batch, what is
packed in it) is what its scan page shows anyone holding it: `lifecycle.packages`'
`package_facts`, read as the resolver reads it. The receipt page
(`receipts.py`) shows the same facts to a receiving clerk.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from codesvc.codes import group_code_id
from codesvc.item_states import STATE_NAMES, STEP_NAMES, BizStep, ItemState
from codesvc.serials import SerialError, parse_serial
from codesvc.storage import Connection
from console.forms import checked
from console.navigation import connection
from console.rendering import PREFIX, lang_of, local_time, page, tr
from console.sessions import signed_in
from public_site.pages import Lang, localized
from public_site.scan_pages import transport_class_names
from registry_api.accounts.operations import Actor
from registry_api.enterprises import operations as enterprises
from registry_api.errors import NotFound
from registry_api.lifecycle import operations
from registry_api.lifecycle.epcis import StoredEvent
from registry_api.lifecycle.forms import ALERT_KINDS, AlertQuery
from registry_api.lifecycle.packages import PackageFacts, package_facts
from registry_api.lifecycle.storage import AlertRow, EventFilter

TIMELINE_PAGE = 100  # events a page of the timeline shows
ALERTS_PAGE = 50

KIND_NAMES: dict[str, tuple[str, str]] = {
    "item": ("包装件", "Package"),
    "case": ("箱", "Case"),
    "pallet": ("托盘", "Pallet"),
}
CONDITION_NAMES: dict[str, tuple[str, str]] = {
    "intact": ("完好", "Intact"),
    "damaged": ("破损", "Damaged"),
    "leaking": ("泄漏", "Leaking"),
}
ALERT_NAMES: dict[str, tuple[str, str]] = {
    "double_receipt": ("重复收货", "Received twice"),
    "after_end": ("用完或销毁后再出现", "Met again after its end"),
    "never_issued": ("未签发的序列号", "Serial never issued"),
    "over_quantity": ("扫码次数远超批量", "Scanned far beyond its quantity"),
}


def read_serial(text: str) -> str:
    """The serial a path names (any case); the 404 page when it cannot be one, so a
    mistyped serial is answered like an unknown one."""
    try:
        return parse_serial(text)
    except SerialError:
        raise NotFound(f"no item {text[:40]}") from None


def public_base_url(request: Request) -> str:
    base: str = request.app.state.public_base_url
    return base


def state_name(state: str, lang: Lang) -> str:
    return STATE_NAMES[ItemState(state)][lang]


def step_name(step: BizStep, lang: Lang) -> str:
    return STEP_NAMES[step][lang]


def _named(names: dict[str, tuple[str, str]], key: str | None, lang: Lang) -> str:
    if key is None:
        return ""
    found = names.get(key)
    return key if found is None else tr(lang, *found)


def kind_name(kind: str, lang: Lang) -> str:
    return _named(KIND_NAMES, kind, lang)


def condition_name(condition: str | None, lang: Lang) -> str:
    return _named(CONDITION_NAMES, condition, lang)


def offset_zone(offset: str) -> timezone:
    """The zone of an `eventTimeZoneOffset` ("+08:00")."""
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset[1:].partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def event_time(event: StoredEvent) -> str:
    """When the event happened, in the offset it was recorded in: "2026-12-01 09:30 +08:00"."""
    at = event.event_time if event.event_time.tzinfo else event.event_time.replace(tzinfo=UTC)
    return f"{at.astimezone(offset_zone(event.time_zone_offset)):%Y-%m-%d %H:%M} " + (
        event.time_zone_offset
    )


def facts_view(facts: PackageFacts, lang: Lang) -> dict[str, Any]:
    """What the templates show of a package, in the reader's language."""
    transport = facts.transport()
    product = localized(facts.record.get("product_name"), lang)
    return {
        "serial": facts.serial,
        "kind": kind_name(facts.kind, lang),
        "is_item": facts.kind == "item",
        "state": facts.state.value,
        "state_name": state_name(facts.state, lang),
        "state_at": local_time(facts.state_at),
        "ended": facts.ended,
        "parent": facts.parent,
        "alerted_at": local_time(facts.alerted_at),
        "code_id": group_code_id(facts.code_id),
        "batch_no": facts.batch_no,
        "scan_url": facts.scan_url,
        "product": product,
        "un_number": transport.get("un_number") or "",
        "shipping_name": localized(transport.get("proper_shipping_name"), lang)
        if transport.get("proper_shipping_name")
        else "",
        "transport_class": transport.get("transport_class") or "",
        "class_names": transport_class_names(transport.get("transport_class"), lang),
        "packing_group": transport.get("packing_group") or "",
        "recall": facts.recall,
        "packed": facts.packed,
        "packed_cases": facts.packed_cases,
    }


# --- the item and its timeline ------------------------------------------------------------


async def _own_enterprise(conn: Connection, actor: Actor) -> tuple[str, str] | None:
    """(USCC, name) of the actor's enterprise; None for a regulator."""
    if actor.account.enterprise_id is None:
        return None
    own = await enterprises.enterprise(conn, actor, actor.account.enterprise_id)
    return own.uscc, own.name


def _event_view(
    event: StoredEvent, serial: str, own: tuple[str, str] | None, lang: Lang
) -> dict[str, Any]:
    named = {ref.serial for ref in event.items} | (
        {event.parent.serial} if event.parent is not None else set()
    )
    recorder = event.recorder_uscc
    if own is not None and own[0] == recorder:
        recorder = f"{own[1]} ({recorder})"
    return {
        "time": event_time(event),
        "step": step_name(event.biz_step, lang),
        "step_value": event.biz_step.value,
        "recorder": recorder,
        "condition": condition_name(event.condition, lang),
        "condition_value": event.condition,
        "note": event.note,
        "disposition": event.disposition,
        # Moved along in a case or pallet the event named, rather than named itself.
        "with_parent": None if serial in named else next(iter(sorted(named)), None),
    }


RECEIPT_NOTICES: dict[str, tuple[str, str]] = {
    "recorded": ("已登记收货。", "Receipt recorded."),
    "double_receipt": (
        "已登记收货。注意：此包装已由另一家企业登记收货、其间没有发货记录，系统已就此发出警示，"
        "生产企业和监管部门可以看到。",
        "Receipt recorded. Note: another enterprise had received this package with no shipment "
        "since, so an alert was raised for its manufacturer and regulators.",
    ),
    "after_end": (
        "已登记收货。注意：此包装已用完或已销毁，不应再出现，系统已就此发出警示。",
        "Receipt recorded. Note: this package was used up or destroyed and should not exist, so "
        "an alert was raised.",
    ),
}


async def item_page(request: Request) -> Response:
    """`/console/items/{serial}`: the package and its timeline, oldest first, a page at a
    time (`?after=` the position the previous page ended at)."""
    serial = read_serial(request.path_params["serial"])
    after = request.query_params.get("after") or None
    lang = lang_of(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        position = None if after is None else operations.read_page_token(after)
        timeline = await operations.item_timeline(
            conn, actor, serial, EventFilter(after=position, limit=TIMELINE_PAGE)
        )
        facts = await package_facts(conn, serial, public_base_url(request))
        if facts is None:
            raise NotFound(f"no item {serial}")
        own = await _own_enterprise(conn, actor)
    receipt = RECEIPT_NOTICES.get(request.query_params.get("receipt", ""))
    return page(
        request,
        "item.html",
        actor=actor,
        item=facts_view(facts, lang),
        events=[_event_view(e, serial, own, lang) for e in timeline.events],
        later=None
        if timeline.next_token is None
        else f"{PREFIX}/items/{serial}?after={timeline.next_token}",
        receipt=None if receipt is None else tr(lang, *receipt),
        may_receive=actor.account.kind == "enterprise",
    )


# --- alerts ---------------------------------------------------------------------------------


def _evidence_time(value: object) -> str:
    """A time kept in an alert's evidence (ISO text, written by the registry) as people
    here read it; the text itself when it is not one."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return local_time(datetime.fromisoformat(value))
    except ValueError:
        return value


async def _enterprise_names(
    conn: Connection, actor: Actor, alerts: Iterable[AlertRow]
) -> dict[int, str]:
    """The names of the enterprises alerts' evidence names, those the actor may read (its
    own, or those of the regulator's unit); the others stay unnamed."""
    named = {a.enterprise_id: a.enterprise_name for a in alerts}
    wanted = {
        value
        for alert in alerts
        for key in ("received_by", "then_received_by", "recorder")
        if isinstance(value := alert.evidence.get(key), int) and value not in named
    }
    for enterprise_id in sorted(wanted):
        try:
            named[enterprise_id] = (await enterprises.enterprise(conn, actor, enterprise_id)).name
        except NotFound:
            continue
    return named


def _enterprise_words(value: object, names: dict[int, str], lang: Lang) -> str:
    if not isinstance(value, int):
        return tr(lang, "一家企业", "an enterprise")
    name = names.get(value)
    if name is not None:
        return name
    return tr(lang, f"另一家企业（编号 {value}）", f"another enterprise (no. {value})")


def evidence_words(alert: AlertRow, names: dict[int, str], lang: Lang) -> str:
    """What the alert found, in a sentence with its evidence."""
    evidence = alert.evidence
    batch = evidence.get("batch_no") or alert.batch_no or ""
    if alert.kind == "double_receipt":
        first = _enterprise_words(evidence.get("received_by"), names, lang)
        then = _enterprise_words(evidence.get("then_received_by"), names, lang)
        at = _evidence_time(evidence.get("received_at"))
        return tr(
            lang,
            f"{first} 于 {at} 登记收货后，{then} 又登记收货，其间没有发货记录。",
            f"Received by {first} on {at}, then by {then}, with no shipment between.",
        )
    if alert.kind == "after_end" and "step" in evidence:
        state = str(evidence.get("state") or "")
        state_text = state_name(state, lang) if state in ItemState._value2member_map_ else state
        step = str(evidence.get("step") or "")
        step_text = step_name(BizStep(step), lang) if step in BizStep._value2member_map_ else step
        recorder = _enterprise_words(evidence.get("recorder"), names, lang)
        since = _evidence_time(evidence.get("since"))
        return tr(
            lang,
            f"此包装已于 {since} {state_text}，之后 {recorder} 又登记了{step_text}。",
            f"It was {state_text} on {since}; then {recorder} recorded {step_text}.",
        )
    scans = evidence.get("scans")
    day = evidence.get("day") or ""
    if alert.kind == "after_end":
        return tr(
            lang,
            f"此包装用完或销毁后，{day} 仍被扫码 {scans} 次"
            f"（{_evidence_time(evidence.get('first_at'))} 至 "
            f"{_evidence_time(evidence.get('last_at'))}）。",
            f"Scanned {scans} time(s) on {day} after it was used up or destroyed "
            f"({_evidence_time(evidence.get('first_at'))} to "
            f"{_evidence_time(evidence.get('last_at'))}).",
        )
    if alert.kind == "never_issued":
        other = bool(evidence.get("detail"))
        return tr(
            lang,
            f"{day} 有 {scans} 次扫码使用了批次 {batch} 下"
            f"{'为其他产品或批次签发' if other else '从未签发'}的序列号 {alert.serial or ''}。",
            f"{scans} scan(s) on {day} used serial {alert.serial or ''} under batch {batch}, "
            f"{'issued for another code or batch' if other else 'never issued'}.",
        )
    if alert.kind == "over_quantity":
        packages, above = evidence.get("packages"), evidence.get("alert_above")
        return tr(
            lang,
            f"批次 {batch} 共被扫码 {scans} 次，远超其 {packages} 个包装"
            f"（超过 {above} 次即警示）。",
            f"Batch {batch} was scanned {scans} times, far beyond its {packages} package(s) "
            f"(alerted above {above}).",
        )
    return ", ".join(f"{key}: {value}" for key, value in sorted(evidence.items()))


def _alert_view(alert: AlertRow, names: dict[int, str], lang: Lang) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "kind_name": _named(ALERT_NAMES, alert.kind, lang),
        "enterprise": alert.enterprise_name,
        "code_id": group_code_id(alert.code_id),
        "batch_no": alert.batch_no or alert.evidence.get("batch_no"),
        "serial": alert.serial,
        "words": evidence_words(alert, names, lang),
        "occurrences": alert.occurrences,
        "raised_at": local_time(alert.raised_at),
        "last_at": local_time(alert.last_at),
    }


async def alerts_page(request: Request) -> Response:
    """`/console/alerts?kind=&before=`: the newest first, a page at a time."""
    params = request.query_params
    query = checked(
        AlertQuery,
        {name: params[name] for name in ("kind", "before") if params.get(name)}
        | {"limit": ALERTS_PAGE},
    )
    lang = lang_of(request)
    async with connection(request) as conn:
        actor = await signed_in(request, conn)
        found = await operations.alerts(
            conn, actor, kind=query.kind, before=query.before, limit=query.limit + 1
        )
        shown = found[: query.limit]
        names = await _enterprise_names(conn, actor, shown)
    more = len(found) > query.limit and shown
    older = None
    if more:
        older = f"{PREFIX}/alerts?before={shown[-1].id}" + (
            f"&kind={query.kind}" if query.kind else ""
        )
    return page(
        request,
        "alerts.html",
        actor=actor,
        alerts=[_alert_view(a, names, lang) for a in shown],
        kinds=[(kind, _named(ALERT_NAMES, kind, lang)) for kind in ALERT_KINDS],
        values={"kind": query.kind or ""},
        kind=query.kind,
        paged=query.before is not None,
        older=older,
        regulator=actor.account.kind != "enterprise",
    )


ROUTES = [
    Route(f"{PREFIX}/items/{{serial}}", item_page, methods=["GET"]),
    Route(f"{PREFIX}/alerts", alerts_page, methods=["GET"]),
]
