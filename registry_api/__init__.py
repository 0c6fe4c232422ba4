"""The registry: jurisdictions, accounts, enterprises, products, reviews (JSON under /api/v1).

Imports `codesvc` (to issue and publish codes) and nothing above it.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
