from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from safecode.migrations import (
    MigrationError,
    apply_migrations,
    discover,
    pending_migrations,
)


@pytest.fixture
async def conn(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database_url)
    yield connection
    await connection.close()


def _write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


@pytest.fixture
def sources(tmp_path: Path) -> list[tuple[str, Path]]:
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    _write(first, "0002_more.sql", "ALTER TABLE things ADD COLUMN name text;")
    _write(second, "0001_refs.sql", "CREATE TABLE refs (thing int REFERENCES things);")
    return [("first", first), ("second", second)]


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


async def test_applies_in_order_records_checksums_and_then_does_nothing(
    conn: asyncpg.Connection, sources: list[tuple[str, Path]]
) -> None:
    migrations = discover(sources)
    assert [m.id for m in migrations] == [
        "first/0001_things.sql",
        "first/0002_more.sql",
        "second/0001_refs.sql",
    ]
    applied = await apply_migrations(conn, migrations)
    assert [m.id for m in applied] == [m.id for m in migrations]
    assert {"things", "refs", "schema_migrations"} <= await _tables(conn)
    rows = await conn.fetch("SELECT package, name, checksum FROM schema_migrations")
    assert {(r["package"], r["name"], r["checksum"]) for r in rows} == {
        (m.package, m.name, m.checksum) for m in migrations
    }
    assert await apply_migrations(conn, discover(sources)) == []
    assert await pending_migrations(conn, migrations) == []


async def test_an_applied_file_edited_afterwards_stops_the_runner(
    conn: asyncpg.Connection, sources: list[tuple[str, Path]]
) -> None:
    await apply_migrations(conn, discover(sources))
    first = sources[0][1]
    _write(first, "0002_more.sql", "ALTER TABLE things ADD COLUMN label text;")
    _write(first, "0003_new.sql", "CREATE TABLE newer (id int);")
    with pytest.raises(
        MigrationError, match=r"first/0002_more\.sql was edited after it was applied"
    ):
        await apply_migrations(conn, discover(sources))
    # Nothing after the check ran: the new file is not applied.
    assert "newer" not in await _tables(conn)
    assert await pending_migrations(conn, discover(sources)) == [
        "first/0002_more.sql",
        "first/0003_new.sql",
    ]


async def test_an_applied_file_that_was_removed_stops_the_runner(
    conn: asyncpg.Connection, sources: list[tuple[str, Path]]
) -> None:
    await apply_migrations(conn, discover(sources))
    (sources[1][1] / "0001_refs.sql").unlink()
    with pytest.raises(MigrationError, match=r"second/0001_refs\.sql is applied .* file is gone"):
        await apply_migrations(conn, discover(sources))


async def test_a_failing_file_is_rolled_back_and_named(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "pkg"
    _write(folder, "0001_ok.sql", "CREATE TABLE ok (id int);")
    # The first statement would succeed alone; the transaction must take it back.
    _write(folder, "0002_broken.sql", "CREATE TABLE half (id int); SELECT no_such_column FROM ok;")
    _write(folder, "0003_after.sql", "CREATE TABLE after_broken (id int);")
    with pytest.raises(MigrationError, match=r"pkg/0002_broken\.sql failed and was rolled back"):
        await apply_migrations(conn, discover([("pkg", folder)]))
    tables = await _tables(conn)
    assert "ok" in tables
    assert "half" not in tables
    assert "after_broken" not in tables
    names = await conn.fetch("SELECT name FROM schema_migrations")
    assert [r["name"] for r in names] == ["0001_ok.sql"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["1_short.sql"], "named NNNN_lower_case_name.sql"),
        (["0001_Capital.sql"], "named NNNN_lower_case_name.sql"),
        (["0001_a.sql", "0001_b.sql"], "number 0001 is taken by 0001_a.sql"),
    ],
)
def test_badly_named_files_are_refused(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        _write(tmp_path, name, "SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        discover([("pkg", tmp_path)])


async def test_runners_started_at_once_apply_each_file_once(
    fresh_database_url: str, sources: list[tuple[str, Path]]
) -> None:
    migrations = discover(sources)
    connections = [await asyncpg.connect(fresh_database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, migrations) for c in connections))
        assert sorted(m.id for result in results for m in result) == sorted(
            m.id for m in migrations
        )
    finally:
        for c in connections:
            await c.close()
