"""Scan counts: counted in each resolver process, moved to Redis every few seconds, and
from Redis into PostgreSQL (`scan_counts`) by the relay.

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
import uuid
from collections import Counter
from datetime import date

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
    async for key in client.scan_iter(match=f"{_DAY_KEY}*", count=100):
        name = key.decode() if isinstance(key, bytes) else key
        if _DRAINING not in name:
            aside = f"{name}{_DRAINING}{uuid.uuid4().hex}"
            try:
                await client.rename(name, aside)
            except aioredis.ResponseError:
                continue  # gone since the scan: moved by someone else
            name = aside
        day = date.fromisoformat(name[len(_DAY_KEY) : len(_DAY_KEY) + 10])
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
