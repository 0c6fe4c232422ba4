from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest

from safecode.master_key import MasterKeyError, load_master_key, master_key_path
from safecode.settings import load_settings


def test_a_set_master_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    key = bytes(range(32))
    settings = load_settings(
        {"SAFECODE_DATA_DIR": str(tmp_path), "SAFECODE_MASTER_KEY": base64.b64encode(key).decode()}
    )
    assert load_master_key(settings) == key
    assert list(tmp_path.iterdir()) == []


def test_without_one_a_private_key_file_is_made_once_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({"SAFECODE_DATA_DIR": str(tmp_path / "var")})
    with caplog.at_level(logging.WARNING, logger="safecode.master_key"):
        first = load_master_key(settings)
        second = load_master_key(settings)
    assert first == second
    assert len(first) == 32
    path = master_key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    generated = [r for r in caplog.records if "generated a master key" in r.getMessage()]
    assert len(generated) == 1  # says so once, not on every start
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    settings = load_settings({"SAFECODE_DATA_DIR": str(tmp_path)})
    master_key_path(settings).write_text("not a key")
    with pytest.raises(MasterKeyError, match=r"master\.key"):
        load_master_key(settings)
    master_key_path(settings).write_text(base64.b64encode(b"short").decode())
    with pytest.raises(MasterKeyError, match="5 bytes"):
        load_master_key(settings)
