"""`/metrics` of one resolver process: the gauges of the process and its pools, and counts
that add up however often they are published."""

from __future__ import annotations

import time

import asyncpg
import httpx
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.metrics import LATENCY_BUCKETS, ResolverMetrics
from codesvc.publishing import publish
from safecode.demo import sample_record
from safecode.settings import Settings

LATENCY = "safecode_http_request_duration_seconds"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    """The sample's value; 0 for a counter not incremented yet (no sample)."""
    found = _samples(text).get((name, tuple(sorted(labels.items()))))
    assert found is not None or name.endswith("_total"), (name, labels)
    return found or 0.0


async def test_gauges_show_the_process_and_its_connection_pools(
    pool: asyncpg.Pool, keyring: KeyRing, settings: Settings, resolver_client: httpx.AsyncClient
) -> None:
    async with pool.acquire() as conn:
        issued = await issue_code(conn, "e/p", keyring=keyring, province="14")
        await publish(conn, issued.code.code_id, sample_record(), public_base_url="http://x")
    # A miss: Redis asked, then PostgreSQL; both connections go back to their pools.
    assert (await resolver_client.get(f"/C/{issued.code.text}")).status_code == 200
    assert (await resolver_client.get("/readyz")).status_code == 200

    text = (await resolver_client.get("/metrics")).text

    assert _value(text, "safecode_postgres_pool_max_connections") == settings.database_pool_size
    assert _value(text, "safecode_postgres_pool_connections", state="used") == 0
    assert (
        1
        <= _value(text, "safecode_postgres_pool_connections", state="idle")
        <= (settings.database_pool_size)
    )
    # The invalidation subscription holds one Redis connection (and a flush of scan counts
    # may be under way); the lookups gave theirs back.
    assert 1 <= _value(text, "safecode_redis_pool_connections", state="used") <= 2
    redis_idle = _value(text, "safecode_redis_pool_connections", state="idle")
    assert 1 <= redis_idle < _value(text, "safecode_redis_pool_max_connections")
    assert _value(text, "safecode_process_resident_memory_bytes") > 10_000_000
    assert _value(text, "safecode_process_open_fds") > 0
    assert _value(text, "safecode_process_max_fds") >= _value(text, "safecode_process_open_fds")
    assert _value(text, "safecode_process_cpu_seconds") > 0
    assert 0 < time.time() - _value(text, "safecode_process_start_time_seconds") < 86_400


async def test_counts_are_current_at_each_scrape_and_never_counted_twice(
    resolver_client: httpx.AsyncClient,
) -> None:
    for expected in (1, 2, 3):
        await resolver_client.get("/C/junk")
        text = (await resolver_client.get("/metrics")).text
        assert (
            _value(text, "safecode_http_requests_total", route="/C/{code}", status="400")
            == expected
        )
        # Each scrape counts the ones before it, once they are answered.
        assert _value(text, "safecode_http_requests_total", route="/metrics", status="200") == (
            expected - 1
        )


bounds = st.sampled_from(LATENCY_BUCKETS)  # on a bound: it falls in that bucket (le)
durations = st.lists(
    st.one_of(bounds, st.floats(min_value=0, max_value=10, allow_nan=False)), max_size=50
)


@given(durations, st.integers(min_value=0, max_value=50))
def test_latency_is_the_histogram_prometheus_client_would_give(
    seconds: list[float], publish_after: int
) -> None:
    metrics = ResolverMetrics()
    reference = CollectorRegistry()
    histogram = Histogram(LATENCY, "", ["route"], buckets=LATENCY_BUCKETS, registry=reference)
    for i, value in enumerate(seconds):
        if i == publish_after:
            metrics.publish()  # part published before the scrape, part at it
        metrics.observe_request("/C/{code}", 200, value)
        histogram.labels("/C/{code}").observe(value)

    ours = _latency(metrics.render())
    theirs = _latency(generate_latest(reference))
    sums = {k for k in theirs if k[0].endswith("_sum")}
    assert {k: v for k, v in ours.items() if k not in sums} == {
        k: v for k, v in theirs.items() if k not in sums
    }
    for key in sums:
        assert abs(ours[key] - theirs[key]) <= 1e-9 * max(1.0, theirs[key])


def _latency(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        key: value
        for key, value in _samples(text.decode()).items()
        if key[0].startswith(LATENCY) and not key[0].endswith("_created")  # a timestamp
    }
