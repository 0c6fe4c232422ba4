"""Safety codes: issuing, signing, publishing, and the scan resolver.

Imports only `public_site` of the project's packages; `safecode` hands it settings,
pools and clients.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
