"""Keeping the embedded PostgreSQL and Redis up while a command runs on them.

A thread looks at each server every half second. One that crashed (killed, or dead
without an orderly shutdown) is started again on the same data directory, and a
WARNING names it and how long it was down; while it is down, `/readyz` answers 503, and
once it is back the app's connections find it by themselves (asyncpg's pool and
redis-py reconnect, the resolver's pub/sub follower resubscribes). A start that fails
is tried again, less and less often, up to every few seconds.

What the supervisor does not do: fight a deliberate stop — a server shut down in order
(`pg_ctl stop`, Redis's SHUTDOWN, a SIGTERM or a Ctrl-C reaching it) is left down, with
a WARNING, and the supervisor is always stopped before the command stops its servers;
restart a server another process started (it is that process's to look after); notice
a server that hangs without dying.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

_log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
_RETRY_FIRST_SECONDS = 0.5
_RETRY_MOST_SECONDS = 5.0


class Health(enum.Enum):
    RUNNING = "running"
    CRASHED = "crashed"  # killed, or died without an orderly shutdown: restart it
    SHUT_DOWN = "shut down"  # an orderly shutdown someone asked for: leave it down


class Supervised(Protocol):
    """An embedded server (`safecode.embedded`)."""

    @property
    def name(self) -> str: ...

    @property
    def started_here(self) -> bool: ...

    def health(self) -> Health: ...

    def restart(self) -> bool:
        """Start it again on the same data; False if another process started one there
        meanwhile (then it is that process's); raises when it cannot (tried again later)."""


@dataclass(slots=True)
class _Watch:
    server: Supervised
    last_seen_running: float
    down_since: float | None = None
    failed_starts: int = 0
    next_start: float = 0.0
    given_up: bool = False


class Supervisor:
    """Restarts the given servers when they crash, from `start()` (or entering) until
    `stop()` (or leaving); servers this process did not start are only named in the log."""

    def __init__(self, servers: Sequence[Supervised], *, every: float = CHECK_SECONDS) -> None:
        now = time.monotonic()
        self._every = every
        self._watches = []
        for server in servers:
            if server.started_here:
                self._watches.append(_Watch(server, now))
            else:
                _log.warning(
                    "embedded %s was started by another process: not supervised here",
                    server.name,
                    extra={"fields": {"service": server.name}},
                )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        if self._watches:
            self._thread.start()

    def stop(self) -> None:
        """Stop watching; waits for a restart under way to finish, so the caller can
        then stop every server knowing none will be started behind its back."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _watch(self) -> None:
        while not self._stopping.wait(self._every):
            for watch in self._watches:
                if self._stopping.is_set():
                    return
                if not watch.given_up:
                    try:
                        self._check(watch)
                    except Exception:  # the watch must outlive any one surprise
                        _log.exception("supervising embedded %s failed", watch.server.name)

    def _check(self, watch: _Watch) -> None:
        server, now = watch.server, time.monotonic()
        health = server.health()
        if health is Health.RUNNING:
            watch.last_seen_running = now
            return
        fields = {"service": server.name}
        if health is Health.SHUT_DOWN and watch.down_since is None:
            watch.given_up = True
            _log.warning(
                "embedded %s was shut down in an orderly way, not by this process: "
                "not restarting it (readiness answers 503 until it is started again)",
                server.name,
                extra={"fields": fields},
            )
            return
        if watch.down_since is None:
            watch.down_since = now
            _log.warning(
                "embedded %s is down (it crashed or was killed): restarting it",
                server.name,
                extra={"fields": fields},
            )
        if now < watch.next_start:
            return
        try:
            restarted = server.restart()
        except Exception as exc:
            watch.failed_starts += 1
            wait = min(_RETRY_MOST_SECONDS, _RETRY_FIRST_SECONDS * 2**watch.failed_starts)
            watch.next_start = time.monotonic() + wait
            _log.error(
                "embedded %s did not restart, trying again in %.1f s: %s",
                server.name,
                wait,
                exc,
                extra={"fields": fields},
            )
            return
        if not restarted:
            watch.given_up = True
            _log.warning(
                "embedded %s was started meanwhile by another process: not supervised here",
                server.name,
                extra={"fields": fields},
            )
            return
        back = time.monotonic()
        _log.warning(
            "embedded %s restarted; it was down for at most %.1f s",
            server.name,
            back - watch.last_seen_running,
            extra={
                "fields": {
                    **fields,
                    "down_seconds": round(back - watch.last_seen_running, 2),
                    "failed_starts": watch.failed_starts,
                }
            },
        )
        watch.last_seen_running = back
        watch.down_since = None
        watch.failed_starts = 0
        watch.next_start = 0.0
