"""Answering a scan: from the path to the right pre-rendered bytes, with the right status.

Junk is refused before any I/O. The presented code is compared with the issued one in
constant time (Ed25519 is deterministic, so a genuine code matches byte for byte); a
mismatch gets the "not a genuine code" page and never the product's data. The one
exception is a code signed by a revoked key, which the signature is checked against: a
label printed before the key was revoked still shows the hazard data, under a warning that
the code is withdrawn (`codesvc.revoked_keys`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from codesvc.codes import (
    CODE_ID_LENGTH,
    KEY_ID_LENGTH,
    CodeFormatError,
    ScanTarget,
    group_code_id,
    parse_code_id,
    parse_scan_path,
)
from codesvc.item_states import END_STATES
from codesvc.lifecycle_cache import LifecycleCache
from codesvc.lifecycle_facts import item_facts, lifecycle_json
from codesvc.limits import Limit, spend
from codesvc.metrics import ResolverMetrics
from codesvc.negotiation import MEDIA_TYPES, choose_media
from codesvc.publishing import html_variant
from codesvc.records import VIEWS
from codesvc.revoked_keys import RevokedKeys
from codesvc.scancache import BackendUnavailable, ScanCache
from codesvc.serials import parse_serial
from codesvc.service import BACKEND_ERRORS, Resources, ServiceConfig
from codesvc.telemetry import ScanCounter, ScanFlag, ScanFlags
from public_site.pages import Lang, negotiate_lang, render_error_page
from public_site.scan_pages import (
    SCAN_CONTEXT_MARKER,
    ScanLifecycle,
    mark_view_links_typed,
    render_not_genuine_item_page,
    render_not_genuine_page,
    render_scan_context,
)

VARY = b"Accept, Accept-Language"
# Browsers may keep a scan page but must ask again each time (a cheap 304 when unchanged):
# a revocation has to reach the next scan.
CACHE_CONTROL = b"public, no-cache"


@dataclass(frozen=True, slots=True)
class ResolverState:
    cache: ScanCache
    counter: ScanCounter
    public_base_url: str
    revoked: RevokedKeys
    lifecycle: LifecycleCache
    flags: ScanFlags


@asynccontextmanager
async def open_resolver_state(
    config: ServiceConfig, resources: Resources, metrics: ResolverMetrics
) -> AsyncIterator[ResolverState]:
    """The scan cache and counters, with their background tasks (invalidations, flushes)."""
    cache = ScanCache(
        resources.pool,
        resources.redis,
        l1_size=config.l1_cache_size,
        l1_ttl=config.l1_cache_ttl_seconds,
        negative_ttl=config.negative_cache_ttl_seconds,
        redis_ttl=config.redis_record_ttl_seconds,
        observe=metrics.observe_layer,
    )
    lifecycle = LifecycleCache(
        resources.pool,
        resources.redis,
        l1_size=config.l1_cache_size,
        l1_ttl=config.l1_cache_ttl_seconds,
        negative_ttl=config.negative_cache_ttl_seconds,
        redis_ttl=config.redis_record_ttl_seconds,
    )
    counter = ScanCounter()
    flags = ScanFlags()
    revoked = RevokedKeys()
    # Known before the first scan: a revoked key's codes never pass as genuine.
    with contextlib.suppress(*BACKEND_ERRORS):
        await revoked.refresh(resources.pool)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(cache.follow_invalidations(stop, also=[lifecycle])),
        asyncio.create_task(counter.flush_every(resources.redis, stop)),
        asyncio.create_task(flags.flush_every(resources.redis, stop)),
        asyncio.create_task(revoked.follow(resources.pool, stop)),
    ]
    # Serve once invalidations are followed (subscribing drops L1), unless Redis is down.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cache.subscribed.wait(), 1.0)
    try:
        yield ResolverState(cache, counter, config.public_base_url, revoked, lifecycle, flags)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await cache.close()
        await lifecycle.close()
        await counter.flush(resources.redis)  # what is counted at shutdown is kept
        await flags.flush(resources.redis)


def request_lang(request: Request) -> Lang:
    """The reader's language: `?lang=`, else Accept-Language, else Chinese."""
    return negotiate_lang(request.query_params.get("lang"), request.headers.get("accept-language"))


@functools.lru_cache(maxsize=512)
def _page(kind: str, status: int, lang: Lang, detail: str | None) -> bytes:
    """Error pages are few (the details come from a bounded set of messages): render once."""
    if kind == "not_genuine":
        return render_not_genuine_page(lang).encode()
    if kind == "not_genuine_item":
        return render_not_genuine_item_page(lang).encode()
    text = detail or _DETAILS.get(kind, {}).get(lang)
    return render_error_page(status, lang, detail=text).encode()


_DETAILS: dict[str, dict[Lang, str]] = {
    "unknown": {
        "zh": "登记系统中没有这个安全码。请核对编号，或向供应商询问。",
        "en": "The registry has no such code. Check the number, or ask the supplier.",
    },
    "unpublished": {
        "zh": "此安全码尚无经审核发布的安全信息。",
        "en": "This code has no approved safety information published yet.",
    },
    "bad_view": {"zh": "没有这个视图。", "en": "There is no such view."},
    "not_acceptable": {
        "zh": "可提供 text/html、application/json 或 application/linkset+json。",
        "en": "Available as text/html, application/json or application/linkset+json.",
    },
}


@dataclass(frozen=True, slots=True)
class ScanAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


_NO_STORE = (b"cache-control", b"no-store")
_HTML_TYPE = (b"content-type", b"text/html; charset=utf-8")


def _error(kind: str, status: int, lang: Lang, detail: str | None = None) -> ScanAnswer:
    return ScanAnswer(status, [_HTML_TYPE, _NO_STORE], _page(kind, status, lang, detail))


def error_page(kind: str, status: int, lang: Lang, detail: str | None = None) -> HTMLResponse:
    """An error page of the resolver (never cached by browsers)."""
    body = _page(kind, status, lang, detail)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@functools.lru_cache(maxsize=4096)
def _scan_context(
    lang: Lang,
    typed: bool,
    batch: str | None,
    serial: str | None,
    withdrawn: bool = False,
    lifecycle: ScanLifecycle | None = None,
) -> tuple[bytes, str]:
    """The context spliced into a page, and what it adds to the page's ETag (so a page
    whose recall, item state or alert changed is never answered 304)."""
    context = render_scan_context(
        lang, typed=typed, batch=batch, serial=serial, withdrawn=withdrawn, lifecycle=lifecycle
    )
    return context, hashlib.sha256(context).hexdigest()[:8]


async def answer_scan(
    state: ResolverState,
    path: str,
    query: Mapping[str, str],
    *,
    accept: str | None,
    accept_language: str | None,
    if_none_match: str | None,
) -> ScanAnswer:
    """Everything a scan answers, decided from the request's path, query and headers."""
    lang = negotiate_lang(query.get("lang"), accept_language)
    try:
        target = parse_scan_path(path)
        # A mistyped serial is caught by its check character, before any lookup.
        serial = None if target.serial is None else parse_serial(target.serial)
    except CodeFormatError as exc:  # SerialError among them
        return _error("bad_code", 400, lang, detail=str(exc))
    view = query.get("view", "label")
    if view not in VIEWS:
        return _error("bad_view", 400, lang)
    media = choose_media(accept)
    if media is None:
        return _error("not_acceptable", 406, lang)
    code_id = target.code_id
    try:
        found = await state.cache.lookup(
            code_id, html_variant(view, lang) if media == "html" else media
        )
    except BackendUnavailable:
        return _error("unavailable", 503, lang)
    if found is None:
        return _error("unknown", 404, lang)
    entry, variant = found
    issued = hmac.compare_digest(entry.code_text.encode(), target.text.encode())
    # Signed by a revoked key: issued so (re-signing has not reached it yet), or re-signed
    # since and presented as printed before. Either way never "genuine", and never
    # without the hazard data.
    withdrawn = _key_id(target) in state.revoked.keys and (
        issued or _signed_by_revoked_key(state.revoked, target)
    )
    if not (issued or withdrawn):
        return _error("not_genuine", 404, lang)
    if variant is None:
        return _error("unpublished", 404, lang)
    lifecycle = None
    if target.batch is not None and entry.status != "revoked":
        found_lifecycle = await _batch_and_item(state, code_id, target.batch, serial, lang)
        if found_lifecycle is None:
            return _error("not_genuine_item", 404, lang)
        lifecycle = found_lifecycle
    state.counter.add(code_id, view if media == "html" else media)

    body, etag = variant.body, variant.etag
    if media == "html":
        typed = query.get("src") == "typed"
        context, suffix = _scan_context(lang, typed, target.batch, serial, withdrawn, lifecycle)
        body = body.replace(SCAN_CONTEXT_MARKER, context, 1)
        if typed:
            body = mark_view_links_typed(body)
        etag = f'{etag[:-1]}-{suffix}"'
    elif media == "json":
        if withdrawn:
            body, etag = _withdrawn_json(body, _key_id(target)), f'{etag[:-1]}-withdrawn"'
        if lifecycle is not None:
            addition = lifecycle_json(target.batch, serial, lifecycle)
            body = body[:-1] + addition + b"}"  # the document is an object: add its fields
            etag = f'{etag[:-1]}-{hashlib.sha256(addition).hexdigest()[:8]}"'
    headers = [
        (b"etag", etag.encode()),
        (b"vary", VARY),
        (b"cache-control", CACHE_CONTROL),
        (b"link", _link_header(state.public_base_url, entry.code_text)),
        (b"content-language", lang.encode() if media == "html" else b"zh"),
    ]
    if etag_matches(if_none_match, etag):
        return ScanAnswer(304, headers, b"")
    headers.append((b"content-type", MEDIA_TYPES[media].encode()))
    return ScanAnswer(410 if entry.status == "revoked" else 200, headers, body)


async def _batch_and_item(
    state: ResolverState, code_id: str, batch_no: str, serial: str | None, lang: Lang
) -> ScanLifecycle | None:
    """What the page shows of the batch and item the path names, with the scan's flags
    counted; None for a serial not issued for this code and batch (never the data)."""
    try:
        batch, item = await state.lifecycle.scan(code_id, batch_no, serial)
    except BackendUnavailable:
        # The code is genuine and its hazard data at hand: shown, claiming nothing of
        # the batch or item.
        return ScanLifecycle(None, checked=False)
    if serial is not None:
        if item is None:
            state.flags.add(ScanFlag.NOT_ISSUED, code_id, batch_no, serial)
            return None
        if item.code_id != code_id or item.batch_no != batch_no:
            state.flags.add(ScanFlag.OTHER_BATCH, code_id, batch_no, serial)
            return None
        if item.state in END_STATES:
            state.flags.add(ScanFlag.AFTER_END, code_id, batch_no, serial)
    if batch is not None:
        state.flags.add(ScanFlag.BATCH_SCANS, code_id, batch_no)
    return ScanLifecycle(batch, None if item is None else item_facts(item, lang))


def _key_id(target: ScanTarget) -> str:
    return target.text[CODE_ID_LENGTH : CODE_ID_LENGTH + KEY_ID_LENGTH]


def _signed_by_revoked_key(revoked: RevokedKeys, target: ScanTarget) -> bool:
    try:
        code = target.code
    except CodeFormatError:
        return False
    return revoked.signed_by_revoked_key(code)


def _withdrawn_json(body: bytes, key_id: str) -> bytes:
    """The record's JSON, saying that the code presented was withdrawn (rare: re-encoded
    per request rather than stored)."""
    document = json.loads(body)
    document["signature"] = {
        "status": "withdrawn",
        "key_id": key_id,
        "detail": "the key that signed this code was revoked; the label is being reprinted",
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=65536)
def _link_header(public_base_url: str, code_text: str) -> bytes:
    canonical = f"{public_base_url}/C/{code_text}"
    return f'<{canonical}>; rel="linkset"; type="application/linkset+json"'.encode()


async def scan_methods(_request: Request) -> Response:
    """The router's entry for /C/ paths, there so other methods get 405 with Allow: GET
    and HEAD are answered by `ScanFastPath` before routing, and never reach it."""
    raise RuntimeError("ScanFastPath must be installed in front of the resolver's router")


class ScanFastPath:
    """Answers GET and HEAD scans straight from ASGI, before routing and Request objects.

    Scans are nearly all of the resolver's traffic; this saves them the framework's
    per-request objects. Everything else (and other methods on /C/, which get 405 from
    the router) passes through. `security_headers` go on every answer it sends.
    """

    def __init__(
        self, app: ASGIApp, security_headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        self.app = app
        self.security_headers = security_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path[:3] not in ("/C/", "/c/") or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        wanted: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED_HEADERS:
                wanted[name] = value.decode("latin-1")
        raw_query = scope["query_string"]
        query = (
            dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
            if raw_query
            else {}
        )
        answer = await answer_scan(
            scope["state"]["resolver"],
            path,
            query,
            accept=wanted.get(b"accept"),
            accept_language=wanted.get(b"accept-language"),
            if_none_match=wanted.get(b"if-none-match"),
        )
        headers = [
            (b"content-length", str(len(answer.body)).encode()),
            *answer.headers,
            *self.security_headers,
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else answer.body
        await send({"type": "http.response.body", "body": body})


_WANTED_HEADERS = frozenset({b"accept", b"accept-language", b"if-none-match"})


async def lookup(request: Request, *, limit: Limit | None = None) -> Response:
    """A code_id typed by a person (printed under the QR) -> 303 to its page, marked typed.

    `limit` (None: none) counts well-formed lookups per client address; past it, a 429
    page says how long to wait. Uncounted while Redis is down: the data must stay reachable.
    """
    lang = request_lang(request)
    typed = request.query_params.get("id", "")
    try:
        code_id = parse_code_id(typed)
    except CodeFormatError as exc:
        return _typed_error(400, lang, str(exc), typed)
    if limit is not None:
        resources: Resources = request.state.resources
        address = request.client.host if request.client else "unknown"
        wait = await spend(resources.redis, limit, address)
        if wait is not None:
            detail = _WAIT[lang].format(seconds=wait)
            return _typed_error(429, lang, detail, typed, {"Retry-After": str(wait)})
    state: ResolverState = request.state.resolver
    try:
        found = await state.cache.lookup(code_id, "json")
    except BackendUnavailable:
        return error_page("unavailable", 503, lang)
    if found is None:
        detail = f"{group_code_id(code_id)}: {_DETAILS['unknown'][lang]}"
        return _typed_error(404, lang, detail, typed)
    entry, _ = found
    return RedirectResponse(f"/C/{entry.code_text}?src=typed&lang={lang}", status_code=303)


_WAIT: dict[Lang, str] = {"zh": "请 {seconds} 秒后再试。", "en": "Try again in {seconds} seconds."}


def _typed_error(
    status: int, lang: Lang, detail: str, typed: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """A lookup that found nothing (or came too often): the form keeps what was typed, in
    either language."""
    page = render_error_page(status, lang, detail=detail, typed=typed[:40])
    return HTMLResponse(
        page, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for GET)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
