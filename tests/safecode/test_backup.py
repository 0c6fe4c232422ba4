"""`safecode backup` and `safecode restore` as an operator runs them: the drill (back up a
database in use, restore it into an empty one, and it answers every scan the same), and
every backup or target that restore must refuse."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
import redis.asyncio as aioredis

from codesvc.codes import Code
from codesvc.issuance import issue_code
from codesvc.keyring import KeyRing
from codesvc.publishing import publish
from codesvc.records import VIEWS
from codesvc.signing import open_private_key
from codesvc.storage import fetch_keys
from codesvc.telemetry import move_counts_to_postgres
from registry_api.audit import first_broken_link, iter_audit_entries
from safecode import apps
from safecode.backup import DUMP, MANIFEST, verify_backup
from safecode.demo import DEMO_PASSWORD, ensure_demo_registry, sample_record
from safecode.demo_products import ensure_demo_products
from safecode.embedded import ServiceUrls
from safecode.errors import CommandError
from safecode.pg_tools import PgTool, choose_tool, find_tools, tool_version
from safecode.settings import Settings, load_settings
from tests.conftest import client_for, run_cli

BASE_URL = "http://127.0.0.1:8000"
RESIDENT_ID = "11010519491231002X"
# A scan as each reader asks for it: every page view in both languages, and the data.
SCAN_VARIANTS = [
    *((f"?view={view}&lang={lang}", "text/html") for view in VIEWS for lang in ("zh", "en")),
    ("", "application/json"),
    ("", "application/linkset+json"),
]


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch, master_key: bytes, tmp_path: Path) -> Settings:
    """The environment an operator's shell has: the master key set, no URLs yet."""
    monkeypatch.setenv("SAFECODE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFECODE_MASTER_KEY", base64.b64encode(master_key).decode())
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


async def _cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", database_url)
    # The command runs its own event loop, as it does from a shell: off this one.
    return await asyncio.to_thread(run_cli, list(argv))


async def test_a_backup_restores_into_an_empty_database_and_every_code_scans_the_same(
    operator_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    fresh_database_url: str,
    master_key: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    codes = await _demo_with_traffic(operator_env, service_urls, master_key)
    source = await _fingerprint(service_urls.database_url)
    assert source["public.scan_counts"][0] > 0, "the traffic left no scan counts"

    backup = tmp_path / "backup"
    assert (
        await _cli(monkeypatch, service_urls.database_url, "backup", "--output", str(backup)) == 0
    )
    said = capsys.readouterr().out
    assert "The master key is NOT in the backup" in said
    assert "SAFECODE_MASTER_KEY" in said
    assert sorted(p.name for p in backup.iterdir()) == [DUMP, MANIFEST]
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["counts"]["codes"] == len(codes) == 5
    assert manifest["counts"]["signing_keys"] == 2
    assert manifest["counts"]["audit_log"] == source["public.audit_log"][0]
    assert len(manifest["migrations"]) == source["public.schema_migrations"][0]

    assert await _cli(monkeypatch, fresh_database_url, "restore", str(backup)) == 0
    said = capsys.readouterr().out
    assert f"audit log   {manifest['counts']['audit_log']} entries, each chained" in said
    assert "2 signing key(s) and 1 sealed ID number(s) open with the master key" in said
    assert said.rstrip().endswith("restore complete: every check passed")

    # Every table and sequence came back, row for row: the whole database, not a list.
    assert await _fingerprint(fresh_database_url) == source
    restored = ServiceUrls(fresh_database_url, service_urls.redis_url)
    original_scans = await _scan_every_code(operator_env, service_urls, codes)
    restored_scans = await _scan_every_code(operator_env, restored, codes)
    assert [status for status, _, _ in original_scans.values()].count(200) == 4 * len(
        SCAN_VARIANTS
    )  # four codes published, one issued only: the comparison is of real pages
    assert restored_scans == original_scans

    conn = await asyncpg.connect(fresh_database_url)
    try:
        entries = [entry async for entry in iter_audit_entries(conn)]
        keys = await fetch_keys(conn)
    finally:
        await conn.close()
    assert len(entries) == manifest["counts"]["audit_log"]
    assert first_broken_link(entries) is None
    assert [key.key_id for key in keys] == ["01", "02"]
    for key in keys:
        open_private_key(master_key, key.key_id, key.sealed_private_key)


async def test_restore_with_another_master_key_says_the_master_key_is_wrong(
    operator_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    fresh_database_url: str,
    keyring: KeyRing,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = await _small_backup(monkeypatch, service_urls, keyring, tmp_path)
    capsys.readouterr()

    monkeypatch.delenv("SAFECODE_MASTER_KEY")  # and no key file under the data dir either
    assert await _cli(monkeypatch, fresh_database_url, "restore", str(backup)) == 1
    assert "restore needs the master key" in capsys.readouterr().err
    assert await _objects(fresh_database_url) == 0

    monkeypatch.setenv("SAFECODE_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    assert await _cli(monkeypatch, fresh_database_url, "restore", str(backup)) == 1
    captured = capsys.readouterr()
    assert "audit log" in captured.out  # the data is restored; only its keys stay shut
    err = captured.err.strip().splitlines()
    assert len(err) == 1
    assert "signing key 01 does not open with this SAFECODE_MASTER_KEY" in err[0]
    assert "the master key is wrong" in err[0]


@pytest.mark.parametrize(
    ("damage", "complaint"),
    [
        ("flip a byte", f"{DUMP} does not match its sha256 in the manifest"),
        ("cut it short", f"{DUMP} is "),
        ("remove the dump", f"{DUMP} is missing from the backup"),
        ("remove the manifest", f"no {MANIFEST}: not a SafeCode backup"),
    ],
)
async def test_a_changed_or_incomplete_backup_is_refused_naming_the_file(
    damage: str,
    complaint: str,
    operator_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    fresh_database_url: str,
    keyring: KeyRing,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = await _small_backup(monkeypatch, service_urls, keyring, tmp_path)
    dump = backup / DUMP
    data = dump.read_bytes()
    if damage == "flip a byte":
        middle = len(data) // 2
        dump.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    elif damage == "cut it short":
        dump.write_bytes(data[:-100])
    elif damage == "remove the dump":
        dump.unlink()
    else:
        (backup / MANIFEST).unlink()
    capsys.readouterr()

    assert await _cli(monkeypatch, fresh_database_url, "restore", str(backup)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert complaint in err[0]
    assert await _objects(fresh_database_url) == 0  # refused before touching the target


async def test_restoring_into_a_database_that_holds_anything_is_refused_and_changes_nothing(
    operator_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    fresh_database_url: str,
    keyring: KeyRing,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = await _small_backup(monkeypatch, service_urls, keyring, tmp_path)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await conn.execute("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('keep')")
    finally:
        await conn.close()
    capsys.readouterr()

    for target in (service_urls.database_url, fresh_database_url):
        before = await _fingerprint(target)
        assert await _cli(monkeypatch, target, "restore", str(backup)) == 1
        err = capsys.readouterr().err
        assert "the target database is not empty" in err
        assert "nothing was restored" in err
        assert await _fingerprint(target) == before
    assert "(it holds relation public.notes);" in err


async def test_the_backup_holds_no_master_key(
    operator_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    service_urls: ServiceUrls,
    master_key: bytes,
    keyring: KeyRing,
    tmp_path: Path,
) -> None:
    backup = await _small_backup(monkeypatch, service_urls, keyring, tmp_path)
    # The dump's table data is compressed: search pg_restore's plain SQL of it too.
    as_sql = await asyncio.to_thread(_as_sql, backup / DUMP)
    conn = await asyncpg.connect(service_urls.database_url)
    try:
        sealed = (await fetch_keys(conn))[0].sealed_private_key
    finally:
        await conn.close()
    assert sealed.hex().encode() in as_sql  # the search finds what is in the data

    spellings = [
        master_key,
        master_key.hex().encode(),
        base64.b64encode(master_key),
        base64.urlsafe_b64encode(master_key).rstrip(b"="),
    ]
    contents = [as_sql, *(path.read_bytes() for path in backup.iterdir())]
    for content in contents:
        for spelling in spellings:
            assert spelling not in content


def test_the_pg_dump_chosen_is_the_closest_not_older_than_the_server() -> None:
    assert tool_version("pg_dump (PostgreSQL) 16.2\n") == ("16.2", 16)
    assert tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)") == ("15.20", 15)
    assert tool_version("pg_dump (PostgreSQL) 17beta1") == ("17", 17)
    assert tool_version("something else") is None
    tools = [
        PgTool(Path("/a/pg_dump"), "16.2", 16),
        PgTool(Path("/b/pg_dump"), "15.20", 15),
        PgTool(Path("/c/pg_dump"), "17.0", 17),
    ]
    assert choose_tool("pg_dump", tools, 15, "").path == Path("/b/pg_dump")
    assert choose_tool("pg_dump", tools, 16, "").path == Path("/a/pg_dump")
    with pytest.raises(CommandError) as refused:
        choose_tool("pg_dump", tools, 18, "the server is PostgreSQL 18.1")
    message = str(refused.value)
    assert "no pg_dump of PostgreSQL 18 or newer found (the server is PostgreSQL 18.1)" in message
    assert "16.2 (/a/pg_dump)" in message
    assert "postgresql-client-18" in message


def test_a_manifest_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / DUMP).write_bytes(b"dump")
    entry = {"name": DUMP, "bytes": 4, "sha256": "0" * 64}
    good = {
        "format": "safecode-backup/1",
        "created_at": "2026-01-01T00:00:00+00:00",
        "server_version": "16.2",
        "server_major": 16,
        "pg_dump_version": "16.2",
        "pg_dump_major": 16,
        "migrations": [],
        "counts": {},
        "files": [entry],
    }

    def refusal(document: object) -> str:
        text = document if isinstance(document, str) else json.dumps(document)
        (tmp_path / MANIFEST).write_text(text)
        with pytest.raises(CommandError) as refused:
            verify_backup(tmp_path)
        return str(refused.value)

    assert f"{DUMP} does not match its sha256" in refusal(good)
    assert '"counts" is missing or not a dict' in refusal({**good, "counts": []})
    assert '"format" is not safecode-backup/1' in refusal({**good, "format": "other"})
    escape = {"name": "../etc/passwd", "bytes": 1, "sha256": "x"}
    outside = {**good, "files": [escape, entry]}
    assert "names a file outside the backup: '../etc/passwd'" in refusal(outside)
    assert "not a SafeCode backup manifest" in refusal("not json {")


@pytest.mark.slow
def test_backup_and_restore_on_the_embedded_database(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A laptop's database, to a second laptop: the key file travels apart, by hand."""
    for name in ("DATABASE_URL", "REDIS_URL", "SAFECODE_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAFECODE_DATA_DIR", str(data_dir))
    assert run_cli(["migrate"]) == 0
    assert run_cli(["keys", "rotate"]) == 0  # the first key, sealed under a generated key
    capsys.readouterr()
    backup = tmp_path / "backup"
    assert run_cli(["backup", "--output", str(backup)]) == 0
    said = capsys.readouterr().out
    assert f"here it is the file {data_dir / 'master.key'}" in said
    assert "signing_keys 1" in said

    second = data_dir / "second"  # under data_dir: its server is stopped whatever happens
    monkeypatch.setenv("SAFECODE_DATA_DIR", str(second))
    assert run_cli(["restore", str(backup)]) == 1
    assert "restore needs the master key" in capsys.readouterr().err
    second.mkdir()
    shutil.copy(data_dir / "master.key", second / "master.key")
    assert run_cli(["restore", str(backup)]) == 0
    said = capsys.readouterr().out
    assert "1 signing key(s) and 0 sealed ID number(s) open with the master key" in said
    assert "restore complete" in said


async def _demo_with_traffic(settings: Settings, urls: ServiceUrls, master_key: bytes) -> list[str]:
    """The demo's registry and products, then what a day adds: a regulator with a sealed ID
    number, a key rotation, a code signed by the new key, one issued only, and scans.
    Returns every code's text."""
    await ensure_demo_registry(urls.database_url, master_key=master_key)
    await ensure_demo_products(
        urls.database_url, master_key=master_key, public_base_url=BASE_URL, province="14"
    )
    async with client_for(apps.registry_app(settings, urls)) as registry:
        signed_in = await registry.post(
            "/api/v1/auth/login", json={"mobile": "13800000001", "password": DEMO_PASSWORD}
        )
        token = signed_in.json()["token"]
        created = await registry.post(
            "/api/v1/accounts",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "mobile": "13900000099",
                "name": "李四",
                "role": "viewer",
                "level": "province",
                "jurisdiction_id": "140000",
                "work_unit": "山西省应急管理厅",
                "resident_id": RESIDENT_ID,
            },
        )
        assert created.status_code == 201, created.text
    keyring = KeyRing(master_key)
    async with asyncpg.create_pool(urls.database_url, min_size=1, max_size=2) as pool:
        async with pool.acquire() as conn:
            await keyring.rotate(conn)
            issued = await issue_code(conn, "new/product", keyring=keyring, province="14")
            await publish(conn, issued.code.code_id, sample_record(), public_base_url=BASE_URL)
            await issue_code(conn, "issued/only", keyring=keyring, province="14")
            rows = await conn.fetch("SELECT code_id, key_id, signature FROM codes")
        codes = [Code(row[0], row[1], bytes(row[2])).text for row in rows]
        await _scan_every_code(settings, urls, codes)  # counted, flushed to Redis at shutdown
        client = aioredis.Redis.from_url(urls.redis_url)
        try:
            await move_counts_to_postgres(client, pool)
        finally:
            await client.aclose()
    return sorted(codes)


async def _scan_every_code(
    settings: Settings, urls: ServiceUrls, codes: list[str]
) -> dict[tuple[str, str, str], tuple[int, str, bytes]]:
    """(status, content type, body) of every variant of every code, as a resolver on `urls`
    answers from PostgreSQL (Redis emptied first: nothing is served from another's cache)."""
    await asyncio.to_thread(_flush_redis, urls.redis_url)
    answers: dict[tuple[str, str, str], tuple[int, str, bytes]] = {}
    async with client_for(apps.resolver_app(settings, urls)) as resolver:
        for code in codes:
            for query, accept in SCAN_VARIANTS:
                response: httpx.Response = await resolver.get(
                    f"/C/{code}{query}", headers={"Accept": accept}
                )
                content_type = response.headers.get("content-type", "")
                answers[code, query, accept] = (
                    response.status_code,
                    content_type,
                    response.content,
                )
    return answers


def _as_sql(dump: Path) -> bytes:
    pg_restore = choose_tool("pg_restore", find_tools("pg_restore"), 10, "the test")
    command = [str(pg_restore.path), "--file=-", str(dump)]
    return subprocess.run(command, capture_output=True, check=True).stdout


def _flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


async def _small_backup(
    monkeypatch: pytest.MonkeyPatch, urls: ServiceUrls, keyring: KeyRing, tmp_path: Path
) -> Path:
    """A backup of a database with one signing key and one issued code."""
    conn = await asyncpg.connect(urls.database_url)
    try:
        await issue_code(conn, "e/p", keyring=keyring, province="14")
    finally:
        await conn.close()
    backup = tmp_path / "backup"
    assert await _cli(monkeypatch, urls.database_url, "backup", "--output", str(backup)) == 0
    return backup


async def _fingerprint(database_url: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the rows in order) of every table, and every sequence's position."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        found: dict[str, tuple[int, str]] = {}
        for (table,) in tables:
            counted = await conn.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text),"
                f" '')) FROM {table} t"
            )
            assert counted is not None
            found[table] = (counted[0], counted[1])
        for row in await conn.fetch(
            "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, 0)"
            " FROM pg_sequences"
        ):
            found[f"sequence {row[0]}"] = (row[1], "")
    finally:
        await conn.close()
    return found


async def _objects(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public'"
        )
    finally:
        await conn.close()
    return count
