"""`safecode`: run the product, one unit of it, its migrations, or its embedded servers."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import time
from collections.abc import Sequence
from types import FrameType

import asyncpg
import uvicorn
from starlette.types import ASGIApp

from safecode import apps
from safecode.embedded import EmbeddedPostgres, EmbeddedServiceError, embedded_services
from safecode.logs import configure_logging
from safecode.migrations import MigrationError, apply_migrations, discover
from safecode.settings import Settings, SettingsError, load_settings


class CommandError(Exception):
    """A command cannot go on; its message is printed as one line and the exit code is 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"safecode: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    # SIGTERM unwinds like Ctrl-C, so whatever was started is stopped on the way out.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        args.command(settings, args)
    except (CommandError, MigrationError, EmbeddedServiceError) as exc:
        print(f"safecode: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safecode",
        description="Hazardous-chemical safety codes: the resolver, the registry and their tools.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="everything in one process on PORT, on embedded PostgreSQL/Redis unless URLs are set",
    )
    run.set_defaults(command=_run)

    serve = commands.add_parser(
        "serve", help="one unit (uvicorn, worker count from settings); needs both URLs set"
    )
    serve.add_argument("unit", choices=["resolver", "registry"])
    serve.set_defaults(command=_serve)

    migrate = commands.add_parser("migrate", help="apply the SQL migrations that are not applied")
    migrate.set_defaults(command=_migrate)

    services = commands.add_parser(
        "services",
        help="start the embedded PostgreSQL and Redis and print their URLs (Ctrl-C stops them)",
    )
    services.set_defaults(command=_services)
    return parser


def _run(settings: Settings, _args: argparse.Namespace) -> None:
    with embedded_services(
        settings.data_dir, database_url=settings.database_url, redis_url=settings.redis_url
    ) as urls:
        asyncio.run(_apply_migrations(urls.database_url))
        app = apps.all_in_one_app(settings, urls)
        embedded = [
            name
            for name, url in (("PostgreSQL", settings.database_url), ("Redis", settings.redis_url))
            if url is None
        ]
        base = f"http://{_url_host(settings.host)}:{settings.port}"
        banner = [
            "SafeCode is running.",
            f"  open       {base}/",
            f"  registry   {base}/api/v1",
            f"  health     {base}/healthz   readiness {base}/readyz",
        ]
        if embedded:
            banner.append(f"  embedded   {' and '.join(embedded)}, data in {settings.data_dir}")
        banner.append("Press Ctrl-C to stop.")
        asyncio.run(_serve_until_stopped(app, settings.host, settings.port, banner))


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.database_url is None or settings.redis_url is None:
        raise CommandError(
            "serve needs DATABASE_URL and REDIS_URL; for the embedded servers run "
            "`safecode services` and export what it prints, or use `safecode run`"
        )
    port, workers = (
        (settings.resolver_port, settings.resolver_workers)
        if args.unit == "resolver"
        else (settings.registry_port, settings.registry_workers)
    )
    uvicorn.run(
        f"safecode.asgi:{args.unit}",
        factory=True,
        host=settings.host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    postgres = EmbeddedPostgres(settings.data_dir)
    try:
        database_url = settings.database_url or postgres.start()
        applied = asyncio.run(_apply_migrations(database_url))
    finally:
        postgres.stop()
    print(f"applied {len(applied)} migration(s)" if applied else "migrations are up to date")


def _services(settings: Settings, _args: argparse.Namespace) -> None:
    with embedded_services(settings.data_dir, database_url=None, redis_url=None) as urls:
        print(f"export DATABASE_URL='{urls.database_url}'")
        print(f"export REDIS_URL='{urls.redis_url}'")
        print("Embedded PostgreSQL and Redis are running. Press Ctrl-C to stop them.", flush=True)
        while True:
            time.sleep(3600)


async def _apply_migrations(database_url: str) -> list[str]:
    try:
        conn = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise CommandError(f"cannot reach PostgreSQL to migrate: {exc}") from exc
    try:
        applied = await apply_migrations(conn, discover())
    finally:
        await conn.close()
    for migration in applied:
        print(f"applied migration {migration.id}")
    return [migration.id for migration in applied]


class _AnnouncingServer(uvicorn.Server):
    """Prints the banner once the socket is bound, so it never announces a port it lacks."""

    def __init__(self, config: uvicorn.Config, banner: list[str]) -> None:
        super().__init__(config)
        self.banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print("\n".join(self.banner), flush=True)


async def _serve_until_stopped(app: ASGIApp, host: str, port: int, banner: list[str]) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
    server = _AnnouncingServer(config, banner)
    await server.serve()
    if not server.started:
        raise CommandError(f"could not serve on {host}:{port} (see the log above)")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
