"""The codes an enterprise's application and record may name, for the OpenAPI document: the
counties of the GB/T 2260 tree and the GB/T 4754-2017 industry classes.

Read from the migrations that load them into the database, so the document lists exactly
what the database holds (a test compares the two); the operations check against the
database itself.
"""

from __future__ import annotations

import functools
import re

from registry_api import MIGRATIONS_DIR

_DIVISIONS = MIGRATIONS_DIR / "0002_divisions.sql"
_INDUSTRIES = MIGRATIONS_DIR / "0005_industry_classes.sql"


@functools.cache
def county_codes() -> tuple[str, ...]:
    rows = re.findall(r"^\('([0-9]{6})', '(?:[^']|'')*', 'county',", _DIVISIONS.read_text(), re.M)
    return tuple(rows)


@functools.cache
def industry_classes() -> tuple[str, ...]:
    return tuple(re.findall(r"^\('([0-9]{4})', ", _INDUSTRIES.read_text(), re.M))
