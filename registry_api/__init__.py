"""The registry: the JSON API under /api/v1, one package per domain.

The domains, lowest first: `accounts` → `jurisdictions` → `enterprises` → `products` →
`reviews`; each imports only those before it (tests/test_layout.py checks). Shared
plumbing at this level: `app` (the app and its error mapping), `endpoints` (the endpoint
table assembled from the domains' rows), `openapi`, `errors`, `requests` (what handlers
read from a request), `forms` (reading bodies, shared field types), `validators`,
`limits` (rate limits in Redis) and `audit`. The plumbing imports no domain, except the
three at the top (`app`, `endpoints`, `openapi`), which put them together.

Imports `codesvc` (to issue and publish codes) and nothing above it.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
