"""The one reader of the environment.

Every variable the product reads is listed in `VARIABLES` with its default and a line
saying what it is for; `.env.example` and the README's configuration table list the
same names (a test keeps them in step). A bad value stops start-up with one line that
names the variable: `SettingsError` carries it, and the CLI prints it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from codesvc.codes import PROVINCE_CODES

_T = TypeVar("_T")
MASTER_KEY_BYTES = 32
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


class SettingsError(Exception):
    """A variable has a value the product cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: str | None  # None: unset by default, with the meaning the description gives
    description: str


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        None,
        "PostgreSQL URL (postgresql://...); unset: an embedded PostgreSQL under the data dir",
    ),
    Variable("DATABASE_POOL_SIZE", "10", "most connections each process opens to PostgreSQL"),
    Variable(
        "REDIS_URL",
        None,
        "Redis URL (redis://, rediss:// or unix://); unset: an embedded Redis under the data dir",
    ),
    Variable(
        "PUBLIC_BASE_URL",
        None,
        "scheme and host printed QR codes point to (scan URLs are {this}/C/{code});"
        " unset: http://127.0.0.1:{PORT}",
    ),
    Variable(
        "SAFECODE_MASTER_KEY",
        None,
        "32 bytes, base64, that encrypt the signing keys; unset: generated under the data dir",
    ),
    Variable(
        "SAFECODE_PROVINCE",
        "14",
        "GB/T 2260 code of the issuing province: the first two characters of new code_ids",
    ),
    Variable(
        "SAFECODE_DATA_DIR",
        "./var",
        "where the embedded PostgreSQL, Redis and generated master key live",
    ),
    Variable("HOST", "127.0.0.1", "address the HTTP servers listen on"),
    Variable("PORT", "8000", "port of `safecode run` (resolver at /, registry under /api/v1)"),
    Variable("RESOLVER_PORT", "8000", "port of `safecode serve resolver`"),
    Variable("REGISTRY_PORT", "8001", "port of `safecode serve registry`"),
    Variable("RESOLVER_WORKERS", "2", "worker processes of `safecode serve resolver`"),
    Variable("REGISTRY_WORKERS", "1", "worker processes of `safecode serve registry`"),
    Variable("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Variable("L1_CACHE_SIZE", "10000", "scan records each resolver process keeps in memory"),
    Variable(
        "L1_CACHE_TTL_SECONDS", "30", "how long a process keeps a record without asking Redis"
    ),
    Variable(
        "REDIS_RECORD_TTL_SECONDS", "86400", "how long Redis keeps a record after it was written"
    ),
    Variable(
        "NEGATIVE_CACHE_TTL_SECONDS",
        "2",
        "how long an unknown code is remembered as unknown (kept short: a new code must appear)",
    ),
    Variable(
        "LOOKUP_LIMIT_PER_MINUTE",
        "30",
        "manual code lookups (/lookup) one client address may make a minute; scans are not limited",
    ),
    Variable(
        "CONSOLE_IDLE_MINUTES",
        "30",
        "minutes without a request after which a console session ends (sign in again)",
    ),
)
_DEFAULTS = {v.name: v.default for v in VARIABLES}
# Not a setting: `safecode serve` sets it for the uvicorn workers it starts, to a fresh
# directory of their own; prometheus-client reads it when a worker imports it.
PROMETHEUS_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None  # None: start the embedded PostgreSQL
    database_pool_size: int
    redis_url: str | None  # None: start the embedded Redis
    public_base_url: str  # no trailing slash
    master_key: bytes | None  # None: read or generate data_dir/master.key
    province: str
    data_dir: Path  # absolute
    host: str
    port: int
    resolver_port: int
    registry_port: int
    resolver_workers: int
    registry_workers: int
    log_level: str
    l1_cache_size: int
    l1_cache_ttl_seconds: float
    redis_record_ttl_seconds: int
    negative_cache_ttl_seconds: float
    lookup_limit_per_minute: int
    console_idle_minutes: int


@dataclass(frozen=True, slots=True)
class TestTargets:
    """Servers the test suite runs against; None: the suite starts embedded ones."""

    database_url: str | None
    redis_url: str | None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every variable; raises `SettingsError` on the first bad one."""
    env = os.environ if environ is None else environ

    def read(name: str) -> str | None:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return _DEFAULTS[name]
        return raw.strip()

    def required(name: str) -> str:
        value = read(name)
        assert value is not None, f"{name} has no default"
        return value

    def parse(name: str, parser: Callable[[str, str], _T]) -> _T:
        return parser(name, required(name))

    database_url = read("DATABASE_URL")
    redis_url = read("REDIS_URL")
    master_key = read("SAFECODE_MASTER_KEY")
    port = parse("PORT", _port)
    public_base_url = read("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
    return Settings(
        database_url=None if database_url is None else _postgres_url("DATABASE_URL", database_url),
        database_pool_size=_int_between(
            "DATABASE_POOL_SIZE", required("DATABASE_POOL_SIZE"), 1, 500
        ),
        redis_url=None if redis_url is None else _redis_url("REDIS_URL", redis_url),
        public_base_url=_public_base_url("PUBLIC_BASE_URL", public_base_url),
        master_key=None if master_key is None else _master_key("SAFECODE_MASTER_KEY", master_key),
        province=parse("SAFECODE_PROVINCE", _province),
        data_dir=Path(required("SAFECODE_DATA_DIR")).expanduser().resolve(),
        host=parse("HOST", _host),
        port=port,
        resolver_port=parse("RESOLVER_PORT", _port),
        registry_port=parse("REGISTRY_PORT", _port),
        resolver_workers=_int_between("RESOLVER_WORKERS", required("RESOLVER_WORKERS"), 1, 256),
        registry_workers=_int_between("REGISTRY_WORKERS", required("REGISTRY_WORKERS"), 1, 256),
        log_level=parse("LOG_LEVEL", _log_level),
        l1_cache_size=_int_between("L1_CACHE_SIZE", required("L1_CACHE_SIZE"), 0, 10_000_000),
        l1_cache_ttl_seconds=_seconds("L1_CACHE_TTL_SECONDS", required("L1_CACHE_TTL_SECONDS")),
        redis_record_ttl_seconds=_int_between(
            "REDIS_RECORD_TTL_SECONDS", required("REDIS_RECORD_TTL_SECONDS"), 1, 366 * 86400
        ),
        negative_cache_ttl_seconds=_seconds(
            "NEGATIVE_CACHE_TTL_SECONDS", required("NEGATIVE_CACHE_TTL_SECONDS")
        ),
        lookup_limit_per_minute=_int_between(
            "LOOKUP_LIMIT_PER_MINUTE", required("LOOKUP_LIMIT_PER_MINUTE"), 1, 100_000
        ),
        console_idle_minutes=_int_between(
            "CONSOLE_IDLE_MINUTES", required("CONSOLE_IDLE_MINUTES"), 1, 24 * 60
        ),
    )


@contextmanager
def metrics_shared_by_workers(directory: Path) -> Iterator[None]:
    """Worker processes started inside keep their metrics in files under `directory`
    (prometheus-client's multiprocess mode), so that whichever of them answers `/metrics`
    answers for all. The one variable the product writes, for its children; put back as
    it was on the way out."""
    previous = os.environ.get(PROMETHEUS_MULTIPROC_DIR)
    os.environ[PROMETHEUS_MULTIPROC_DIR] = str(directory)
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PROMETHEUS_MULTIPROC_DIR]
        else:
            os.environ[PROMETHEUS_MULTIPROC_DIR] = previous


def load_test_targets(environ: Mapping[str, str] | None = None) -> TestTargets:
    """TEST_DATABASE_URL and TEST_REDIS_URL, read for the test suite only."""
    env = os.environ if environ is None else environ
    database_url = env.get("TEST_DATABASE_URL", "").strip()
    redis_url = env.get("TEST_REDIS_URL", "").strip()
    return TestTargets(
        database_url=_postgres_url("TEST_DATABASE_URL", database_url) if database_url else None,
        redis_url=_redis_url("TEST_REDIS_URL", redis_url) if redis_url else None,
    )


def _int_between(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(name, f"must be between {low} and {high}, got {value}")
    return value


def _port(name: str, raw: str) -> int:
    return _int_between(name, raw, 1, 65535)


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 86400:
        raise SettingsError(name, f"must be between 0 and 86400 seconds, got {raw}")
    return value


def _host(name: str, raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(raw):
        raise SettingsError(name, f"must be a host name or IP address, got {raw!r}")
    return raw


def _province(name: str, raw: str) -> str:
    if raw not in PROVINCE_CODES:
        raise SettingsError(name, f"must be a GB/T 2260 province code such as 14, got {raw!r}")
    return raw


def _log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise SettingsError(name, f"must be one of {', '.join(_LOG_LEVELS)}, got {raw!r}")
    return level


def _postgres_url(name: str, raw: str) -> str:
    parts = _split_url(name, raw)
    if parts.scheme not in ("postgresql", "postgres"):
        raise SettingsError(name, f"must start with postgresql://, got {parts.scheme or raw!r}://")
    return raw


def _redis_url(name: str, raw: str) -> str:
    parts = _split_url(name, raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            name, f"must start with redis://, rediss:// or unix://, got {parts.scheme!r}"
        )
    if parts.scheme != "unix" and parts.path.strip("/"):
        db = parts.path.strip("/")
        if not db.isdigit():
            raise SettingsError(name, f"database number after the host must be digits, got {db!r}")
    return raw


def _public_base_url(name: str, raw: str) -> str:
    parts = _split_url(name, raw)
    if parts.scheme not in ("http", "https"):
        raise SettingsError(name, f"must start with http:// or https://, got {raw!r}")
    if not parts.hostname:
        raise SettingsError(name, f"must name a host, got {raw!r}")
    if parts.query or parts.fragment:
        raise SettingsError(name, f"must not carry a query or fragment, got {raw!r}")
    if len(raw) > 64:
        # The QR symbol grows with the URL; past this it no longer prints legibly on a bottle.
        raise SettingsError(name, f"must be at most 64 characters, got {len(raw)}")
    return raw.rstrip("/")


def _master_key(name: str, raw: str) -> bytes:
    standard = raw.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(name, "must be base64 (standard or URL-safe)") from None
    if len(key) != MASTER_KEY_BYTES:
        raise SettingsError(
            name, f"must decode to {MASTER_KEY_BYTES} bytes, got {len(key)} (see .env.example)"
        )
    return key


def _split_url(name: str, raw: str) -> SplitResult:
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise SettingsError(name, f"is not a valid URL ({exc})") from None
    return parts
