"""`safecode`: run the product, one unit of it, its migrations, or its embedded servers."""

from __future__ import annotations

import argparse
import asyncio
import io
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
import segno
import uvicorn
from starlette.types import ASGIApp

from codesvc.app import KEYS_PATH
from codesvc.codes import CodeFormatError, group_code_id, parse_code_or_url
from codesvc.errors import CodesvcError
from codesvc.keyring import KeyRing
from codesvc.relay import Relay
from codesvc.service import BACKEND_ERRORS, ServiceConfig, open_resources
from codesvc.signing import verify
from codesvc.storage import Connection, SigningKeyRow
from safecode import apps
from safecode.demo import ensure_demo_code
from safecode.embedded import (
    EmbeddedPostgres,
    EmbeddedServiceError,
    ServiceUrls,
    embedded_services,
)
from safecode.logs import configure_logging
from safecode.master_key import MasterKeyError, load_master_key
from safecode.migrations import MigrationError, apply_migrations, discover
from safecode.settings import Settings, SettingsError, load_settings


class CommandError(Exception):
    """A command cannot go on; its message is printed as one line and the exit code is 1."""


class NotGenuine(Exception):
    """`safecode verify`'s answer for a code that is not genuine (exit code 1)."""


_T = TypeVar("_T")
# Failures a command reports in one line (exit code 1); anything else is a bug: traceback.
_COMMAND_FAILURES = (
    CommandError,
    MigrationError,
    EmbeddedServiceError,
    CodesvcError,
    MasterKeyError,
)
MAX_KEYS_BYTES = 1024 * 1024


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

    keys = commands.add_parser("keys", help="the signing keys: list, rotate, retire, revoke")
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    key_commands.add_parser("list", help="every key with its status").set_defaults(
        command=_keys_list
    )
    key_commands.add_parser(
        "rotate", help="add a new active key; the active one is retired (its codes stay genuine)"
    ).set_defaults(command=_keys_rotate)
    retire = key_commands.add_parser(
        "retire", help="retire the active key KID; a new key takes its place"
    )
    retire.add_argument("kid")
    retire.set_defaults(command=_keys_retire)
    revoke = key_commands.add_parser(
        "revoke", help="revoke key KID: codes it signed are no longer genuine"
    )
    revoke.add_argument("kid")
    revoke.add_argument("--reason", required=True, help="why (kept with the key)")
    revoke.set_defaults(command=_keys_revoke)

    verify = commands.add_parser(
        "verify", help="check a code or scan URL offline against the public keys; exit 0 if genuine"
    )
    verify.add_argument("code", metavar="CODE_OR_URL")
    verify.add_argument(
        "--keys",
        metavar="FILE_OR_URL",
        help="the JWKS to check against (default: the scan URL's host, else PUBLIC_BASE_URL)",
    )
    verify.set_defaults(command=_verify)

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
        demo_url = None
        if settings.database_url is None:  # a laptop on its embedded database: show a demo
            demo_url = asyncio.run(
                ensure_demo_code(
                    urls.database_url,
                    master_key=load_master_key(settings),
                    public_base_url=settings.public_base_url,
                    province=settings.province,
                )
            )
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
        if demo_url is not None:
            banner += ["", f"  demo scan  {demo_url}", _terminal_qr(demo_url)]
        banner.append("Press Ctrl-C to stop.")
        asyncio.run(_serve_until_stopped(app, settings.host, settings.port, banner))


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
    with _database(settings) as database_url:
        applied = asyncio.run(_apply_migrations(database_url))
    print(f"applied {len(applied)} migration(s)" if applied else "migrations are up to date")


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded PostgreSQL (started for the command if not running)."""
    postgres = EmbeddedPostgres(settings.data_dir)
    try:
        yield settings.database_url or postgres.start()
    finally:
        postgres.stop()


def _with_keyring(settings: Settings, action: Callable[[Connection, KeyRing], Awaitable[_T]]) -> _T:
    async def run(database_url: str) -> _T:
        try:
            conn = await asyncpg.connect(database_url, timeout=10)
        except BACKEND_ERRORS as exc:
            raise CommandError(f"cannot reach PostgreSQL: {exc}") from exc
        try:
            return await action(conn, KeyRing(load_master_key(settings)))
        except asyncpg.UndefinedTableError:
            raise CommandError("the database is not migrated; run `safecode migrate`") from None
        finally:
            await conn.close()

    with _database(settings) as database_url:
        return asyncio.run(run(database_url))


def _keys_list(settings: Settings, _args: argparse.Namespace) -> None:
    async def action(conn: Connection, keyring: KeyRing) -> list[SigningKeyRow]:
        return await keyring.keys(conn)

    keys = _with_keyring(settings, action)
    if not keys:
        print("no signing keys yet; the first is made when the first code is issued")
        return
    print(f"{'kid':<4} {'status':<8} {'created':<20} {'retired':<20} revoked")
    for key in keys:
        revoked = f"{_when(key.revoked_at)} ({key.revoked_reason})" if key.revoked_at else "-"
        print(
            f"{key.key_id:<4} {key.status.value:<8} {_when(key.created_at):<20} "
            f"{_when(key.retired_at):<20} {revoked}"
        )


def _keys_rotate(settings: Settings, _args: argparse.Namespace) -> None:
    async def action(conn: Connection, keyring: KeyRing) -> SigningKeyRow:
        return await keyring.rotate(conn)

    key = _with_keyring(settings, action)
    print(f"key {key.key_id} is now active; earlier keys are retired and their codes stay genuine")


def _keys_retire(settings: Settings, args: argparse.Namespace) -> None:
    async def action(conn: Connection, keyring: KeyRing) -> SigningKeyRow:
        return await keyring.retire(conn, args.kid)

    key = _with_keyring(settings, action)
    print(f"key {args.kid.upper()} is retired; key {key.key_id} is now active")


def _keys_revoke(settings: Settings, args: argparse.Namespace) -> None:
    async def action(conn: Connection, keyring: KeyRing) -> int:
        return await keyring.revoke(conn, args.kid, args.reason)

    signed = _with_keyring(settings, action)
    print(
        f"key {args.kid.upper()} is revoked; the {signed} code(s) it signed are no longer genuine"
    )


def _verify(settings: Settings, args: argparse.Namespace) -> None:
    try:
        target = parse_code_or_url(args.code)
    except CodeFormatError as exc:
        raise NotGenuine(f"not a code: {exc}") from None
    source = args.keys or _default_keys_url(args.code, settings.public_base_url)
    try:
        jwks = _read_keys(source)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the public keys from {source}: {exc}") from None
    result = verify(target.code, jwks)
    if not result.genuine:
        raise NotGenuine(result.reason)
    print(f"genuine: code {group_code_id(target.code.code_id)}, signed by key {result.key_id}")


def _default_keys_url(code_or_url: str, public_base_url: str) -> str:
    parts = urlsplit(code_or_url.strip())
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else public_base_url
    return base.lower() + KEYS_PATH


def _read_keys(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body: bytes = response.read(MAX_KEYS_BYTES + 1)
    else:
        body = Path(source).read_bytes()
    if len(body) > MAX_KEYS_BYTES:
        raise ValueError("larger than 1 MiB")
    return body


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _services(settings: Settings, _args: argparse.Namespace) -> None:
    with embedded_services(settings.data_dir, database_url=None, redis_url=None) as urls:
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
