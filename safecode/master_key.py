"""The master key that seals the signing keys: SAFECODE_MASTER_KEY, or for a laptop, one
generated once under the data directory (mode 0600) and reused after."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from safecode.settings import MASTER_KEY_BYTES, Settings

_log = logging.getLogger(__name__)


class MasterKeyError(Exception):
    """The generated master key file is unreadable or not a key."""


def master_key_path(settings: Settings) -> Path:
    return settings.data_dir / "master.key"


def load_master_key(settings: Settings) -> bytes:
    """SAFECODE_MASTER_KEY when set; else the data directory's key, created if missing."""
    if settings.master_key is not None:
        return settings.master_key
    path = master_key_path(settings)
    if not path.exists():
        _create_key_file(path)
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise MasterKeyError(f"{path}: not a base64 master key ({exc})") from None
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"{path}: decodes to {len(key)} bytes, not {MASTER_KEY_BYTES}")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)) + b"\n")
    try:
        # Linking a complete file into place is atomic: of processes starting at once,
        # one key wins and every process reads that one.
        os.link(staged, path)
    except FileExistsError:
        return
    finally:
        staged.unlink()
    _log.warning(
        "generated a master key for the signing keys; back it up (without it they cannot "
        "sign) and set SAFECODE_MASTER_KEY in production",
        extra={"fields": {"path": str(path)}},
    )
