from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecode.cli import main
from safecode.settings import VARIABLES, SettingsError, load_settings, load_test_targets

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings({})
    assert settings.database_url is None  # embedded PostgreSQL
    assert settings.redis_url is None  # embedded Redis
    assert settings.master_key is None
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert (settings.port, settings.resolver_port, settings.registry_port) == (8000, 8000, 8001)
    assert settings.data_dir == Path("./var").resolve()
    assert settings.log_level == "INFO"
    assert load_settings({"PORT": "9000"}).public_base_url == "http://127.0.0.1:9000"


def test_values_are_read_and_trimmed() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": " postgresql://u@db:5432/safecode ",
            "REDIS_URL": "redis://cache:6379/3",
            "PUBLIC_BASE_URL": "https://sc.example.cn/",
            "PORT": "9000",
            "LOG_LEVEL": "debug",
            "L1_CACHE_TTL_SECONDS": "0.5",
        }
    )
    assert settings.database_url == "postgresql://u@db:5432/safecode"
    assert settings.redis_url == "redis://cache:6379/3"
    assert settings.public_base_url == "https://sc.example.cn"
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.l1_cache_ttl_seconds == 0.5


BAD_VALUES = [
    ("DATABASE_URL", "mysql://root@db/x", "postgresql://"),
    ("DATABASE_URL", "postgresql://db:notaport/x", "not a valid URL"),
    ("REDIS_URL", "http://cache", "redis://"),
    ("REDIS_URL", "redis://cache:6379/zero", "database number"),
    ("PUBLIC_BASE_URL", "ftp://sc.example.cn", "http://"),
    ("PUBLIC_BASE_URL", "https://", "must name a host"),
    ("PUBLIC_BASE_URL", "https://sc.example.cn/?x=1", "query"),
    ("PUBLIC_BASE_URL", "https://" + "a" * 70 + ".cn", "at most 64"),
    ("SAFECODE_MASTER_KEY", "not base64!", "base64"),
    ("SAFECODE_MASTER_KEY", base64.b64encode(b"short").decode(), "32 bytes"),
    ("PORT", "eighty", "whole number"),
    ("PORT", "70000", "between 1 and 65535"),
    ("RESOLVER_PORT", "0", "between 1 and 65535"),
    ("REGISTRY_PORT", "-1", "between 1 and 65535"),
    ("RESOLVER_WORKERS", "0", "between 1 and 256"),
    ("REGISTRY_WORKERS", "many", "whole number"),
    ("DATABASE_POOL_SIZE", "0", "between 1 and 500"),
    ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("L1_CACHE_SIZE", "-5", "between 0 and"),
    ("L1_CACHE_TTL_SECONDS", "soon", "number of seconds"),
    ("NEGATIVE_CACHE_TTL_SECONDS", "nan", "between 0 and 86400"),
    ("REDIS_RECORD_TTL_SECONDS", "0", "between 1 and"),
    ("LOOKUP_LIMIT_PER_MINUTE", "0", "between 1 and"),
    ("HOST", "http://x", "host name or IP"),
    ("SAFECODE_PROVINCE", "99", "GB/T 2260 province code"),
    ("CONSOLE_IDLE_MINUTES", "0", "between 1 and 1440"),
    ("CONSOLE_IDLE_MINUTES", "half", "whole number"),
]


@pytest.mark.parametrize(("variable", "value", "fragment"), BAD_VALUES)
def test_a_bad_value_names_its_variable_in_one_line(
    variable: str, value: str, fragment: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert fragment in message
    assert "\n" not in message


def test_every_variable_with_a_check_is_exercised_by_a_bad_value() -> None:
    checked = {variable for variable, _, _ in BAD_VALUES}
    # The data dir accepts any path; everything else has a way to be wrong.
    assert {v.name for v in VARIABLES} - checked == {"SAFECODE_DATA_DIR"}


def test_the_command_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["safecode: PORT: must be a whole number, got 'eighty'"]


@given(st.binary(min_size=32, max_size=32), st.booleans())
def test_a_master_key_in_either_base64_alphabet_decodes_to_its_bytes(
    key: bytes, urlsafe: bool
) -> None:
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(key).decode()
    assert load_settings({"SAFECODE_MASTER_KEY": encoded}).master_key == key
    assert load_settings({"SAFECODE_MASTER_KEY": encoded.rstrip("=")}).master_key == key


def test_test_targets_are_checked_like_the_service_urls() -> None:
    assert load_test_targets({}).database_url is None
    with pytest.raises(SettingsError, match=r"^TEST_REDIS_URL: "):
        load_test_targets({"TEST_REDIS_URL": "memcached://x"})


def _env_example_names() -> list[str]:
    text = (ROOT / ".env.example").read_text()
    return re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_env_example_lists_every_variable_once() -> None:
    names = _env_example_names()
    assert sorted(names) == sorted(v.name for v in VARIABLES)


def test_env_example_values_are_accepted() -> None:
    text = (ROOT / ".env.example").read_text()
    active = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))
    load_settings(active)  # raises if .env.example itself is wrong


def test_readme_configuration_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [v.name for v in VARIABLES if f"| `{v.name}` |" not in readme]
    assert missing == []
