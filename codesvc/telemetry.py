"""Scan counts, and scan flags: counted in each resolver process, moved to Redis every few
seconds, and from Redis into PostgreSQL (`scan_counts`, `scan_flags`) by the relay.

Flags are what a scan of a batch or item saw that the registry turns into alerts (the
resolver never writes PostgreSQL per scan): `ScanFlag` names them.

What a crash can lose, at most: the counts a resolver process gathered since its last
flush (`FLUSH_SECONDS`), and what Redis held but the relay had not moved yet if Redis
itself is lost. A relay crash between adding to PostgreSQL and deleting the Redis copy
counts that batch twice. Counts are telemetry, not records: receipts of shipments are
written by the registry, acknowledged only once stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

import asyncpg
import redis.asyncio as aioredis

from codesvc import storage
from codesvc.service import BACKEND_ERRORS

FLUSH_SECONDS = 5.0
MAX_PENDING = 100_000  # distinct (code, day, view) held while Redis is unreachable
_DAY_KEY = "sc:scans:"
_DRAINING = ":draining:"

_log = logging.getLogger(__name__)


class ScanCounter:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self.dropped = 0  # scans not counted because too many were pending

    def add(self, code_id: str, view: str, day: date | None = None) -> None:
        key = (code_id, (day or date.today()).isoformat(), view)
        if key not in self._counts and len(self._counts) >= MAX_PENDING:
            self.dropped += 1
            return
        self._counts[key] += 1

    async def flush(self, client: aioredis.Redis) -> int:
        """Move the counts to Redis; on failure they stay here for the next flush."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            async with client.pipeline(transaction=False) as pipe:
                for (code_id, day, view), scans in counts.items():
                    pipe.hincrby(f"{_DAY_KEY}{day}", f"{code_id}|{view}", scans)
                await pipe.execute()
        except BACKEND_ERRORS:
            self._counts.update(counts)
            return 0
        return sum(counts.values())

    async def flush_every(self, client: aioredis.Redis, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
            await self.flush(client)


async def move_counts_to_postgres(client: aioredis.Redis, pool: asyncpg.Pool) -> int:
    """The relay's half: each day's Redis counts added to `scan_counts`; returns scans moved.

    A day's hash is first renamed aside, so resolvers keep counting into a fresh one
    while it is moved; one left aside by a crashed relay is moved on the next call.
    """
    moved = 0
    async for name, day in _days_set_aside(client, _DAY_KEY):
        fields = await client.hgetall(name)
        rows = []
        for item, scans in fields.items():
            text = item.decode() if isinstance(item, bytes) else item
            code_id, _, view = text.partition("|")
            rows.append((code_id, day, view, int(scans)))
        async with pool.acquire() as conn, conn.transaction():
            await storage.add_scan_counts(conn, rows)
        await client.delete(name)
        moved += sum(r[3] for r in rows)
    return moved


async def _days_set_aside(client: aioredis.Redis, prefix: str) -> AsyncIterator[tuple[str, date]]:
    """Each day's hash under `prefix` renamed aside (or left aside by a crashed relay), with
    its day; the caller moves it and deletes it."""
    async for key in client.scan_iter(match=f"{prefix}*", count=100):
        name = key.decode() if isinstance(key, bytes) else key
        if _DRAINING not in name:
            aside = f"{name}{_DRAINING}{uuid.uuid4().hex}"
            try:
                await client.rename(name, aside)
            except aioredis.ResponseError:
                continue  # gone since the scan: moved by someone else
            name = aside
        yield name, date.fromisoformat(name[len(prefix) : len(prefix) + 10])


# --- scan flags --------------------------------------------------------------------------


class ScanFlag(StrEnum):
    AFTER_END = "after_end"  # a consumed or destroyed item scanned again
    NOT_ISSUED = "not_issued"  # a serial never issued, under a genuine code
    OTHER_BATCH = "other_batch"  # a serial issued for another code or batch
    BATCH_SCANS = "batch_scans"  # a scan of a declared batch or of an item in it


@dataclass(slots=True)
class _Seen:
    scans: int
    first_at: float  # Unix time
    last_at: float


_FLAG_KEY = "sc:flags:"
_FLAGS_PER_CALL = 500  # entries per script call: Redis stays free for scans between them
# KEYS[1] the day's hash; ARGV: per flag its field, scans, first and last seen (Unix
# time). Scans are summed, the earliest first and the latest last kept, whichever
# resolver process saw them.
_ADD_FLAGS = """
for i = 1, #ARGV, 4 do
  local field = ARGV[i]
  redis.call('HINCRBY', KEYS[1], field .. '|n', ARGV[i + 1])
  local first = tonumber(redis.call('HGET', KEYS[1], field .. '|first'))
  if first == nil or first > tonumber(ARGV[i + 2]) then
    redis.call('HSET', KEYS[1], field .. '|first', ARGV[i + 2])
  end
  local last = tonumber(redis.call('HGET', KEYS[1], field .. '|last'))
  if last == nil or last < tonumber(ARGV[i + 3]) then
    redis.call('HSET', KEYS[1], field .. '|last', ARGV[i + 3])
  end
end
return 1
"""


class ScanFlags:
    """Flags counted in this process by (kind, code, batch, serial, day), until flushed.

    Bounded like `ScanCounter`: past `MAX_PENDING` distinct flags a new one is dropped
    (and counted in `dropped`), so a flood of made-up serials cannot grow memory.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str, str, str], _Seen] = {}
        self.dropped = 0

    def add(
        self,
        kind: ScanFlag,
        code_id: str,
        batch_no: str,
        serial: str | None = None,
        at: float | None = None,
    ) -> None:
        now = time.time() if at is None else at
        day = datetime.fromtimestamp(now).date().isoformat()
        key = (day, kind.value, code_id, batch_no, serial or "")
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= MAX_PENDING:
                self.dropped += 1
                return
            self._seen[key] = _Seen(1, now, now)
            return
        seen.scans += 1
        seen.first_at = min(seen.first_at, now)
        seen.last_at = max(seen.last_at, now)

    async def flush(self, client: aioredis.Redis) -> int:
        """Move the flags to Redis; on failure they stay here for the next flush (a
        partial failure may count some twice: flags are telemetry)."""
        seen, self._seen = self._seen, {}
        if not seen:
            return 0
        by_day: dict[str, list[str | int | float]] = {}
        for (day, kind, code_id, batch_no, serial), entry in seen.items():
            by_day.setdefault(day, []).extend(
                [
                    f"{kind}|{code_id}|{batch_no}|{serial}",
                    entry.scans,
                    entry.first_at,
                    entry.last_at,
                ]
            )
        script = client.register_script(_ADD_FLAGS)
        try:
            async with client.pipeline(transaction=False) as pipe:
                for day, arguments in by_day.items():
                    for start in range(0, len(arguments), 4 * _FLAGS_PER_CALL):
                        chunk = arguments[start : start + 4 * _FLAGS_PER_CALL]
                        await script(keys=[f"{_FLAG_KEY}{day}"], args=chunk, client=pipe)
                await pipe.execute()
        except BACKEND_ERRORS:
            for key, entry in seen.items():
                self._merge(key, entry)
            return 0
        return sum(entry.scans for entry in seen.values())

    def _merge(self, key: tuple[str, str, str, str, str], entry: _Seen) -> None:
        held = self._seen.get(key)
        if held is None:
            if len(self._seen) < MAX_PENDING:
                self._seen[key] = entry
            else:
                self.dropped += entry.scans
            return
        held.scans += entry.scans
        held.first_at = min(held.first_at, entry.first_at)
        held.last_at = max(held.last_at, entry.last_at)

    async def flush_every(self, client: aioredis.Redis, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
            await self.flush(client)


async def move_flags_to_postgres(client: aioredis.Redis, pool: asyncpg.Pool) -> int:
    """The relay's half: each day's Redis flags added to `scan_flags`; returns scans moved.
    What a crash may do is what it may do to counts (`move_counts_to_postgres`)."""
    moved = 0
    async for name, day in _days_set_aside(client, _FLAG_KEY):
        fields = await client.hgetall(name)
        # Each flag is three fields: "{flag}|n", "{flag}|first", "{flag}|last".
        gathered: dict[str, dict[str, float]] = {}
        for field, value in fields.items():
            flag, _, part = _text(field).rpartition("|")
            gathered.setdefault(flag, {})[part] = float(_text(value))
        rows = []
        for flag, parts in gathered.items():
            kind, code_id, batch_no, serial = flag.split("|")
            last = parts.get("last", 0.0)
            first = parts.get("first", last)
            rows.append(
                (kind, code_id, batch_no, serial or None, day, int(parts.get("n", 0)),
                 datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
            )  # fmt: skip
        rows = [row for row in rows if row[5] > 0]
        if rows:
            async with pool.acquire() as conn, conn.transaction():
                await storage.add_scan_flags(conn, rows)
        await client.delete(name)
        moved += sum(row[5] for row in rows)
    return moved


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
