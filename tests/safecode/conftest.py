"""Fixtures of the safecode tests."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from safecode.embedded import ServiceUrls
from safecode.settings import Settings, load_settings


@pytest.fixture
def operator_settings(
    monkeypatch: pytest.MonkeyPatch, service_urls: ServiceUrls, master_key: bytes, tmp_path: Path
) -> Settings:
    """The environment an operator's commands and the running service share: this test's
    database and Redis, its master key and a data directory of its own."""
    monkeypatch.setenv("DATABASE_URL", service_urls.database_url)
    monkeypatch.setenv("REDIS_URL", service_urls.redis_url)
    monkeypatch.setenv("SAFECODE_MASTER_KEY", base64.b64encode(master_key).decode())
    monkeypatch.setenv("SAFECODE_DATA_DIR", str(tmp_path / "var"))
    return load_settings()
