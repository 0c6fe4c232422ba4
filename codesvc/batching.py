"""Reads asked for in one turn of the event loop, answered by one round trip.

Under a storm of scans each worker has many requests in flight; each one's Redis or
PostgreSQL read costs a system call, a protocol message and a wake-up. Gathering the reads
that arrive in the same turn of the loop and sending them together costs one of each per
batch, and adds no waiting: the batch goes out at the next turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TurnBatcher(Generic[K, V]):
    """`get(key)` answered by `fetch(keys)` for all the keys asked meanwhile; a key asked
    again while its read is under way shares that read. A key `fetch` leaves out of its
    answer gets None; an exception reaches every caller of that batch."""

    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], *, max_batch: int
    ) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._waiting: dict[K, asyncio.Future[V | None]] = {}
        self._queue: list[K] = []
        self._runner: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future = self._waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
            self._queue.append(key)
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run())
        # The read is shared: a caller that goes away must not cancel it for the others.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the reads of this turn of the loop join
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                found = await self._fetch(batch)
            except Exception as exc:  # each caller decides what a failure means for it
                for key in batch:
                    self._settle(key, exc)
            else:
                for key in batch:
                    self._settle(key, found.get(key))

    def _settle(self, key: K, outcome: V | BaseException | None) -> None:
        future = self._waiting.pop(key, None)
        if future is None or future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
            future.exception()  # marked retrieved: every caller may have gone away
        else:
            future.set_result(outcome)
