"""Numbered SQL migrations per package, applied in order and recorded with a checksum.

Files are `NNNN_name.sql` in `codesvc/migrations/` and `registry_api/migrations/`;
codesvc's come first because the registry builds on codesvc, never the other way. Each
file runs in its own transaction together with its row in `schema_migrations`, so a
failing file leaves nothing half-applied. A file edited after it was applied stops the
runner: the database no longer matches what the code says it is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

import codesvc
import registry_api
from codesvc.storage import Connection

# (package, folder) in the order their migrations apply.
DEFAULT_SOURCES: tuple[tuple[str, Path], ...] = (
    ("codesvc", codesvc.MIGRATIONS_DIR),
    ("registry_api", registry_api.MIGRATIONS_DIR),
)
_FILE_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# Serialises runners started at once (several workers, or a deploy during a test run).
_ADVISORY_LOCK_KEY = 0x5AFEC0DE

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    package    text        NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (package, name)
)
"""


class MigrationError(Exception):
    """The migrations cannot be applied as they are; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Migration:
    package: str
    name: str  # the file name, e.g. 0001_codes.sql
    sql: str
    checksum: str  # sha256 of the file's bytes, hex

    @property
    def id(self) -> str:
        return f"{self.package}/{self.name}"


def discover(sources: Sequence[tuple[str, Path]] = DEFAULT_SOURCES) -> list[Migration]:
    """Every migration file, in the order it applies; raises `MigrationError` on a bad name."""
    migrations: list[Migration] = []
    for package, folder in sources:
        numbers: dict[str, str] = {}
        paths = sorted(folder.glob("*.sql")) if folder.is_dir() else []
        for path in paths:
            match = _FILE_NAME.fullmatch(path.name)
            if match is None:
                raise MigrationError(
                    f"{package}/{path.name}: migration files are named NNNN_lower_case_name.sql"
                )
            number = match.group(1)
            if number in numbers:
                raise MigrationError(
                    f"{package}/{path.name}: number {number} is taken by {numbers[number]}"
                )
            numbers[number] = path.name
            content = path.read_bytes()
            migrations.append(
                Migration(
                    package=package,
                    name=path.name,
                    sql=content.decode("utf-8"),
                    checksum=hashlib.sha256(content).hexdigest(),
                )
            )
    return migrations


async def apply_migrations(conn: Connection, migrations: Sequence[Migration]) -> list[Migration]:
    """Apply what is not applied yet, in order; returns what was applied now.

    Raises `MigrationError` before applying anything if an applied file was edited or
    removed, and names the file whose SQL failed (the files before it stay applied).
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        applied = await _applied(conn)
        _check_applied_unchanged(applied, migrations)
        done: list[Migration] = []
        for migration in migrations:
            if (migration.package, migration.name) in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (package, name, checksum)"
                        " VALUES ($1, $2, $3)",
                        migration.package,
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{migration.id} failed and was rolled back: {exc}") from exc
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)


async def pending_migrations(conn: Connection, migrations: Sequence[Migration]) -> list[str]:
    """Ids of migrations not applied, or applied from a file that has since changed."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = await _applied(conn) if exists else {}
    return [
        migration.id
        for migration in migrations
        if applied.get((migration.package, migration.name)) != migration.checksum
    ]


async def _applied(conn: Connection) -> dict[tuple[str, str], str]:
    rows = await conn.fetch("SELECT package, name, checksum FROM schema_migrations")
    return {(row["package"], row["name"]): row["checksum"] for row in rows}


def _check_applied_unchanged(
    applied: dict[tuple[str, str], str], migrations: Sequence[Migration]
) -> None:
    known = {(m.package, m.name): m for m in migrations}
    for key, checksum in sorted(applied.items()):
        migration = known.get(key)
        if migration is None:
            raise MigrationError(
                f"{key[0]}/{key[1]} is applied to the database but its file is gone; "
                "restore it (applied migrations are never removed)"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.id} was edited after it was applied (checksum {checksum[:12]} "
                f"in the database, {migration.checksum[:12]} on disk); restore the file and "
                "put the change in a new migration"
            )
