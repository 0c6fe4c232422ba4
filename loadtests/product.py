"""Start `safecode run` in a child process on a free port, for the bench and the load test.

It uses the same settings as `make run` (DATABASE_URL / REDIS_URL when set, else the
embedded servers under ./var), so what is measured is the product as a user runs it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

START_SECONDS = 120


def exit_on_sigterm() -> None:
    """SIGTERM ends a command as Ctrl-C does: through the `finally`s and `with`s that stop
    what it started (the product, a resolver, embedded servers)."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_product(log_level: str = "WARNING") -> Iterator[str]:
    """Yields the base URL once /readyz answers 200; stops the product on exit."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL=log_level)
    process = subprocess.Popen(
        [sys.executable, "-m", "safecode", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(f"safecode run exited with {process.returncode}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"safecode run was not ready within {START_SECONDS} s")
            time.sleep(0.2)
        yield base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
