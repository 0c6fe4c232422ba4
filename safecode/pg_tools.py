"""PostgreSQL's client programs (pg_dump, pg_restore): finding one new enough for the
server, and running it with a password kept off its command line."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from safecode.errors import CommandError

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
# Where PostgreSQL's client programs live besides PATH: Debian/Ubuntu, RHEL, Homebrew.
_TOOL_DIRS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
)


@dataclass(frozen=True, slots=True)
class PgTool:
    path: Path
    version: str  # as it prints it, e.g. 16.2
    major: int


def tool_version(output: str) -> tuple[str, int] | None:
    """(version, major) from `pg_dump --version`'s output, e.g. ("16.2", 16)."""
    match = _VERSION.search(output)
    if match is None:
        return None
    return ".".join(part for part in match.groups() if part), int(match.group(1))


def choose_tool(name: str, tools: Sequence[PgTool], at_least: int, why: str) -> PgTool:
    """The oldest of `tools` of major version `at_least` or newer (the closest match)."""
    fitting = [tool for tool in tools if tool.major >= at_least]
    if fitting:
        return min(fitting, key=lambda tool: tool.major)
    found = ", ".join(f"{tool.version} ({tool.path})" for tool in tools) or "none"
    raise CommandError(
        f"no {name} of PostgreSQL {at_least} or newer found ({why}); found: {found}. Install "
        f"PostgreSQL {at_least}'s client programs (Debian: apt-get install postgresql-client-"
        f"{at_least})"
    )


def find_tools(name: str) -> list[PgTool]:
    """Every `name` (pg_dump, pg_restore) found here that runs, with its version."""
    folders: list[Path] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            from pgserver._commands import POSTGRES_BIN_PATH

            folders.append(Path(POSTGRES_BIN_PATH))
        except ImportError:
            pass
    for pattern in _TOOL_DIRS:
        folders += [Path(folder) for folder in sorted(glob.glob(pattern))]
    on_path = shutil.which(name)
    candidates = [folder / name for folder in folders]
    candidates += [Path(on_path)] if on_path else []
    tools: list[PgTool] = []
    seen: set[Path] = set()
    for path in candidates:
        if not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        try:
            ran = subprocess.run(  # noqa: S603 - a PostgreSQL program found above
                [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        version = tool_version(ran.stdout)
        if ran.returncode == 0 and version is not None:
            tools.append(PgTool(path, *version))
    return tools


async def run_tool(command: list[str], database_url: str, stdout: int | None = None) -> None:
    name = Path(command[0]).name
    with libpq_url(database_url) as url:
        process = await asyncio.create_subprocess_exec(
            *command, "--no-password", f"--dbname={url}", stdout=stdout, stderr=subprocess.PIPE
        )
        _, stderr = await process.communicate()
    if process.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines() or ["(no message)"]
        # Its first error, not the SQL it echoes after it ("Command was: ...").
        said = next((line for line in lines if "error:" in line), lines[-1])
        raise CommandError(f"{name} failed (exit {process.returncode}): {said.strip()}")


@contextmanager
def libpq_url(database_url: str) -> Iterator[str]:
    """The URL for pg_dump/pg_restore: a password moves off the command line (where `ps`
    shows it) into a passfile of mode 0600 that lives for the block."""
    parts = urlsplit(database_url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if not password:
        yield database_url
        return
    with tempfile.TemporaryDirectory(prefix="safecode-") as folder:
        passfile = Path(folder) / "pgpass"
        escaped = unquote(password).replace("\\", "\\\\").replace(":", "\\:")
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(f"*:*:*:*:{escaped}\n")
        query = "&".join(q for q in (parts.query, urlencode({"passfile": passfile})) if q)
        yield urlunsplit(parts._replace(netloc=f"{user}@{hostport}", query=query))
