"""Notices (通知公告): an admin publishes one to its own unit and every unit below it, and to
the enterprises there when it says so; readers mark it read; the admins of the publishing
unit and of the units above it read the receipts.

Who a notice reaches: a regulator whose unit is the publishing unit or below it, and, when
the notice is meant for enterprises too, an enterprise account whose county or chemical
park is. Who may open one: those it reaches, and the regulators above the publishing unit,
who oversee what is published in their jurisdiction as everything else there (and whose
admins read its receipts). Anyone else is told there is no such notice (404), as for ids
out of scope everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codesvc.storage import Connection
from registry_api.accounts.operations import Actor, audit
from registry_api.accounts.rules import Jurisdiction, Role
from registry_api.audit import changed_fields
from registry_api.errors import Forbidden, NotFound
from registry_api.oversight import storage as db
from registry_api.oversight.forms import NoticeForm, NoticeListQuery, ReceiptsQuery
from registry_api.oversight.storage import Notice, NoticeReach, NoticeReader

# --- rules --------------------------------------------------------------------------------


def units_on_the_way_up(paths: Iterable[str]) -> list[str]:
    """The ids of every unit on the paths (`000000/140000/140100`): the units whose notices
    reach a reader at the end of one of them."""
    return sorted({unit for path in paths for unit in path.split("/")})


def at_or_below(path: str, top: str) -> bool:
    """Whether the unit at `path` is the unit at `top` or below it."""
    return path == top or path.startswith(top + "/")


def reaches(notice: Notice, reader_paths: list[str], *, enterprise: bool) -> bool:
    """Whether the notice reaches a reader whose unit (a regulator's), or county and park (an
    enterprise's), are at `reader_paths`."""
    if enterprise and not notice.to_enterprises:
        return False
    return any(at_or_below(path, notice.unit_path) for path in reader_paths)


def oversees(actor: Actor, notice: Notice) -> bool:
    """Whether the actor is a regulator of the notice's unit or of a unit above it."""
    return actor.unit is not None and at_or_below(notice.unit_path, actor.unit.path)


def may_open(notice: Notice, actor: Actor, reader_paths: list[str]) -> bool:
    """Those the notice reaches, and the regulators above its unit."""
    return reaches(notice, reader_paths, enterprise=actor.unit is None) or oversees(actor, notice)


def reads_receipts(actor: Actor, notice: Notice) -> bool:
    """The admins of the notice's unit and of the units above it."""
    return actor.account.role is Role.ADMIN and oversees(actor, notice)


def publisher_unit(actor: Actor) -> Jurisdiction:
    """The unit an admin publishes from, its own; anyone but an admin: `Forbidden`."""
    if actor.unit is None or actor.account.role is not Role.ADMIN:
        raise Forbidden("only admins publish notices, to their own unit and the units below")
    return actor.unit


# --- operations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticePage:
    notices: list[Notice]  # the newest first, each with when the reader read it
    next_before: int | None  # the `before` of the next (older) page, when there is one
    unread: int  # how many of all the notices reaching the reader it has not read


@dataclass(frozen=True, slots=True)
class Receipts:
    notice: Notice
    readers: list[NoticeReader]  # the latest reading first
    reach: NoticeReach
    next_before: int | None  # the `before` of the next (older) page of readers


async def _reader_paths(conn: Connection, actor: Actor) -> list[str]:
    """Where a reader is: a regulator's unit, an enterprise account's county and park."""
    if actor.unit is not None:
        return [actor.unit.path]
    if actor.account.enterprise_id is None:
        return []
    return await db.fetch_enterprise_unit_paths(conn, actor.account.enterprise_id)


async def publish(conn: Connection, actor: Actor, form: NoticeForm) -> Notice:
    """Publish `form` from the admin's own unit: it reaches that unit and every unit below it,
    and their enterprises when `form.to_enterprises`. Anyone but an admin: `Forbidden`."""
    unit = publisher_unit(actor)
    async with conn.transaction():
        notice_id = await db.insert_notice(
            conn,
            unit_id=unit.id,
            author_id=actor.account.id,
            title=form.title,
            body=form.body,
            to_enterprises=form.to_enterprises,
        )
        # The text is in the log too: the log is what shows it was never changed afterwards.
        await audit(
            conn,
            actor,
            "notice.publish",
            "notice",
            str(notice_id),
            changed_fields(
                None,
                {
                    "unit_id": unit.id,
                    "title": form.title,
                    "body": form.body,
                    "to_enterprises": form.to_enterprises,
                },
            ),
        )
        published = await db.fetch_notice(conn, notice_id, reader_id=actor.account.id)
    assert published is not None
    return published


async def notices_for(conn: Connection, actor: Actor, query: NoticeListQuery) -> NoticePage:
    """The notices that reach the reader, the newest first, a page of `query.limit` older
    than `query.before` (only the unread ones with `query.unread`), and how many of all of
    them it has not read."""
    units = units_on_the_way_up(await _reader_paths(conn, actor))
    enterprises_only = actor.unit is None
    found = await db.fetch_notices(
        conn,
        units,
        enterprises_only=enterprises_only,
        reader_id=actor.account.id,
        unread=query.unread,
        before=query.before,
        limit=query.limit + 1,  # one more: whether there is a next page
    )
    shown = found[: query.limit]
    unread = await db.count_unread_notices(
        conn, units, enterprises_only=enterprises_only, reader_id=actor.account.id
    )
    more = len(found) > query.limit
    return NoticePage(shown, shown[-1].id if more and shown else None, unread)


async def notice(conn: Connection, actor: Actor, notice_id: int) -> Notice:
    """A notice the reader may open, with when it read it; `NotFound` else."""
    found = await db.fetch_notice(conn, notice_id, reader_id=actor.account.id)
    if found is None or not may_open(found, actor, await _reader_paths(conn, actor)):
        raise NotFound(f"no notice {notice_id}")
    return found


async def mark_read(conn: Connection, actor: Actor, notice_id: int) -> Notice:
    """The reader's receipt of a notice it may open; marking it again keeps the first time."""
    async with conn.transaction():
        await notice(conn, actor, notice_id)
        await db.insert_receipt(conn, notice_id, actor.account.id)
        read = await db.fetch_notice(conn, notice_id, reader_id=actor.account.id)
    assert read is not None
    return read


async def receipts(
    conn: Connection, actor: Actor, notice_id: int, query: ReceiptsQuery
) -> Receipts:
    """Who read the notice and when (a page of `query.limit` older than `query.before`),
    and how many of the accounts it reaches have not: for the admins of its unit and the
    units above. Others who may open it: `Forbidden`."""
    found = await notice(conn, actor, notice_id)
    if not reads_receipts(actor, found):
        raise Forbidden("the receipts are for the admins of the publishing unit and above")
    readers = await db.fetch_readers(conn, notice_id, before=query.before, limit=query.limit + 1)
    reach = await db.count_reach(
        conn, notice_id, found.unit_path, to_enterprises=found.to_enterprises
    )
    shown = readers[: query.limit]
    more = len(readers) > query.limit
    return Receipts(found, shown, reach, shown[-1].receipt_id if more and shown else None)
