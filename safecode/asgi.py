"""App factories for uvicorn's worker processes (`safecode serve`): each worker reads the
settings and builds its app. Both URLs are set: `safecode serve` checks before it starts."""

from __future__ import annotations

import gc

from starlette.types import ASGIApp

from safecode import apps
from safecode.embedded import ServiceUrls
from safecode.logs import configure_logging
from safecode.settings import Settings, load_settings


def _settings_and_urls() -> tuple[Settings, ServiceUrls]:
    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError("safecode serve runs only with DATABASE_URL and REDIS_URL set")
    return settings, ServiceUrls(settings.database_url, settings.redis_url)


def resolver() -> ASGIApp:
    return apps.resolver_app(*_settings_and_urls())


def registry() -> ASGIApp:
    app = apps.registry_app(*_settings_and_urls())
    _tune_garbage_collection()
    return app


def _tune_garbage_collection() -> None:
    """Fewer, cheaper collections in a registry worker. An EPCIS document of 1,000 events
    makes tens of thousands of short-lived objects: with the default thresholds the full
    collections (~80 ms each, walking every module and class loaded) came every few
    documents and took up to a third of a worker's CPU. What is loaded at start is frozen
    out of the collector's walk, and the young generation is collected less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
