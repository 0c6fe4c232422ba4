"""App factories for uvicorn's worker processes (`safecode serve`): each worker reads the
settings and builds its app. Both URLs are set: `safecode serve` checks before it starts."""

from __future__ import annotations

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
    return apps.registry_app(*_settings_and_urls())
