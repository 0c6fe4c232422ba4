"""Reads asked in one turn of the event loop answered by one fetch."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from codesvc.batching import TurnBatcher


class Store:
    def __init__(self, data: Mapping[str, int], *, fail: Exception | None = None) -> None:
        self.data = dict(data)
        self.fail = fail
        self.calls: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self, keys: list[str]) -> dict[str, int]:
        self.calls.append(list(keys))
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return {k: self.data[k] for k in keys if k in self.data}


async def test_reads_of_one_turn_go_out_in_one_fetch() -> None:
    store = Store({"a": 1, "b": 2, "c": 3})
    batcher = TurnBatcher(store.fetch, max_batch=100)
    results = await asyncio.gather(*(batcher.get(k) for k in ["a", "b", "a", "c", "zz"]))
    assert results == [1, 2, 1, 3, None]  # an unknown key: None
    assert store.calls == [["a", "b", "c", "zz"]]  # "a" read once for both callers


async def test_a_batch_never_exceeds_its_limit() -> None:
    store = Store({str(n): n for n in range(10)})
    batcher = TurnBatcher(store.fetch, max_batch=4)
    results = await asyncio.gather(*(batcher.get(str(n)) for n in range(10)))
    assert results == list(range(10))
    assert [len(call) for call in store.calls] == [4, 4, 2]


async def test_a_failure_reaches_every_caller_of_the_batch_and_the_next_read_tries_again() -> None:
    store = Store({"a": 1}, fail=ConnectionError("down"))
    batcher = TurnBatcher(store.fetch, max_batch=100)
    outcomes = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    store.fail = None
    assert await batcher.get("a") == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_read_for_the_others() -> None:
    store = Store({"a": 1})
    store.release.clear()
    batcher = TurnBatcher(store.fetch, max_batch=100)
    leaving = asyncio.create_task(batcher.get("a"))
    staying = asyncio.create_task(batcher.get("a"))
    await asyncio.sleep(0.01)
    leaving.cancel()
    store.release.set()
    assert await staying == 1
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert store.calls == [["a"]]
