"""The house rules DESIGN.md sets, checked on the source so a change cannot slip past them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["safecode", "console", "registry_api", "codesvc", "public_site", "ghs"]
# Each package may import only those after it in this order.
ALLOWED = {name: set(PACKAGES[i + 1 :]) for i, name in enumerate(PACKAGES)}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_names(path: Path) -> set[str]:
    """The top-level names of what a module imports (absolute imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _imported_packages(path: Path) -> set[str]:
    return _imported_names(path) & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_one_way(package: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) - ALLOWED[package] - {package})
        for path in _modules(package)
    }
    assert {path: bad for path, bad in offending.items() if bad} == {}


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for package in PACKAGES:
        for path in _modules(package):
            source = path.read_text()
            if "os.environ" in source or "os.getenv" in source or "getenv(" in source:
                readers.append(str(path.relative_to(ROOT)))
    assert readers == ["safecode/settings.py"]


@pytest.mark.parametrize("package", ["ghs", "public_site"])
def test_the_pure_packages_do_no_io(package: str) -> None:
    io_libraries = {"starlette", "asyncpg", "redis", "httpx", "uvicorn", "socket"}
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_names(path) & io_libraries)
        for path in _modules(package)
    }
    assert {path: bad for path, bad in offending.items() if bad} == {}


def test_the_console_holds_no_sql() -> None:
    """The console calls the registry's operations; it neither connects to the database
    itself nor writes a query (DESIGN.md: "no SQL")."""
    statement = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    offending = sorted(
        str(path.relative_to(ROOT))
        for path in _modules("console")
        if "asyncpg" in _imported_names(path) or statement.search(path.read_text())
    )
    assert offending == []


# Inside the registry: its domains, highest first; each may import only those after it.
REGISTRY_DOMAINS = [
    "oversight",
    "lifecycle",
    "reviews",
    "products",
    "enterprises",
    "jurisdictions",
    "accounts",
]
# The plumbing that puts the domains together, above all of them.
REGISTRY_TOP = {"app", "endpoints", "openapi"}


def _registry_part(path: Path) -> str:
    """The domain a registry module belongs to, or the name of a plumbing module."""
    return path.relative_to(ROOT / "registry_api").parts[0].removesuffix(".py")


def _registry_imports(path: Path) -> set[str]:
    """The registry's domains and plumbing modules a module imports (absolute imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "registry_api":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from registry_api import x
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("registry_api.")
            )
    return found


def test_the_registry_domains_import_downwards_only() -> None:
    allowed = {domain: set(REGISTRY_DOMAINS[i + 1 :]) for i, domain in enumerate(REGISTRY_DOMAINS)}
    offending = {}
    for path in _modules("registry_api"):
        part = _registry_part(path)
        if part in REGISTRY_TOP:
            continue
        imported = _registry_imports(path) & set(REGISTRY_DOMAINS)
        # Plumbing (errors, requests, forms, validators, audit) imports no domain at all.
        bad = imported - allowed.get(part, set()) - {part}
        if bad:
            offending[str(path.relative_to(ROOT))] = sorted(bad)
    assert offending == {}


def test_every_registry_module_is_in_a_domain_or_named_plumbing() -> None:
    plumbing = {"__init__", "errors", "requests", "forms", "validators", "audit", "limits"}
    plumbing |= REGISTRY_TOP
    parts = {_registry_part(path) for path in _modules("registry_api")}
    # data/ holds the scripts that built the reference data, not part of the app.
    assert parts - {"data"} == set(REGISTRY_DOMAINS) | plumbing
