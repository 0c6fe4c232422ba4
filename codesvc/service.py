"""What every HTTP unit of the product shares: its connections, and whether it is ready.

Both the resolver and the registry (which imports this) get a `ServiceConfig` from
`safecode`, open `Resources` in their lifespan, and answer `/healthz` and `/readyz`
with `check_readiness`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codesvc.storage import Connection

# Given a connection, the ids of migrations the code expects but the database lacks.
PendingMigrations = Callable[[Connection], Awaitable[Sequence[str]]]

# What a call to PostgreSQL or Redis raises when the server is down or unreachable.
# asyncpg raises InternalClientError ("cannot switch to state 12; another operation (2) is
# in progress") on a pooled connection whose server ended it while idle, before the socket's
# close arrives: PostgreSQL was killed (MagicStack/asyncpg#1069).
BACKEND_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    RedisError,
)

# What a request meets when PostgreSQL or Redis cannot be reached (as opposed to a query
# that fails): answered 503, never 500.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    RedisConnectionError,
)

# A readiness probe must answer quickly even when a backing service hangs.
READINESS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    database_url: str
    database_pool_size: int
    redis_url: str
    public_base_url: str
    pending_migrations: PendingMigrations
    # Seals personal data and signing keys; None for units that hold neither (resolver, relay).
    master_key: bytes | None
    l1_cache_size: int
    l1_cache_ttl_seconds: float
    negative_cache_ttl_seconds: float
    redis_record_ttl_seconds: int
    province: str = "14"  # GB/T 2260 code of the issuing province: new code_ids start with it
    lookup_limit_per_minute: int = 30  # manual lookups (/lookup) per client address
    console_idle_minutes: int = 30  # a console session unused this long has ended


@dataclass(frozen=True, slots=True)
class Resources:
    """Connections owned by a lifespan and shared by its requests (`request.state.resources`)."""

    pool: asyncpg.Pool
    redis: aioredis.Redis


@asynccontextmanager
async def open_resources(config: ServiceConfig) -> AsyncIterator[Resources]:
    """Open the pool and Redis client; neither connects until first used.

    Opening lazily lets a unit start while PostgreSQL or Redis is down: it reports
    itself unready on /readyz instead of refusing to start.
    """
    pool = await asyncpg.create_pool(
        config.database_url,
        min_size=0,
        max_size=config.database_pool_size,
        timeout=READINESS_TIMEOUT_SECONDS,
        command_timeout=30,
    )
    client = aioredis.Redis.from_url(
        config.redis_url,
        socket_timeout=READINESS_TIMEOUT_SECONDS,
        socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
    )
    try:
        yield Resources(pool=pool, redis=client)
    finally:
        await client.aclose()
        await pool.close()


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, str]  # name -> "ok" or what is wrong

    @property
    def ready(self) -> bool:
        return all(result == "ok" for result in self.checks.values())


async def check_readiness(resources: Resources, pending_migrations: PendingMigrations) -> Readiness:
    """PostgreSQL and Redis reachable, and every migration the code expects applied."""
    postgres, migrations = await _check_postgres(resources.pool, pending_migrations)
    return Readiness(
        {
            "postgres": postgres,
            "redis": await _check_redis(resources.redis),
            "migrations": migrations,
        }
    )


async def _check_postgres(
    pool: asyncpg.Pool, pending_migrations: PendingMigrations
) -> tuple[str, str]:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            pending = await pending_migrations(conn)
    except BACKEND_ERRORS as exc:
        return f"unreachable: {_describe(exc)}", "unknown: PostgreSQL is unreachable"
    if pending:
        return "ok", "pending: " + ", ".join(pending)
    return "ok", "ok"


async def _check_redis(client: aioredis.Redis) -> str:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            await client.ping()
    except BACKEND_ERRORS as exc:
        return f"unreachable: {_describe(exc)}"
    return "ok"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def resources_lifespan(
    config: ServiceConfig,
) -> Callable[[object], AbstractAsyncContextManager[dict[str, Resources]]]:
    """A Starlette lifespan that owns the unit's `Resources` while it runs."""

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[dict[str, Resources]]:
        async with open_resources(config) as resources:
            yield {"resources": resources}

    return lifespan


def health_routes(pending_migrations: PendingMigrations) -> list[Route]:
    """`/healthz` (the process answers) and `/readyz` (it can do its work), as JSON."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        resources: Resources = request.state.resources
        readiness = await check_readiness(resources, pending_migrations)
        return JSONResponse(
            {"status": "ready" if readiness.ready else "unavailable", "checks": readiness.checks},
            status_code=200 if readiness.ready else 503,
        )

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
