"""Publishing: what a scan of a code shows, rendered once, when it changes.

`publish` stores a code's public record and renders every variant a scan can ask for —
HTML for each view and language, JSON, and an RFC 9264 linkset — in the caller's
transaction, with an outbox row the relay turns into Redis entries and an invalidation.
A status change of the code (suspend, reinstate, revoke) renders them again, so the
scan path only ever reads bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from codesvc import storage
from codesvc.codes import Code, group_code_id, scan_path
from codesvc.errors import NotFoundError
from codesvc.records import VIEWS, PublicRecord, parse_record, record_as_json
from codesvc.storage import Connection
from public_site.pages import LANGS, Lang
from public_site.scan_pages import render_revoked_page, render_scan_page

VARIANT_NAMES: tuple[str, ...] = (
    *(f"html:{view}:{lang}" for view in VIEWS for lang in LANGS),
    "json",
    "linkset",
)
_VIEW_TITLES = {
    "label": {"zh": "安全标签", "en": "Safety label"},
    "sds": {"zh": "安全技术说明书", "en": "Safety data sheet"},
    "transport": {"zh": "运输信息", "en": "Transport information"},
    "emergency": {"zh": "应急处置", "en": "Emergency response"},
}


def html_variant(view: str, lang: Lang) -> str:
    return f"html:{view}:{lang}"


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


async def publish(
    conn: Connection,
    code_id: str,
    record: PublicRecord | Mapping[str, Any],
    *,
    public_base_url: str,
) -> int:
    """Make `record` what scans of the code show; returns the new version.

    Raises `RecordError` naming every bad field of a record given as data, and
    `NotFoundError` for a code that was never issued. Nothing is visible to scans until
    the caller's transaction commits.
    """
    parsed = record if isinstance(record, PublicRecord) else parse_record(record)
    as_json = record_as_json(parsed)
    async with conn.transaction():
        code = await storage.fetch_code_for_update(conn, code_id)
        if code is None:
            raise NotFoundError(f"no code {code_id}")
        version = await storage.next_variant_version(conn, code_id)
        await storage.save_published_record(
            conn,
            code_id,
            version=version,
            revision=parsed.revision,
            approved_on=parsed.approved_on,
            record=as_json,
        )
        await _render_and_store(conn, code, as_json, version, public_base_url)
    return version


async def refresh_variants(conn: Connection, code_id: str, *, public_base_url: str) -> int:
    """Render the code's variants again (after its status changed, or the templates did);
    returns the new version."""
    async with conn.transaction():
        code = await storage.fetch_code_for_update(conn, code_id)
        if code is None:
            raise NotFoundError(f"no code {code_id}")
        published = await storage.fetch_published_record(conn, code_id)
        version = await storage.next_variant_version(conn, code_id)
        await _render_and_store(
            conn, code, None if published is None else published.record, version, public_base_url
        )
    return version


async def rerender_all(conn: Connection, *, public_base_url: str, batch: int = 500) -> int:
    """Render every code's variants again (after the templates changed, or the public base
    URL); each code in its own transaction, and the relay takes them to Redis as for a
    publish. Returns how many codes."""
    done, after = 0, ""
    while page := await storage.rendered_code_ids(conn, after=after, limit=batch):
        for code_id in page:
            await refresh_variants(conn, code_id, public_base_url=public_base_url)
        done, after = done + len(page), page[-1]
    return done


async def _render_and_store(
    conn: Connection,
    code: storage.CodeRow,
    record: dict[str, Any] | None,
    version: int,
    public_base_url: str,
) -> None:
    issued = Code(code.code_id, code.key_id, code.signature)
    change = await storage.fetch_latest_status_change(conn, code.code_id)
    bodies = render_variants(
        issued,
        record,
        status=code.status,
        status_reason=change.reason,
        status_changed_on=change.changed_at.date().isoformat(),
        version=version,
        public_base_url=public_base_url,
    )
    await storage.replace_variants(
        conn, code.code_id, version, {name: (body, etag_of(body)) for name, body in bodies.items()}
    )


def render_variants(
    code: Code,
    record: dict[str, Any] | None,
    *,
    status: str,
    status_reason: str,
    status_changed_on: str,
    version: int,
    public_base_url: str,
) -> dict[str, bytes]:
    """Every variant of the code in its current state; none for an active code without a record."""
    grouped = group_code_id(code.code_id)
    anchor = public_base_url + scan_path(code)
    if status == "revoked":
        product = None if record is None else record.get("product_name")
        html = {
            lang: render_revoked_page(
                lang=lang,
                code_id=grouped,
                product_name=product,
                revoked_on=status_changed_on,
                reason=status_reason,
            ).encode()
            for lang in LANGS
        }
        variants = {html_variant(v, lang): html[lang] for v in VIEWS for lang in LANGS}
        summary: dict[str, Any] = {"revoked_on": status_changed_on, "reason": status_reason}
    elif record is None:
        return {}
    else:
        suspended = status_reason if status == "suspended" else None
        variants = {
            html_variant(view, lang): render_scan_page(
                record, view=view, lang=lang, code_id=grouped, suspended_reason=suspended
            ).encode()
            for view in VIEWS
            for lang in LANGS
        }
        summary = {"record": record}
        if status == "suspended":
            summary["suspended"] = {"since": status_changed_on, "reason": status_reason}
    document = {"code_id": code.code_id, "status": status, "version": version, **summary}
    variants["json"] = _json_bytes(document)
    variants["linkset"] = _json_bytes(linkset(anchor))
    return variants


def linkset(anchor: str) -> dict[str, Any]:
    """RFC 9264: the scan URL as anchor, a link for each view in each language and the JSON."""
    links: list[dict[str, Any]] = [
        {
            "href": f"{anchor}?view={view}&lang={lang}",
            "type": "text/html",
            "hreflang": [lang],
            "title": _VIEW_TITLES[view][lang],
        }
        for view in VIEWS
        for lang in LANGS
    ]
    links.append({"href": anchor, "type": "application/json", "title": "record"})
    return {"linkset": [{"anchor": anchor, "describedby": links}]}


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
