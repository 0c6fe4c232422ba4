"""The relay: copies published variants from PostgreSQL's outbox to Redis, announces each
change so every resolver drops its copy, drops the batches and items that changed
(`lifecycle_outbox`) from Redis and announces them too, and moves scan counts and flags
into PostgreSQL.

One relay is active per deployment: it holds a PostgreSQL advisory lock on a connection
of its own, and others wait on standby until that connection goes away. An outbox row
is deleted only in the transaction that copied it, after Redis took it, so a crash at
any point leaves the row to be copied again: nothing is lost, and the version check in
Redis makes a second copy harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from codesvc import storage
from codesvc.lifecycle_cache import drop_in_redis
from codesvc.scancache import INVALIDATION_CHANNEL, entry_from_row, store_in_redis
from codesvc.service import BACKEND_ERRORS
from codesvc.telemetry import move_counts_to_postgres, move_flags_to_postgres

_RELAY_LOCK = 0x5AFE_0E1A
_BATCH = 200
_POLL_SECONDS = 1.0  # outbox rows are noticed at once by NOTIFY; this is the fallback
_COUNTS_SECONDS = 10.0
_STANDBY_SECONDS = 2.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """Work the active relay does every `every_seconds` (the first time when it becomes
    active), given the pool: partitions made ahead, alerts read off scan flags. The jobs
    come from above codesvc (`safecode` wires the registry's), so codesvc knows none."""

    name: str
    every_seconds: float
    run: Callable[[asyncpg.Pool], Awaitable[object]]


class Relay:
    def __init__(
        self,
        database_url: str,
        pool: asyncpg.Pool,
        client: aioredis.Redis,
        *,
        redis_ttl: int,
        scheduled: Sequence[Scheduled] = (),
    ) -> None:
        self._database_url = database_url
        self._pool = pool
        self._redis = client
        self._redis_ttl = redis_ttl
        self._scheduled = tuple(scheduled)
        self.active = False

    async def run_scheduled(self, due: dict[str, float]) -> None:
        """Run each scheduled job whose time has come; `due` keeps when each is next due."""
        for job in self._scheduled:
            if time.monotonic() < due.get(job.name, 0.0):
                continue
            try:
                await job.run(self._pool)
            except BACKEND_ERRORS as exc:
                _log.warning(
                    "scheduled work failed, will retry",
                    extra={"fields": {"job": job.name, "error": str(exc)}},
                )
                continue
            due[job.name] = time.monotonic() + job.every_seconds

    async def drain(self) -> int:
        """Copy every waiting outbox row to Redis, and drop every batch and item the
        lifecycle outbox names; returns how many rows of either were handled."""
        handled = 0
        for drain_batch in (self._drain_batch, self._drain_lifecycle_batch):
            while True:
                batch = await drain_batch()
                handled += batch
                if batch < _BATCH:
                    break
        return handled

    async def _drain_batch(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await storage.claim_outbox(conn, _BATCH)
            if not rows:
                return 0
            for code_id in dict.fromkeys(code_id for _, code_id, _ in rows):
                entry_row = await storage.fetch_scan_entry(conn, code_id)
                if entry_row is None:
                    continue
                await store_in_redis(
                    self._redis, code_id, entry_from_row(entry_row), self._redis_ttl
                )
                await self._redis.publish(INVALIDATION_CHANNEL, code_id)
            await storage.delete_outbox(conn, [row_id for row_id, _, _ in rows])
            return len(rows)

    async def _drain_lifecycle_batch(self) -> int:
        # A recall must reach scans within a second: the rows are deleted in the
        # transaction that dropped their keys, so a crash leaves them to be done again.
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await storage.claim_lifecycle_outbox(conn, _BATCH)
            if not rows:
                return 0
            keys = list(dict.fromkeys(key for _, row_keys in rows for key in row_keys))
            await drop_in_redis(self._redis, keys)
            await storage.delete_lifecycle_outbox(conn, [row_id for row_id, _ in rows])
            return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set: active while holding the lock, on standby otherwise."""
        while not stop.is_set():
            try:
                await self._run_while_locked(stop)
            except BACKEND_ERRORS as exc:
                self.active = False
                _log.warning(
                    "relay lost its connection, retrying", extra={"fields": {"error": str(exc)}}
                )
                await _wait(stop, 1.0)

    async def _run_while_locked(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self._database_url, timeout=5)
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                await _wait(stop, _STANDBY_SECONDS)
                return
            wake = asyncio.Event()
            await conn.add_listener(storage.OUTBOX_CHANNEL, lambda *_: wake.set())
            self.active = True
            _log.info("relay active")
            counts_due = time.monotonic()
            jobs_due: dict[str, float] = {}
            while not stop.is_set() and not conn.is_closed():
                wake.clear()
                try:
                    await self.drain()
                    if time.monotonic() >= counts_due:
                        await move_counts_to_postgres(self._redis, self._pool)
                        await move_flags_to_postgres(self._redis, self._pool)
                        counts_due = time.monotonic() + _COUNTS_SECONDS
                    await self.run_scheduled(jobs_due)
                except BACKEND_ERRORS as exc:
                    _log.warning(
                        "relay pass failed, will retry", extra={"fields": {"error": str(exc)}}
                    )
                await _wait_any(stop, wake, _POLL_SECONDS)
        finally:
            self.active = False
            await conn.close()  # releases the lock for a standby relay


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
