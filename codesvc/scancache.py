"""The scan path's three layers: in-process LRU (L1), Redis (L2), PostgreSQL behind.

- L1 holds recently scanned codes for `l1_ttl` seconds, `l1_size` codes at most; Redis
  pub/sub tells every process to drop a code the moment it is republished.
- Redis holds, per code, a hash of the issued code, its status, its version and the
  pre-rendered variants: all of them when the relay wrote it (marked `complete`), the
  ones asked for when resolvers filled it after misses. Writes are version-checked: an
  older entry never overwrites a newer one, whoever writes.
- PostgreSQL is read on a miss for the one variant asked, once per (code, variant)
  however many requests miss it at once.
- Reads asked in one turn of the event loop go out together: one Redis pipeline, one
  PostgreSQL query (`codesvc.batching`).
- Unknown code_ids are remembered for `negative_ttl` seconds only, so a code issued a
  moment later is not hidden for long.

When Redis fails the path goes to PostgreSQL (and skips Redis for a second); when
PostgreSQL fails too, an expired L1 entry is served rather than nothing; with neither,
`BackendUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
import redis.asyncio as aioredis

from codesvc import storage
from codesvc.batching import TurnBatcher
from codesvc.codes import Code
from codesvc.errors import CodesvcError
from codesvc.service import BACKEND_ERRORS

REDIS_KEY_PREFIX = "sc:code:"
INVALIDATION_CHANNEL = "sc:invalidate"
_REDIS_PAUSE_SECONDS = 1.0  # after a Redis failure, go straight to PostgreSQL this long
_POSTGRES_TIMEOUT_SECONDS = 2.0
_MAX_PENDING = 512  # copies for Redis waiting at once, per process
_COPY_GATHER_SECONDS = 0.002  # how long copies gather before going out together
_MAX_BATCH = 256  # reads sent to Redis or PostgreSQL together

_log = logging.getLogger(__name__)

# KEYS[1] the code's hash; ARGV: version, ttl, then field, value pairs (version included).
# The relay's whole entries replace anything not newer.
_STORE_IF_NEWER = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if current > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# A resolver's one variant joins an entry of its version, replaces an older one, and
# gives way to a newer one.
_ADD_IF_NOT_OLDER = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local version = tonumber(ARGV[1])
if current > version then return 0 end
if current < version then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class BackendUnavailable(CodesvcError):
    """Neither Redis nor PostgreSQL could answer, and no copy was held in memory."""


@dataclass(frozen=True, slots=True)
class Variant:
    body: bytes
    etag: str


@dataclass(slots=True)
class CodeEntry:
    code_text: str  # the issued code, to compare with the presented one
    status: str
    version: int
    variants: dict[str, Variant] = field(default_factory=dict)
    # Every variant the code has is here (all of them, or none for an unpublished code):
    # a variant missing from a complete entry is not published.
    complete: bool = False
    expires_at: float = 0.0


def entry_from_row(row: storage.ScanEntryRow) -> CodeEntry:
    return CodeEntry(
        code_text=Code(row.code_id, row.key_id, row.signature).text,
        status=row.status,
        version=max((v.version for v in row.variants), default=0),
        variants={v.name: Variant(v.body, v.etag) for v in row.variants},
        complete=True,
    )


def _store_arguments(entry: CodeEntry, ttl: int) -> tuple[str, list[str | bytes | int]]:
    """The script that stores `entry` and its arguments after the key.

    A complete entry replaces what Redis holds; a partial one (variants read after
    misses) joins an entry of the same version. Neither overwrites a newer version.
    """
    fields: list[str | bytes | int] = [
        entry.version, ttl,
        "code", entry.code_text, "status", entry.status, "version", entry.version,
    ]  # fmt: skip
    if entry.complete:
        fields += ["complete", 1]
    for name, variant in entry.variants.items():
        fields += [name, variant.body, f"etag:{name}", variant.etag]
    return (_STORE_IF_NEWER if entry.complete else _ADD_IF_NOT_OLDER), fields


async def store_in_redis(client: aioredis.Redis, code_id: str, entry: CodeEntry, ttl: int) -> bool:
    """Write the entry unless Redis holds a newer version; True if written."""
    script, arguments = _store_arguments(entry, ttl)
    # EVALSHA, falling back to EVAL the first time: the script is not sent every time.
    written = await client.register_script(script)(
        keys=[REDIS_KEY_PREFIX + code_id], args=arguments
    )
    return bool(written)


Observer = Callable[[str], None]  # told which layer answered: l1, redis, postgres, ...


class ScanCache:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: aioredis.Redis,
        *,
        l1_size: int,
        l1_ttl: float,
        negative_ttl: float,
        redis_ttl: int,
        observe: Observer = lambda layer: None,
    ) -> None:
        self._pool = pool
        self._redis = client
        self._l1: OrderedDict[str, CodeEntry] = OrderedDict()
        self._l1_size = l1_size
        self._l1_ttl = l1_ttl
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._negative_ttl = negative_ttl
        self._redis_ttl = redis_ttl
        self._redis_paused_until = 0.0
        # Reads of one turn of the event loop go out together, one per (code, variant).
        self._redis_reads = TurnBatcher(self._read_redis, max_batch=_MAX_BATCH)
        self._postgres_reads = TurnBatcher(self._load, max_batch=_MAX_BATCH)
        self._observe = observe
        self.subscribed = asyncio.Event()  # set while following invalidations
        self._pending: dict[str, CodeEntry] = {}  # copies for Redis, sent in batches
        self._copier: asyncio.Task[None] | None = None
        self._scripts = {
            script: client.register_script(script)
            for script in (_STORE_IF_NEWER, _ADD_IF_NOT_OLDER)
        }
        # Bumped by every invalidation: a read that began before one must not be kept,
        # or a process could keep the old record for a whole TTL.
        self._epoch = 0

    async def lookup(self, code_id: str, variant: str) -> tuple[CodeEntry, Variant | None] | None:
        """The code's entry and the asked variant (None: the code has no published record),
        or None for an unknown code_id. Raises `BackendUnavailable`."""
        now = time.monotonic()
        if self._unknown.get(code_id, 0.0) > now:
            self._observe("negative")
            return None
        entry = self._l1.get(code_id)
        if entry is not None and entry.expires_at > now:
            found = entry.variants.get(variant)
            if found is not None or entry.complete:
                self._l1.move_to_end(code_id)
                self._observe("l1")
                return entry, found
        from_redis = await self._from_redis(code_id, variant, now)
        if from_redis is not None:
            return from_redis
        try:
            loaded = await self._postgres_reads.get((code_id, variant))
        except BACKEND_ERRORS as exc:
            stale = entry.variants.get(variant) if entry is not None else None
            if entry is not None and (stale is not None or entry.complete):
                self._observe("stale")
                return entry, stale
            self._observe("unavailable")
            raise BackendUnavailable(f"no store answered for {code_id}") from exc
        if loaded is None:
            return None
        self._observe("postgres")
        return loaded, loaded.variants.get(variant)

    async def close(self) -> None:
        """Let the copies to Redis that are waiting go out."""
        if self._copier is not None:
            await asyncio.gather(self._copier, return_exceptions=True)

    def invalidate(self, code_id: str) -> None:
        self._epoch += 1
        self._l1.pop(code_id, None)
        self._unknown.pop(code_id, None)

    def clear(self) -> None:
        self._epoch += 1
        self._l1.clear()
        self._unknown.clear()

    async def _from_redis(
        self, code_id: str, variant: str, now: float
    ) -> tuple[CodeEntry, Variant | None] | None:
        if now < self._redis_paused_until:
            return None
        epoch = self._epoch
        try:
            fields = await self._redis_reads.get((code_id, variant))
        except BACKEND_ERRORS:
            self._redis_paused_until = now + _REDIS_PAUSE_SECONDS
            _log.warning("Redis failed on the scan path; reading PostgreSQL for a while")
            return None
        assert fields is not None  # every key asked is answered
        code, status, version, complete, body, etag = fields
        if code is None or status is None or version is None:
            return None
        found = None if body is None or etag is None else Variant(body, etag.decode())
        if found is None and complete is None:
            return None  # a partial entry without this variant: PostgreSQL has it
        entry = self._l1.get(code_id)
        if entry is None or entry.version != int(version):
            entry = CodeEntry(code.decode(), status.decode(), int(version), {})
        if found is None:
            # Variants are rendered all at once: a whole entry without one has none.
            entry.complete = True
        else:
            entry.variants[variant] = found
        if epoch == self._epoch:
            self._remember(code_id, entry, now)
        self._observe("redis")
        return entry, found

    async def _read_redis(
        self, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[bytes | None]]:
        """Each (code, variant)'s fields: code, status, version, complete, body, etag."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for code_id, variant in keys:
                fields = ["code", "status", "version", "complete", variant, f"etag:{variant}"]
                pipe.hmget(REDIS_KEY_PREFIX + code_id, fields)
            # The client returns bytes (no decode_responses): the bodies are bytes.
            answers: list[list[bytes | None]] = await pipe.execute()
        return dict(zip(keys, answers, strict=True))

    async def _load(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], CodeEntry]:
        epoch = self._epoch
        # One deadline for waiting for a connection and the query (no task per request).
        async with asyncio.timeout(_POSTGRES_TIMEOUT_SECONDS), self._pool.acquire() as conn:
            rows = await storage.fetch_scan_variants(conn, keys)
        now = time.monotonic()
        current = epoch == self._epoch
        loaded = {}
        for code_id, variant in keys:
            row = rows.get((code_id, variant))
            if row is None:
                if current:
                    self._remember_unknown(code_id, now)
                continue
            loaded[code_id, variant] = self._keep(code_id, variant, row, now, current)
        return loaded

    def _keep(
        self, code_id: str, variant: str, row: storage.ScanVariantRow, now: float, current: bool
    ) -> CodeEntry:
        """The entry with what was read added; kept in L1 (unless an invalidation came
        meanwhile) and copied to Redis."""
        # What was read: one variant, or, for a code with none, the whole (empty) set.
        read = CodeEntry(
            code_text=Code(row.code_id, row.key_id, row.signature).text,
            status=row.status,
            version=row.version,
            variants={} if row.variant is None else {variant: Variant(*row.variant)},
            complete=not row.published,
        )
        entry = self._l1.get(code_id)
        if entry is not None and entry.version == read.version:
            entry.variants.update(read.variants)  # the other variants held stay
        else:
            entry = dataclasses.replace(read, variants=dict(read.variants))
        if current:
            self._remember(code_id, entry, now)
        if now >= self._redis_paused_until:
            self._queue_copy(code_id, read)
        return entry

    def _queue_copy(self, code_id: str, read: CodeEntry) -> None:
        """Have Redis take a copy of what was read, off the request's path.

        Copies wait a moment and go in one pipeline: a storm of misses costs Redis one
        round trip per batch, not per request. Past `_MAX_PENDING` they are dropped
        rather than queued: answering comes first, and a code asked again is copied then.
        """
        pending = self._pending.get(code_id)
        if pending is not None and pending.version == read.version:
            pending.variants.update(read.variants)
        elif len(self._pending) < _MAX_PENDING:
            self._pending[code_id] = dataclasses.replace(read, variants=dict(read.variants))
        if self._copier is None or self._copier.done():
            self._copier = asyncio.create_task(self._copy_pending())

    async def _copy_pending(self) -> None:
        while self._pending:
            await asyncio.sleep(_COPY_GATHER_SECONDS)
            batch, self._pending = self._pending, {}
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for code_id, entry in batch.items():
                        script, arguments = _store_arguments(entry, self._redis_ttl)
                        await self._scripts[script](
                            keys=[REDIS_KEY_PREFIX + code_id], args=arguments, client=pipe
                        )
                    await pipe.execute()
            except BACKEND_ERRORS:
                self._redis_paused_until = time.monotonic() + _REDIS_PAUSE_SECONDS
                self._pending.clear()
                return

    def _remember(self, code_id: str, entry: CodeEntry, now: float) -> None:
        if self._l1_size <= 0:
            return
        entry.expires_at = now + self._l1_ttl
        self._l1[code_id] = entry
        self._l1.move_to_end(code_id)
        while len(self._l1) > self._l1_size:
            self._l1.popitem(last=False)

    def _remember_unknown(self, code_id: str, now: float) -> None:
        if self._negative_ttl <= 0:
            return
        self._unknown[code_id] = now + self._negative_ttl
        self._unknown.move_to_end(code_id)
        while len(self._unknown) > max(self._l1_size, 1000):
            self._unknown.popitem(last=False)

    async def follow_invalidations(
        self, stop: asyncio.Event, also: Sequence[InvalidationFollower] = ()
    ) -> None:
        """Drop codes as the relay announces them, until `stop`; reconnects by itself.
        Announced keys with a colon (lifecycle keys: `sc:batch:…`, `sc:item:…`; a code_id
        has none) go to `also`, the other caches of the process.

        On every (re)subscription the whole L1 is dropped (and `also` cleared):
        announcements made while disconnected were missed.
        """
        while not stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(INVALIDATION_CHANNEL)
                self.clear()
                for follower in also:
                    follower.clear()
                self.subscribed.set()
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=0.5)
                    if message is not None:
                        data = message["data"]
                        name = data.decode() if isinstance(data, bytes) else str(data)
                        if ":" not in name:
                            self.invalidate(name)
                            continue
                        for follower in also:
                            follower.invalidate(name)
            except BACKEND_ERRORS:
                self.subscribed.clear()
                await _sleep_unless(stop, 0.5)
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                except BACKEND_ERRORS:
                    _log.debug("closing a broken pub/sub connection failed")


class InvalidationFollower(Protocol):
    """Another in-process cache that the relay's announcements reach."""

    def invalidate(self, key: str) -> None: ...

    def clear(self) -> None: ...


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
