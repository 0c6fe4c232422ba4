"""The ASGI apps, wired from settings: the resolver, the registry, and both on one port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

import codesvc.app
import console.app
import registry_api.app
from codesvc.metrics import ResolverMetrics
from codesvc.relay import Relay, Scheduled
from codesvc.resolver import open_resolver_state
from codesvc.service import Resources, ServiceConfig, open_resources
from codesvc.storage import Connection
from registry_api.lifecycle.operations import ScanAlerts, make_partitions_ahead
from safecode.embedded import ServiceUrls
from safecode.master_key import load_master_key
from safecode.migrations import Migration, discover, pending_migrations
from safecode.settings import Settings

_log = logging.getLogger(__name__)


def service_config(
    settings: Settings,
    urls: ServiceUrls,
    migrations: Sequence[Migration] | None = None,
    *,
    with_master_key: bool = False,
) -> ServiceConfig:
    expected = discover() if migrations is None else list(migrations)

    async def pending(conn: Connection) -> list[str]:
        return await pending_migrations(conn, expected)

    return ServiceConfig(
        database_url=urls.database_url,
        database_pool_size=settings.database_pool_size,
        redis_url=urls.redis_url,
        public_base_url=settings.public_base_url,
        pending_migrations=pending,
        master_key=load_master_key(settings) if with_master_key else None,
        l1_cache_size=settings.l1_cache_size,
        l1_cache_ttl_seconds=settings.l1_cache_ttl_seconds,
        negative_cache_ttl_seconds=settings.negative_cache_ttl_seconds,
        redis_record_ttl_seconds=settings.redis_record_ttl_seconds,
        province=settings.province,
        lookup_limit_per_minute=settings.lookup_limit_per_minute,
        console_idle_minutes=settings.console_idle_minutes,
    )


def _under(scope: Scope, prefix: str) -> bool:
    path: str = scope["path"]
    return path == prefix or path.startswith(prefix + "/")


class RegistryUnit:
    """The registry unit: the JSON API under `/api/` and the console under `/console/`,
    sharing one set of connections (the API's app owns the lifespan; the console's
    handlers find the same `Resources` in the request state)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.registry = registry_api.app.create_app(config)
        self.console = console.app.create_app(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and _under(scope, "/console"):
            await self.console(scope, receive, send)
        else:
            await self.registry(scope, receive, send)


class AllInOne:
    """Resolver at `/`, registry under `/api/`, console under `/console/` and the relay,
    sharing one set of connections.

    Mounting would strip the prefix the registry's own routes carry, so this forwards
    each request unchanged and runs the lifespan itself: the sub-apps' lifespans do not
    run, and their handlers find the shared `Resources` in the request state.
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.metrics = ResolverMetrics()
        self.resolver = codesvc.app.create_app(config, self.metrics)
        self.registry = registry_api.app.create_app(config)
        self.console = console.app.create_app(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif _under(scope, "/api"):
            await self.registry(scope, receive, send)
        elif _under(scope, "/console"):
            await self.console(scope, receive, send)
        else:
            await self.resolver(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        phase = "startup"
        try:
            async with (
                open_resources(self.config) as resources,
                open_resolver_state(self.config, resources, self.metrics) as resolver_state,
                running_relay(self.config, resources),
            ):
                scope["state"]["resources"] = resources
                scope["state"]["resolver"] = resolver_state
                await send({"type": "lifespan.startup.complete"})
                phase = "shutdown"
                await receive()  # lifespan.shutdown
        except Exception as exc:
            _log.exception("lifespan %s failed", phase)
            await send({"type": f"lifespan.{phase}.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def relay_jobs() -> list[Scheduled]:
    """The registry's scheduled work, run by the active relay."""
    return [
        # Each day, the events' partitions for the months ahead (made long before needed).
        Scheduled("event partitions", 24 * 3600.0, make_partitions_ahead),
        # Scans of ended or never-issued items reach the alert lists within a minute.
        Scheduled("scan alerts", 30.0, ScanAlerts()),
    ]


@asynccontextmanager
async def running_relay(config: ServiceConfig, resources: Resources) -> AsyncIterator[Relay]:
    """The relay as a background task of this process, stopped on exit."""
    relay = Relay(
        config.database_url,
        resources.pool,
        resources.redis,
        redis_ttl=config.redis_record_ttl_seconds,
        scheduled=relay_jobs(),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await task


def resolver_app(settings: Settings, urls: ServiceUrls) -> ASGIApp:
    return codesvc.app.create_app(service_config(settings, urls))


def registry_app(settings: Settings, urls: ServiceUrls) -> ASGIApp:
    return RegistryUnit(service_config(settings, urls, with_master_key=True))


def all_in_one_app(settings: Settings, urls: ServiceUrls) -> AllInOne:
    return AllInOne(service_config(settings, urls, with_master_key=True))
