"""docker-compose.yml stays in step with the settings and keeps its health checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from safecode.cli import build_parser
from safecode.settings import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
OUR_UNITS = {"migrate", "resolver", "registry", "relay"}


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_every_variable_set_for_our_units_is_one_settings_knows() -> None:
    known = {v.name for v in VARIABLES}
    services = _compose()["services"]
    assert set(services) >= OUR_UNITS
    unknown = {
        name: sorted(set(services[name]["environment"]) - known)
        for name in OUR_UNITS
        if set(services[name]["environment"]) - known
    }
    assert unknown == {}


def test_backing_services_and_long_running_units_have_health_checks() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    # migrate runs once; the relay serves nothing to check (its lock shows in PostgreSQL).
    missing = [
        name
        for name, spec in services.items()
        if name not in ("migrate", "relay") and "healthcheck" not in spec
    ]
    assert missing == []


def test_units_run_commands_the_cli_accepts() -> None:
    services = _compose()["services"]
    for name in OUR_UNITS:
        program, *arguments = services[name]["command"]
        assert program == "safecode"
        build_parser().parse_args(arguments)  # exits with a usage error on an unknown command
