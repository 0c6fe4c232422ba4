"""The hash locks `make` installs from stay in step with pyproject.toml.

`make install` reads requirements.lock, never pyproject.toml's dependency list, so a
dependency added there without `make lock` would simply be missing from a fresh .venv.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"  # the Docker image's
LOCKS = [LOCK, RUNTIME_LOCK, ROOT / "requirements-tools.lock"]


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> Version | None:
        """The one version pinned with ==, or None when the line pins nothing exactly."""
        specifiers = list(self.requirement.specifier)
        if len(specifiers) == 1 and specifiers[0].operator == "==" and "*" not in specifiers[0]:
            return Version(specifiers[0].version)
        return None


def _entries(path: Path) -> list[str]:
    """The lock's requirement lines, continuations joined, comments left out."""
    entries: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            entries.append(pending.strip())
            pending = ""
    if pending:
        entries.append(pending.strip())
    return entries


def _pins(path: Path) -> dict[NormalizedName, Pin]:
    pins: dict[NormalizedName, Pin] = {}
    for entry in _entries(path):
        if entry.startswith("-"):  # an option (-e, --index-url, -r ...) is never a pin
            pytest.fail(f"{path.name}: {entry[:80]!r} is an option, not a pinned requirement")
        requirement_text, *options = entry.split(" --")
        hashes = tuple(o.removeprefix("hash=") for o in options if o.startswith("hash="))
        requirement = Requirement(requirement_text)
        pins[canonicalize_name(requirement.name)] = Pin(requirement, hashes)
    return pins


def _declared(*, test: bool = True) -> list[Requirement]:
    """What pyproject.toml asks for: the dependencies, and the test extra unless not `test`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["dependencies"] + (project["optional-dependencies"]["test"] if test else [])
    return [Requirement(text) for text in texts]


def test_the_image_installs_the_same_pins_without_the_test_tools() -> None:
    runtime, full = _pins(RUNTIME_LOCK), _pins(LOCK)
    declared = {canonicalize_name(r.name) for r in _declared(test=False)}
    assert declared - runtime.keys() == set(), "not in requirements-runtime.lock: `make lock`"
    differ = {
        str(name): (str(pin.version), str(full[name].version) if name in full else None)
        for name, pin in runtime.items()
        if name not in full or pin.version != full[name].version
    }
    assert differ == {}, "the runtime lock and requirements.lock disagree: run `make lock`"
    needed = {canonicalize_name(r.name) for r in _needs(_declared(test=False))}
    # Pins for other platforms and Pythons (a universal lock) are judged where they apply.
    here = {
        n
        for n, pin in runtime.items()
        if not pin.requirement.marker or pin.requirement.marker.evaluate()
    }
    extra = here - needed - {canonicalize_name("pip")}
    assert extra == set(), "what the runtime does not need is in the image's lock"


def test_every_declared_dependency_is_pinned_in_its_range() -> None:
    pins = _pins(LOCK)
    unpinned = [str(r) for r in _declared() if canonicalize_name(r.name) not in pins]
    assert unpinned == [], "in pyproject.toml, not in requirements.lock: run `make lock`"
    outside = {}
    for requirement in _declared():
        version = pins[canonicalize_name(requirement.name)].version
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            outside[str(requirement)] = str(version)
    assert outside == {}, "requirements.lock pins versions pyproject.toml excludes: `make lock`"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_pin_is_one_version_with_hashes(lock: Path) -> None:
    pins = _pins(lock)
    assert pins, f"{lock.name} pins nothing"
    loose = [str(p.requirement) for p in pins.values() if p.version is None]
    unhashed = [str(p.requirement) for p in pins.values() if not p.hashes]
    weak = [h for p in pins.values() for h in p.hashes if not h.startswith("sha256:")]
    problems = {"not one version": loose, "without a hash": unhashed, "not sha256": weak}
    found = {k: v for k, v in problems.items() if v}
    assert found == {}, f"{lock.name}: {found}; run `make lock`"


def _needs(declared: list[Requirement]) -> list[Requirement]:
    """`declared` and everything they need, with the extras asked, as the installed
    distributions state it (one requirement per name and set of extras)."""
    found: list[Requirement] = []
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    queue = [r for r in declared if r.marker is None or r.marker.evaluate()]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        found.append(requirement)
        try:
            needs = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed: the version check above and `make install` speak for it
        for text in needs:
            need = Requirement(text)
            extras = requirement.extras or {""}
            if need.marker is None or any(need.marker.evaluate({"extra": e}) for e in extras):
                queue.append(need)
    return found


def test_what_the_declared_dependencies_need_is_pinned_too() -> None:
    """Extras and dependencies of dependencies, as the installed distributions state them:
    `uvicorn[standard]` where the lock was made for plain `uvicorn` is caught here."""
    pins = _pins(LOCK)
    missing = sorted({str(r) for r in _needs(_declared()) if canonicalize_name(r.name) not in pins})
    assert missing == [], "needed, not in requirements.lock: run `make lock`"
