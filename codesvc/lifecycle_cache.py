"""What a scan shows of a batch and of an item, read through the scan path's layers (what
it shows is made from rows in `codesvc.lifecycle_facts`).

- L1: in-process, `l1_ttl` seconds (the code cache's), `l1_size` entries at most; the
  relay's announcements on the invalidation channel drop an entry at once
  (`ScanCache.follow_invalidations` passes lifecycle keys on to `invalidate`).
- Redis: one small JSON string per batch (`lifecycle.batch_key`: its record and open
  recall) and per item (`lifecycle.item_key`: its state, kind, parent, alert, and the code
  and batch it belongs to), for `redis_ttl` seconds; "not declared" and "never issued" as
  `null`, for `negative_ttl` seconds only.
- PostgreSQL on a miss: the misses of one turn of the event loop in one query per kind,
  once per key however many requests miss it at once (`codesvc.batching`).

A resolver copies what it read from PostgreSQL to Redis, but only if the key's
*generation* (`{key}:gen`, bumped by the relay with each invalidation) is what it was
before PostgreSQL was read: a copy read before a recall was committed and written after
the relay dropped the key would otherwise hide the recall for a whole `redis_ttl`.

Faults as `codesvc.scancache`: Redis failing → PostgreSQL (Redis skipped for a second);
PostgreSQL failing → an expired L1 entry rather than nothing; neither →
`BackendUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from codesvc import storage
from codesvc.batching import TurnBatcher
from codesvc.lifecycle import BATCH_KEY_PREFIX, ITEM_KEY_PREFIX, batch_key, item_key
from codesvc.lifecycle_facts import (
    ItemScan,
    batch_document,
    batch_facts,
    item_document,
    item_scan,
    package_facts,
)
from codesvc.scancache import INVALIDATION_CHANNEL, BackendUnavailable
from codesvc.service import BACKEND_ERRORS
from public_site.scan_pages import BatchFacts, RecallFacts

_REDIS_PAUSE_SECONDS = 1.0  # after a Redis failure, go straight to PostgreSQL this long
_POSTGRES_TIMEOUT_SECONDS = 2.0
_MAX_BATCH = 256  # reads sent to Redis or PostgreSQL together
# Far longer than a read of PostgreSQL may take (its timeout), so a copy that began before
# an invalidation always finds the generation changed.
GENERATION_TTL_SECONDS = 60
_MAX_REMEMBERED_INVALIDATIONS = 4096
_NOT_FOUND = b"null"

_log = logging.getLogger(__name__)

# KEYS[1] the entry, KEYS[2] its generation; ARGV: the generation read before PostgreSQL
# was ('' if none), the value, its ttl. Written only if no invalidation came meanwhile.
_STORE_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


Answer = BatchFacts | ItemScan | None  # None: not declared, or never issued


class _NotHeld:
    """Redis holds nothing usable for the key."""


_NOT_HELD = _NotHeld()


def generation_key(key: str) -> str:
    return f"{key}:gen"


async def drop_in_redis(client: aioredis.Redis, keys: Sequence[str]) -> None:
    """The relay's half: drop the entries, bump their generations (so a copy read before
    now is not written after), and announce each key so every resolver drops its L1 copy."""
    async with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.delete(key)
            pipe.incr(generation_key(key))
            pipe.expire(generation_key(key), GENERATION_TTL_SECONDS)
        for key in keys:
            pipe.publish(INVALIDATION_CHANNEL, key)
        await pipe.execute()


@dataclass(slots=True)
class _Held:
    answer: Answer
    expires_at: float


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A key's answer from PostgreSQL (a batcher's None means "not asked")."""

    answer: Answer


class LifecycleCache:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: aioredis.Redis,
        *,
        l1_size: int,
        l1_ttl: float,
        negative_ttl: float,
        redis_ttl: int,
    ) -> None:
        self._pool = pool
        self._redis = client
        self._l1: OrderedDict[str, _Held] = OrderedDict()
        self._l1_size = l1_size
        self._l1_ttl = l1_ttl
        self._negative_ttl = negative_ttl
        self._redis_ttl = redis_ttl
        self._redis_paused_until = 0.0
        self._redis_reads = TurnBatcher(self._read_redis, max_batch=_MAX_BATCH)
        self._postgres_reads = TurnBatcher(self._load, max_batch=_MAX_BATCH)
        self._store = client.register_script(_STORE_IF_UNCHANGED)
        self._copies: set[asyncio.Task[None]] = set()
        # A read that began before its key was invalidated must not be kept in L1. Item
        # states may change thousands of times a second, so each key remembers when it
        # was last invalidated, rather than one epoch dropping every read under way.
        self._epoch = 0
        self._invalidated: OrderedDict[str, int] = OrderedDict()
        self._forgotten_up_to = 0  # invalidations older than those remembered

    async def scan(
        self, code_id: str, batch_no: str, serial: str | None
    ) -> tuple[BatchFacts | None, ItemScan | None]:
        """The batch (None: not declared) and, with a serial, the item (None: never
        issued) a scan names; what L1 lacks is asked for together. Raises
        `BackendUnavailable`."""
        first = batch_key(code_id, batch_no)
        if serial is None:
            return _as_batch(await self._get(first)), None
        second = item_key(serial)
        now = time.monotonic()
        held_batch, held_item = self._fresh(first, now), self._fresh(second, now)
        if held_batch is not None and held_item is not None:  # the usual case: no task
            return _as_batch(held_batch.answer), _as_item(held_item.answer)
        if held_batch is not None:
            return _as_batch(held_batch.answer), _as_item(await self._get(second))
        if held_item is not None:
            return _as_batch(await self._get(first)), _as_item(held_item.answer)
        batch, item = await asyncio.gather(self._get(first), self._get(second))
        return _as_batch(batch), _as_item(item)

    async def batch(self, code_id: str, batch_no: str) -> BatchFacts | None:
        return _as_batch(await self._get(batch_key(code_id, batch_no)))

    async def item(self, serial: str) -> ItemScan | None:
        return _as_item(await self._get(item_key(serial)))

    def invalidate(self, key: str) -> None:
        self._epoch += 1
        self._l1.pop(key, None)
        self._invalidated[key] = self._epoch
        self._invalidated.move_to_end(key)
        while len(self._invalidated) > _MAX_REMEMBERED_INVALIDATIONS:
            _, self._forgotten_up_to = self._invalidated.popitem(last=False)

    def clear(self) -> None:
        self._epoch += 1
        self._l1.clear()
        self._invalidated.clear()
        self._forgotten_up_to = self._epoch

    async def close(self) -> None:
        """Let the copies to Redis that are under way finish."""
        await asyncio.gather(*self._copies, return_exceptions=True)

    def _fresh(self, key: str, now: float) -> _Held | None:
        held = self._l1.get(key)
        if held is None or held.expires_at <= now:
            return None
        self._l1.move_to_end(key)
        return held

    async def _get(self, key: str) -> Answer:
        now = time.monotonic()
        fresh = self._fresh(key, now)
        if fresh is not None:
            return fresh.answer
        held = self._l1.get(key)  # expired: kept for when neither store answers
        began = self._epoch
        if now >= self._redis_paused_until:
            try:
                raw = await self._redis_reads.get(key)
            except BACKEND_ERRORS:
                self._pause_redis()
            else:
                answer = _NOT_HELD if raw is None else _decode(key, raw)
                if not isinstance(answer, _NotHeld):
                    self._keep(key, answer, began)
                    return answer
        try:
            loaded = await self._postgres_reads.get(key)
        except BACKEND_ERRORS as exc:
            if held is not None:
                return held.answer  # expired, but better than nothing while both are down
            raise BackendUnavailable(f"no store answered for {key}") from exc
        assert loaded is not None  # every key asked is answered
        self._keep(key, loaded.answer, began)
        return loaded.answer

    def _keep(self, key: str, answer: Answer, began: int) -> None:
        if self._l1_size <= 0:
            return
        if began < self._forgotten_up_to or self._invalidated.get(key, 0) > began:
            return  # invalidated while it was read: the next scan reads it again
        ttl = self._l1_ttl if answer is not None else min(self._l1_ttl, self._negative_ttl)
        self._l1[key] = _Held(answer, time.monotonic() + ttl)
        self._l1.move_to_end(key)
        while len(self._l1) > self._l1_size:
            self._l1.popitem(last=False)

    def _pause_redis(self) -> None:
        self._redis_paused_until = time.monotonic() + _REDIS_PAUSE_SECONDS
        _log.warning("Redis failed on the lifecycle scan path; reading PostgreSQL for a while")

    async def _read_redis(self, keys: list[str]) -> dict[str, bytes | None]:
        values = await self._redis.mget(keys)
        return {key: _as_bytes(value) for key, value in zip(keys, values, strict=True)}

    async def _load(self, keys: list[str]) -> dict[str, _Loaded]:
        generations = await self._generations(keys)  # before PostgreSQL is read
        batch_keys = [_batch_of(key) for key in keys if key.startswith(BATCH_KEY_PREFIX)]
        serials = [key[len(ITEM_KEY_PREFIX) :] for key in keys if key.startswith(ITEM_KEY_PREFIX)]
        # One deadline for waiting for a connection and the queries.
        async with asyncio.timeout(_POSTGRES_TIMEOUT_SECONDS), self._pool.acquire() as conn:
            batches = await storage.fetch_batch_scans(conn, batch_keys) if batch_keys else {}
            items = await storage.fetch_item_scans(conn, serials) if serials else {}
        answers: dict[str, Answer] = {}
        for batch in batch_keys:
            batch_row = batches.get(batch)
            answers[batch_key(*batch)] = None if batch_row is None else batch_facts(batch_row)
        for serial in serials:
            item_row = items.get(serial)
            answers[item_key(serial)] = None if item_row is None else item_scan(item_row)
        if generations is not None:
            self._copy(answers, generations)
        return {key: _Loaded(answer) for key, answer in answers.items()}

    async def _generations(self, keys: list[str]) -> dict[str, bytes] | None:
        """The keys' generations now, or None when Redis is not to be written."""
        if time.monotonic() < self._redis_paused_until:
            return None
        try:
            values = await self._redis.mget([generation_key(key) for key in keys])
        except BACKEND_ERRORS:
            self._pause_redis()
            return None
        return {key: _as_bytes(value) or b"" for key, value in zip(keys, values, strict=True)}

    def _copy(self, answers: dict[str, Answer], generations: dict[str, bytes]) -> None:
        """Have Redis take what was read, off the request's path."""
        task = asyncio.create_task(self._store_all(answers, generations))
        self._copies.add(task)
        task.add_done_callback(self._copies.discard)

    async def _store_all(self, answers: dict[str, Answer], generations: dict[str, bytes]) -> None:
        negative_ttl = max(1, math.ceil(self._negative_ttl))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, answer in answers.items():
                    ttl = self._redis_ttl if answer is not None else negative_ttl
                    await self._store(
                        keys=[key, generation_key(key)],
                        args=[generations[key], _encode(answer), ttl],
                        client=pipe,
                    )
                await pipe.execute()
        except BACKEND_ERRORS:
            self._pause_redis()


def _as_bytes(value: bytes | str | None) -> bytes | None:
    # The client is made without decode_responses; a str would come from one made with it.
    return value.encode() if isinstance(value, str) else value


def _batch_of(key: str) -> tuple[str, str]:
    code_id, _, batch_no = key[len(BATCH_KEY_PREFIX) :].partition(":")
    return code_id, batch_no


def _encode(answer: Answer) -> bytes:
    if answer is None:
        return _NOT_FOUND
    if isinstance(answer, BatchFacts):
        document = batch_document(answer)
    else:
        document = {**item_document(answer), "code_id": answer.code_id, "batch_no": answer.batch_no}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _decode(key: str, raw: bytes) -> Answer | _NotHeld:
    """The answer Redis held; `_NOT_HELD` for a value of another shape (written by an
    older or newer release): PostgreSQL is asked instead."""
    try:
        document = json.loads(raw)
        if document is None:
            return None
        if key.startswith(ITEM_KEY_PREFIX):
            return ItemScan(**document)
        packaging = document.pop("packaging")
        recall = document.pop("recall")
        return BatchFacts(
            **document,
            inner=package_facts(packaging.get("inner")),
            outer=package_facts(packaging.get("outer")),
            recall=None if recall is None else RecallFacts(**recall),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return _NOT_HELD


def _as_batch(answer: Answer) -> BatchFacts | None:
    assert answer is None or isinstance(answer, BatchFacts)
    return answer


def _as_item(answer: Answer) -> ItemScan | None:
    assert answer is None or isinstance(answer, ItemScan)
    return answer
