"""`safecode backup` and `safecode restore`: the whole database in one consistent dump with a
manifest of checksums beside it, and a restore that checks what it restored.

The dump is pg_dump's custom format of every schema and table, taken in one snapshot; the
manifest's counts and migrations are read in that same snapshot. The master key is never
written: without it the signing keys and sealed ID numbers of a backup cannot be opened, so
it is kept apart from the backups, offline.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag

from codesvc.service import BACKEND_ERRORS
from codesvc.signing import KeySealError, open_private_key
from codesvc.storage import fetch_keys
from registry_api.accounts.rules import PersonalDataCipher
from registry_api.audit import first_broken_link, iter_audit_entries
from safecode.embedded import embedded_database
from safecode.errors import CommandError
from safecode.master_key import load_master_key, master_key_path
from safecode.migrations import discover, pending_migrations
from safecode.pg_tools import PgTool, choose_tool, find_tools, run_tool
from safecode.settings import Settings

FORMAT = "safecode-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
# Rows counted into the manifest, and compared after a restore.
COUNTED_TABLES = (
    "codes",
    "signing_keys",
    "audit_log",
    "published_records",
    "scan_counts",
    "accounts",
    "enterprises",
    "products",
)
_USER_OBJECTS = r"""
SELECT kind || ' ' || name FROM (
    SELECT 'relation' AS kind, format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 'function', format('%I.%I', n.nspname, p.proname)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 'schema', format('%I', nspname) FROM pg_namespace
    WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'
) objects ORDER BY kind <> 'relation', name
"""


@dataclass(frozen=True, slots=True)
class BackupFile:
    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: str  # ISO 8601, UTC
    server_version: str
    server_major: int
    pg_dump_version: str
    pg_dump_major: int
    migrations: list[str]  # package/file, as applied
    counts: dict[str, int]  # rows per table of COUNTED_TABLES that exists
    files: list[BackupFile]

    def to_json(self) -> str:
        document = {"format": FORMAT, **asdict(self)}
        document["master_key"] = "not included: keep SAFECODE_MASTER_KEY apart, offline"
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Raises ValueError saying what is wrong with the document."""
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f'"format" is not {FORMAT}')
        values: dict[str, Any] = {}
        for name, kind in _MANIFEST_FIELDS.items():
            value = document.get(name)
            if not isinstance(value, kind):
                raise ValueError(f'"{name}" is missing or not a {kind.__name__}')
            values[name] = value
        try:
            values["files"] = [BackupFile(**entry) for entry in values["files"]]
        except TypeError:
            raise ValueError('"files" must list objects of name, bytes and sha256') from None
        return cls(**values)


_MANIFEST_FIELDS: dict[str, type] = {
    "created_at": str,
    "server_version": str,
    "server_major": int,
    "pg_dump_version": str,
    "pg_dump_major": int,
    "migrations": list,
    "counts": dict,
    "files": list,
}


def file_entry(path: Path) -> BackupFile:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return BackupFile(path.name, path.stat().st_size, digest.hexdigest())


def verify_backup(directory: Path) -> Manifest:
    """The manifest of a complete, unchanged backup; a CommandError names what is not."""
    try:
        text = (directory / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(
            f"{directory}: no {MANIFEST}: not a SafeCode backup, or one that did not finish"
        ) from None
    except OSError as exc:
        raise CommandError(f"{directory / MANIFEST}: cannot read it ({exc})") from None
    try:
        manifest = Manifest.from_json(text)
    except ValueError as exc:
        raise CommandError(
            f"{directory / MANIFEST} is not a SafeCode backup manifest: {exc}"
        ) from None
    if DUMP not in {entry.name for entry in manifest.files}:
        raise CommandError(f"{directory / MANIFEST} lists no {DUMP}")
    for entry in manifest.files:
        if Path(entry.name).name != entry.name or entry.name in ("", ".", ".."):
            raise CommandError(f"{MANIFEST} names a file outside the backup: {entry.name!r}")
        path = directory / entry.name
        if not path.is_file():
            raise CommandError(f"{entry.name} is missing from the backup {directory}")
        found = file_entry(path)
        if found.bytes != entry.bytes:
            raise CommandError(
                f"{entry.name} is {found.bytes} bytes, the manifest says {entry.bytes}: "
                "the backup is incomplete or damaged; nothing was restored"
            )
        if found.sha256 != entry.sha256:
            raise CommandError(
                f"{entry.name} does not match its sha256 in the manifest: the backup was "
                "changed or damaged; nothing was restored"
            )
    return manifest


def add_backup_commands(commands: Any) -> None:
    """Register `backup` and `restore` on the CLI's subcommands."""
    backup = commands.add_parser(
        "backup",
        help="dump the whole database in one snapshot, with a manifest (never the master key)",
    )
    backup.add_argument(
        "--output",
        metavar="DIR",
        type=Path,
        help="a new or empty folder (default: ./safecode-backup-<UTC time>)",
    )
    backup.set_defaults(command=_backup)
    restore = commands.add_parser(
        "restore",
        help="check a backup's checksums, restore it into an empty database, check the result",
    )
    restore.add_argument("directory", metavar="DIR", type=Path)
    restore.set_defaults(command=_restore)


def _backup(settings: Settings, args: argparse.Namespace) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    output: Path = args.output or Path(f"safecode-backup-{now:%Y%m%dT%H%M%SZ}")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise CommandError(f"{output} exists and is not an empty folder; name a new one")
    created = not output.exists()
    dump, staged = output / DUMP, output / f".{MANIFEST}.partial"
    started = time.monotonic()
    try:
        output.mkdir(mode=0o700, parents=True, exist_ok=True)
        with embedded_database(settings.data_dir, settings.database_url) as database_url:
            manifest = asyncio.run(_dump(database_url, dump, now))
        staged.write_text(manifest.to_json(), encoding="utf-8")
        staged.replace(output / MANIFEST)  # last, whole: a backup without it never finished
    except BaseException as exc:
        for path in (dump, staged):
            path.unlink(missing_ok=True)
        if created and output.is_dir() and not any(output.iterdir()):
            output.rmdir()
        if isinstance(exc, OSError):
            raise CommandError(f"cannot write the backup to {output}: {exc}") from None
        raise
    seconds = time.monotonic() - started
    dumped = manifest.files[0]
    print(f"backup written to {output.resolve()} in {seconds:.1f} s")
    print(f"  {DUMP}  {_size(dumped.bytes)}, sha256 {dumped.sha256}")
    print(
        f"  taken at {manifest.created_at}, PostgreSQL {manifest.server_version}, "
        f"pg_dump {manifest.pg_dump_version}, {len(manifest.migrations)} migrations applied"
    )
    print(f"  rows     {_counts(manifest.counts)}")
    print(
        "The master key is NOT in the backup, and never is: keep it separately, offline, not "
        f"with the backups ({_where_the_master_key_is(settings)}). Without it the signing "
        "keys and sealed ID numbers in this backup cannot be opened."
    )


def _restore(settings: Settings, args: argparse.Namespace) -> None:
    directory: Path = args.directory
    manifest = verify_backup(directory)
    print(f"backup {directory} verified: {len(manifest.files)} file(s) match their sha256")
    master_key = _master_key_for_restore(settings)
    with embedded_database(settings.data_dir, settings.database_url) as database_url:
        asyncio.run(_check_target(database_url, manifest))
        pg_restore = choose_tool(
            "pg_restore",
            find_tools("pg_restore"),
            manifest.pg_dump_major,
            f"the backup was written by pg_dump {manifest.pg_dump_version}",
        )
        started = time.monotonic()
        asyncio.run(_pg_restore(database_url, pg_restore, directory / DUMP))
        seconds = time.monotonic() - started
        print(f"restored with pg_restore {pg_restore.version} in {seconds:.1f} s; checking it")
        report, problems = asyncio.run(_check_restored(database_url, manifest, master_key))
    for line in report:
        print(f"  {line}")
    if problems:
        raise CommandError("restored, but " + "; ".join(problems))
    print("restore complete: every check passed")


def _master_key_for_restore(settings: Settings) -> bytes:
    """The configured master key; never a new one (it could open nothing of the backup)."""
    if settings.master_key is None and not master_key_path(settings).is_file():
        raise CommandError(
            "restore needs the master key of the deployment the backup came from (it is never "
            f"in a backup): set SAFECODE_MASTER_KEY, or put its file at {master_key_path(settings)}"
        )
    return load_master_key(settings)


async def _connect(database_url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(database_url, timeout=10)
    except BACKEND_ERRORS as exc:
        raise CommandError(f"cannot reach PostgreSQL: {exc}") from exc


async def _server_version(conn: asyncpg.Connection) -> tuple[str, int]:
    version: str = await conn.fetchval("SHOW server_version")
    return version, int(await conn.fetchval("SHOW server_version_num")) // 10000


async def _dump(database_url: str, dump: Path, now: datetime) -> Manifest:
    """pg_dump in a snapshot exported by the transaction that reads the manifest's
    migrations and counts, so they describe exactly the rows dumped."""
    conn = await _connect(database_url)
    try:
        version, major = await _server_version(conn)
        # Blocking, but the event loop has nothing else to do: no other task runs.
        pg_dump = choose_tool(
            "pg_dump", find_tools("pg_dump"), major, f"the server is PostgreSQL {version}"
        )
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot: str = await conn.fetchval("SELECT pg_export_snapshot()")
            migrations = await _applied_migrations(conn)
            counts = await _counts_of(conn)
            fd = os.open(dump, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                command = [str(pg_dump.path), "--format=custom", f"--snapshot={snapshot}"]
                await run_tool(command, database_url, stdout=out.fileno())
    except asyncpg.PostgresError as exc:
        raise CommandError(f"cannot read the database to back it up: {exc}") from None
    finally:
        await conn.close()
    return Manifest(
        created_at=now.isoformat(),
        server_version=version,
        server_major=major,
        pg_dump_version=pg_dump.version,
        pg_dump_major=pg_dump.major,
        migrations=migrations,
        counts=counts,
        files=[file_entry(dump)],
    )


async def _applied_migrations(conn: asyncpg.Connection) -> list[str]:
    try:
        rows = await conn.fetch(
            "SELECT package || '/' || name FROM schema_migrations ORDER BY applied_at, 1"
        )
    except asyncpg.UndefinedTableError:
        raise CommandError(
            "the database is not migrated; nothing of SafeCode's to back up"
        ) from None
    return [row[0] for row in rows]


async def _check_target(database_url: str, manifest: Manifest) -> None:
    """Refuse a server older than the backup's, and a database that holds anything."""
    conn = await _connect(database_url)
    try:
        version, major = await _server_version(conn)
        objects = [row[0] for row in await conn.fetch(_USER_OBJECTS)]
    finally:
        await conn.close()
    if major < manifest.server_major:
        raise CommandError(
            f"the backup is of PostgreSQL {manifest.server_version}, the target server is "
            f"{version}: restore onto PostgreSQL {manifest.server_major} or newer"
        )
    if objects:
        more = f" and {len(objects) - 3} more" if len(objects) > 3 else ""
        raise CommandError(
            f"the target database is not empty (it holds {', '.join(objects[:3])}{more}); "
            "nothing was restored: restore into a new, empty database (createdb) so nothing "
            "in it is overwritten"
        )


async def _pg_restore(database_url: str, pg_restore: PgTool, dump: Path) -> None:
    # One transaction: a restore that fails leaves the target as empty as it was. The
    # restoring user owns what it restores; the source's roles need not exist here.
    command = [str(pg_restore.path), "--single-transaction", "--exit-on-error"]
    try:
        await run_tool([*command, "--no-owner", "--no-privileges", str(dump)], database_url)
    except CommandError as exc:
        raise CommandError(f"{exc}; nothing was restored (one transaction)") from None


async def _counts_of(conn: asyncpg.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in COUNTED_TABLES:
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return counts


async def _check_restored(
    database_url: str, manifest: Manifest, master_key: bytes
) -> tuple[list[str], list[str]]:
    """(what was found, what is wrong) in the restored database."""
    report: list[str] = []
    problems: list[str] = []
    conn = await _connect(database_url)
    try:
        pending = await pending_migrations(conn, discover())
        counts = await _counts_of(conn)
        entries = [entry async for entry in iter_audit_entries(conn)]
        keys = await fetch_keys(conn)
        sealed_ids = await conn.fetch(
            "SELECT resident_id_sealed FROM accounts WHERE resident_id_sealed IS NOT NULL"
        )
    except asyncpg.PostgresError as exc:
        raise CommandError(f"restored, but the restored database cannot be read: {exc}") from None
    finally:
        await conn.close()
    if pending:
        problems.append(
            f"{len(pending)} migration(s) are not applied ({', '.join(pending[:3])}): the "
            "backup is from another release; run `safecode migrate`"
        )
    else:
        report.append(f"migrations  all {len(manifest.migrations)} applied")
    differ = [table for table, rows in manifest.counts.items() if counts.get(table) != rows]
    if differ:
        problems.append(f"row counts differ from the manifest's in {', '.join(differ)}")
    else:
        report.append(f"rows        as in the manifest: {_counts(counts)}")
    broken = first_broken_link(entries)
    if broken is None:
        report.append(f"audit log   {len(entries)} entries, each chained to the one before")
    else:
        problems.append(f"the audit log is broken at entry {broken[0]}: {broken[1]}")
    try:
        for key in keys:
            open_private_key(master_key, key.key_id, key.sealed_private_key)
        cipher = PersonalDataCipher(master_key)
        for row in sealed_ids:
            cipher.open(row[0])
    except (KeySealError, InvalidTag) as exc:
        what = str(exc) if isinstance(exc, KeySealError) else "a sealed ID number does not open"
        problems.append(
            f"{what}: the master key is wrong; set the one of the deployment this backup is from"
        )
    else:
        report.append(
            f"key ring    {len(keys)} signing key(s) and {len(sealed_ids)} sealed ID "
            "number(s) open with the master key"
        )
    return report, problems


def _where_the_master_key_is(settings: Settings) -> str:
    if settings.master_key is not None:
        return "here it is SAFECODE_MASTER_KEY in the environment"
    return f"here it is the file {master_key_path(settings)}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {rows}" for table, rows in counts.items())


def _size(size: int) -> str:
    return f"{size} bytes" if size < 10 * 1024 else f"{size / 1024:.0f} KiB"
