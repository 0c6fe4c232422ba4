"""`safecode keys ...` and `safecode verify`: the signing keys, and checking a code offline."""

from __future__ import annotations

import argparse
import asyncio
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from codesvc.app import KEYS_PATH
from codesvc.codes import CodeFormatError, group_code_id, parse_code_or_url
from codesvc.keyring import KeyRing
from codesvc.resigning import codes_left_to_resign
from codesvc.service import BACKEND_ERRORS
from codesvc.signing import verify
from codesvc.storage import Connection, SigningKeyRow
from registry_api.products.codes import (
    CodeDesk,
    reprint_csv,
    reprint_notices_of_key,
    resign_codes,
    revoke_signing_key,
)
from safecode.embedded import embedded_database
from safecode.errors import CommandError, NotGenuine
from safecode.master_key import load_master_key
from safecode.settings import Settings

_T = TypeVar("_T")
MAX_KEYS_BYTES = 1024 * 1024


def add_key_commands(commands: Any) -> None:
    """Register `keys` and `verify` on the CLI's subcommands."""
    keys = commands.add_parser(
        "keys", help="the signing keys: list, rotate, retire, revoke, resign"
    )
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
        "revoke",
        help="revoke key KID (leaked): its codes are re-signed by the active key and the"
        " enterprises told to reprint",
    )
    revoke.add_argument("kid")
    revoke.add_argument("--reason", required=True, help="why (kept with the key, audited)")
    revoke.add_argument(
        "--notices",
        metavar="FILE",
        type=Path,
        help="the reprint notices CSV (default: DATA_DIR/reprint-notices-KID.csv)",
    )
    revoke.set_defaults(command=_keys_revoke)
    resign = key_commands.add_parser(
        "resign",
        help="re-sign the codes still signed by a revoked key (resumes a revocation cut short)",
    )
    resign.set_defaults(command=_keys_resign)

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

    with embedded_database(settings.data_dir, settings.database_url) as database_url:
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
    notices_file: Path = (
        args.notices or settings.data_dir / f"reprint-notices-{args.kid.upper()}.csv"
    )

    async def action(conn: Connection, keyring: KeyRing) -> None:
        revoked = await revoke_signing_key(conn, keyring, args.kid, args.reason)
        print(
            f"key {revoked.key_id} is revoked: scans of the {revoked.codes_signed} code(s) it"
            " signed no longer say genuine (they show the hazard data under a warning)",
            flush=True,
        )
        await _resign(conn, _desk(settings, keyring))
        notices = await reprint_notices_of_key(conn, revoked.key_id)
        await asyncio.to_thread(_write_file, notices_file, reprint_csv(notices))
        enterprises = len({notice.enterprise_id for notice in notices})
        print(
            f"{len(notices)} reprint notice(s) for {enterprises} enterprise(s), on their records"
            f" (GET /api/v1/enterprises/{{id}}/reprint-notices) and in {notices_file}"
        )

    _with_keyring(settings, action)


def _keys_resign(settings: Settings, _args: argparse.Namespace) -> None:
    async def action(conn: Connection, keyring: KeyRing) -> None:
        await _resign(conn, _desk(settings, keyring))

    _with_keyring(settings, action)


async def _resign(conn: Connection, desk: CodeDesk) -> None:
    left = await codes_left_to_resign(conn)
    if not left:
        print("no code is signed by a revoked key")
        return
    print(f"re-signing {left} code(s) with the active key ...", flush=True)
    done = await resign_codes(conn, desk)
    print(f"{done} code(s) re-signed; their scan pages are rendered again")


def _desk(settings: Settings, keyring: KeyRing) -> CodeDesk:
    return CodeDesk(keyring, settings.public_base_url, settings.province)


def _write_file(path: Path, body: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    except OSError as exc:
        # Revoked and re-signed already: the notices are on the enterprises' records.
        raise CommandError(
            f"cannot write the reprint notices to {path} ({exc.strerror}); they are on the"
            " enterprises' records (GET /api/v1/enterprises/{id}/reprint-notices)"
        ) from None


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
