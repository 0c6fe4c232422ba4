"""The codes an enterprise's application and record may name: the counties of the GB/T 2260
tree and the GB/T 4754-2017 industry classes, and the classes of annex 1.

The first two are read from the migrations that load them into the database, for the
OpenAPI document, so it lists exactly what the database holds (a test compares the two);
the operations check against the database itself.
"""

from __future__ import annotations

import functools
import re

from registry_api import MIGRATIONS_DIR

# Annex 1 of the source document: the GB/T 4754-2017 classes of the chemical and
# pharmaceutical enterprises that must register (石油煤炭燃料加工、化学原料和化学制品、
# 化学药品原料药、化学纤维).
CHEMICAL_AND_PHARMA_CLASSES = frozenset(
    {"2511", "2519", "2521", "2522", "2523"}
    | {"2611", "2612", "2613", "2614", "2619", "2621", "2622", "2623", "2631", "2641", "2645"}
    | {"2651", "2652", "2653", "2661", "2662", "2663", "2666", "2669", "2684"}
    | {"2710", "2811", "2821", "2822", "2823", "2824", "2825", "2826"}
)

_DIVISIONS = MIGRATIONS_DIR / "0002_divisions.sql"
_INDUSTRIES = MIGRATIONS_DIR / "0005_industry_classes.sql"


@functools.cache
def county_codes() -> tuple[str, ...]:
    rows = re.findall(r"^\('([0-9]{6})', '(?:[^']|'')*', 'county',", _DIVISIONS.read_text(), re.M)
    return tuple(rows)


@functools.cache
def industry_classes() -> tuple[str, ...]:
    return tuple(re.findall(r"^\('([0-9]{4})', ", _INDUSTRIES.read_text(), re.M))


_DIVISION_ROW = re.compile(
    r"^\('([0-9]{6})', '((?:[^']|'')*)', '(province|city|county)', (?:'([0-9]{6})'|NULL)\)", re.M
)


@functools.cache
def division_names() -> dict[str, str]:
    """The GB/T 2260 divisions' names by code, to show a code as people know it."""
    return {
        code: name.replace("''", "'")
        for code, name, _, _ in _DIVISION_ROW.findall(_DIVISIONS.read_text())
    }


@functools.cache
def counties_by_city(province: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The counties of a province (`14`, or `140000`), grouped under their cities' names:
    (city name, ((county code, county name), ...)), in code order; what an application form
    offers."""
    prefix = province[:2]
    names = division_names()
    cities: dict[str, list[tuple[str, str]]] = {}
    for code, name, level, parent in _DIVISION_ROW.findall(_DIVISIONS.read_text()):
        if level == "county" and code.startswith(prefix):
            cities.setdefault(parent, []).append((code, name.replace("''", "'")))
    return tuple(
        (names.get(city, city), tuple(counties)) for city, counties in sorted(cities.items())
    )
