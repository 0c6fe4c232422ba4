"""`safecode`: run the product, one unit of it, its migrations, or its embedded servers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import asyncpg
import segno
import uvicorn
from starlette.types import ASGIApp

from codesvc.errors import CodesvcError
from codesvc.publishing import rerender_all
from codesvc.relay import Relay
from codesvc.service import ServiceConfig, open_resources
from safecode import apps
from safecode.backup import add_backup_commands
from safecode.cli_admin import add_admin_commands
from safecode.cli_keys import add_key_commands
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry
from safecode.demo_lifecycle import ensure_demo_lifecycle
from safecode.demo_products import ensure_demo_products
from safecode.embedded import (
    EmbeddedServiceError,
    ServiceUrls,
    embedded_database,
    embedded_services,
)
from safecode.errors import CommandError, NotGenuine
from safecode.logs import configure_logging
from safecode.master_key import MasterKeyError, load_master_key
from safecode.migrations import MigrationError, apply_migrations, discover
from safecode.settings import (
    Settings,
    SettingsError,
    load_settings,
    metrics_shared_by_workers,
)

# Failures a command reports in one line (exit code 1); anything else is a bug: traceback.
_COMMAND_FAILURES = (
    CommandError,
    MigrationError,
    EmbeddedServiceError,
    CodesvcError,
    MasterKeyError,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"safecode: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    # SIGTERM unwinds like Ctrl-C, so whatever was started is stopped on the way out.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    return execute(args, settings)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    """Run the parsed command; its expected failures become one line and an exit code."""
    try:
        args.command(settings, args)
    except NotGenuine as exc:
        print(f"NOT genuine: {exc}")
        return 1
    except _COMMAND_FAILURES as exc:
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
    serve.add_argument("unit", choices=["resolver", "registry", "relay"])
    serve.set_defaults(command=_serve)

    migrate = commands.add_parser("migrate", help="apply the SQL migrations that are not applied")
    migrate.set_defaults(command=_migrate)

    rerender = commands.add_parser(
        "rerender",
        help="render every published code's pages again (after an upgrade changed them)",
    )
    rerender.set_defaults(command=_rerender)

    add_key_commands(commands)
    add_admin_commands(commands)
    add_backup_commands(commands)
    demo = commands.add_parser(
        "demo",
        help="load demo accounts, enterprises and approved products (a throw-away database only)",
    )
    demo.set_defaults(command=_demo)

    services = commands.add_parser(
        "services",
        help="start the embedded PostgreSQL and Redis and print their URLs (Ctrl-C stops them)",
    )
    services.set_defaults(command=_services)
    return parser


def _run(settings: Settings, _args: argparse.Namespace) -> None:
    # Supervised: an embedded server that crashes is restarted (safecode.supervision).
    with embedded_services(
        settings.data_dir,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        supervise=True,
    ) as urls:
        asyncio.run(_apply_migrations(urls.database_url))
        demo: list[tuple[str, str]] = []
        if settings.database_url is None:  # a laptop on its embedded database: show a demo
            demo = asyncio.run(_load_demo(settings, urls.database_url))
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
            f"  console    {base}/console/",
            f"  registry   {base}/api/v1",
            f"  health     {base}/healthz   readiness {base}/readyz",
        ]
        if embedded:
            banner.append(f"  embedded   {' and '.join(embedded)}, data in {settings.data_dir}")
        if demo:
            banner += [
                f"  demo       sign in to the console (or the API) with password {DEMO_PASSWORD}"
                " as: README 'Demo data'",
                "               13800000005 county admin (approves applications),"
                " 13800000002 province reviewer,",
                "               13800000000 national admin, 13700000001 an enterprise's owner",
                "",
                *(f"  demo scan  {name}  {url}" for name, url in demo),
                f"  {demo[0][0]}, for a phone to scan off the screen:",
                _terminal_qr(demo[0][1]),
            ]
        banner.append("Press Ctrl-C to stop.")
        asyncio.run(_serve_until_stopped(app, settings.host, settings.port, banner))


async def _load_demo(settings: Settings, database_url: str) -> list[tuple[str, str]]:
    """Demo accounts, enterprises, approved products and a batch's packages on their way;
    their (name, scan URL)."""
    master_key = load_master_key(settings)
    await ensure_demo_registry(database_url, master_key=master_key)
    products = await ensure_demo_products(
        database_url,
        master_key=master_key,
        public_base_url=settings.public_base_url,
        province=settings.province,
    )
    packages = await ensure_demo_lifecycle(database_url, public_base_url=settings.public_base_url)
    return [*products, *packages]


def _demo(settings: Settings, _args: argparse.Namespace) -> None:
    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        asyncio.run(_apply_migrations(database_url))
        demo = asyncio.run(_load_demo(settings, database_url))
    print(f"demo data loaded; every demo account's password is {DEMO_PASSWORD}")
    for name, url in demo:
        print(f"demo scan URL of {name}: {url}")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.database_url is None or settings.redis_url is None:
        raise CommandError(
            "serve needs DATABASE_URL and REDIS_URL; for the embedded servers run "
            "`safecode services` and export what it prints, or use `safecode run`"
        )
    if args.unit == "relay":
        urls = ServiceUrls(settings.database_url, settings.redis_url)
        asyncio.run(_relay_until_stopped(apps.service_config(settings, urls)))
        return
    port, workers = (
        (settings.resolver_port, settings.resolver_workers)
        if args.unit == "resolver"
        else (settings.registry_port, settings.registry_workers)
    )
    # Workers keep their metrics in files under a directory of this run's own, so that any
    # of them answers /metrics for the unit (codesvc/metrics.py); one alone, in memory.
    with (
        tempfile.TemporaryDirectory(prefix=f"safecode-{args.unit}-metrics-") as metrics_dir,
        metrics_shared_by_workers(Path(metrics_dir)) if workers > 1 else contextlib.nullcontext(),
    ):
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
    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        applied = asyncio.run(_apply_migrations(database_url))
    print(f"applied {len(applied)} migration(s)" if applied else "migrations are up to date")


def _rerender(settings: Settings, _args: argparse.Namespace) -> None:
    async def rerender(database_url: str) -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return await rerender_all(conn, public_base_url=settings.public_base_url)
        finally:
            await conn.close()

    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        count = asyncio.run(rerender(database_url))
    print(f"rendered the pages of {count} code(s) again; the relay takes them to Redis")


def _services(settings: Settings, _args: argparse.Namespace) -> None:
    # Supervised as under `safecode run`: units started on them see them come back.
    with embedded_services(
        settings.data_dir, database_url=None, redis_url=None, supervise=True
    ) as urls:
        print(f"export DATABASE_URL='{urls.database_url}'")
        print(f"export REDIS_URL='{urls.redis_url}'")
        print("Embedded PostgreSQL and Redis are running. Press Ctrl-C to stop them.", flush=True)
        while True:
            time.sleep(3600)


async def _relay_until_stopped(config: ServiceConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with open_resources(config) as resources:
        relay = Relay(
            config.database_url,
            resources.pool,
            resources.redis,
            redis_ttl=config.redis_record_ttl_seconds,
            scheduled=apps.relay_jobs(),
        )
        print("relay started (active while it holds the lock, standby otherwise)", flush=True)
        await relay.run(stop)


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


def _terminal_qr(url: str) -> str:
    """The QR symbol drawn with block characters, for a phone to scan off the screen."""
    out = io.StringIO()
    segno.make(url, error="m", boost_error=False).terminal(out=out, compact=True)
    return out.getvalue()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
