"""`safecode admin ...`: what an operator does to the registry from the server itself."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import asyncpg

from codesvc.service import BACKEND_ERRORS
from registry_api.accounts.operations import create_national_admin
from registry_api.audit import first_broken_link, iter_audit_entries
from registry_api.errors import RegistryError
from registry_api.validators import InvalidValue, mobile_number
from safecode.embedded import embedded_database
from safecode.errors import CommandError
from safecode.settings import Settings


def add_admin_commands(commands: Any) -> None:
    """Register `admin` on the CLI's subcommands."""
    admin = commands.add_parser("admin", help="registry administration from the server")
    actions = admin.add_subparsers(required=True, metavar="ACTION")
    national = actions.add_parser(
        "create-national",
        help="create the first account: a national admin (prints a one-time password)",
    )
    national.add_argument("--mobile", required=True, help="the login name")
    national.add_argument("--name", required=True)
    national.add_argument(
        "--work-unit", required=True, help="the full official name, e.g. 中华人民共和国应急管理部"
    )
    national.set_defaults(command=_create_national)

    audit = commands.add_parser("audit", help="the registry's audit log")
    audit_actions = audit.add_subparsers(required=True, metavar="ACTION")
    audit_actions.add_parser(
        "verify", help="check the hash chain; names the first broken entry (exit 1)"
    ).set_defaults(command=_verify_audit)


def _create_national(settings: Settings, args: argparse.Namespace) -> None:
    try:
        mobile = mobile_number(args.mobile)
    except InvalidValue as exc:
        raise CommandError(f"--mobile {exc}") from None

    async def create(database_url: str) -> tuple[int, str]:
        try:
            conn = await asyncpg.connect(database_url, timeout=10)
        except BACKEND_ERRORS as exc:
            raise CommandError(f"cannot reach PostgreSQL: {exc}") from exc
        try:
            account, password = await create_national_admin(
                conn, mobile=mobile, name=args.name.strip(), work_unit=args.work_unit.strip()
            )
        except RegistryError as exc:
            raise CommandError(exc.message) from None
        except asyncpg.UndefinedTableError:
            raise CommandError("the database is not migrated; run `safecode migrate`") from None
        finally:
            await conn.close()
        return account.id, password

    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        account_id, password = asyncio.run(create(database_url))
    print(f"national admin {mobile} created (account {account_id})")
    print(f"one-time password: {password}")
    print("sign in with it at POST /api/v1/auth/login; it must be changed at the first sign-in")


def _verify_audit(settings: Settings, _args: argparse.Namespace) -> None:
    async def verify(database_url: str) -> tuple[int, tuple[int, str] | None]:
        try:
            conn = await asyncpg.connect(database_url, timeout=10)
        except BACKEND_ERRORS as exc:
            raise CommandError(f"cannot reach PostgreSQL: {exc}") from exc
        try:
            entries = [entry async for entry in iter_audit_entries(conn)]
        except asyncpg.UndefinedTableError:
            raise CommandError("the database is not migrated; run `safecode migrate`") from None
        finally:
            await conn.close()
        return len(entries), first_broken_link(entries)

    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        count, broken = asyncio.run(verify(database_url))
    if broken is not None:
        raise CommandError(f"audit log broken at entry {broken[0]}: {broken[1]}")
    print(f"audit log intact: {count} entries, each chained to the one before")
