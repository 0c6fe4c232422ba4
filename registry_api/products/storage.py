"""SQL of products and their revisions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from codesvc.storage import Connection

PhysicalForm = Literal["solid", "liquid", "gas", "aerosol", "paste"]
RevisionStatus = Literal["draft", "submitted", "current", "superseded"]


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    enterprise_id: int
    name_zh: str
    name_en: str | None
    cas_numbers: list[str]
    components: list[dict[str, Any]]
    un_number: str | None
    catalogue_number: int | None
    highly_toxic: bool
    physical_form: PhysicalForm
    code_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Revision:
    id: int
    product_id: int
    number: int
    status: RevisionStatus
    classification: list[dict[str, Any]]
    label: dict[str, Any] | None  # None: the label derived from the classification
    sds: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    approved_on: date | None


_PRODUCT = (
    "id, enterprise_id, name_zh, name_en, cas_numbers, components, un_number, "
    "catalogue_number, highly_toxic, physical_form, code_id, version, created_at, updated_at"
)
_REVISION = (
    "id, product_id, number, status, classification, label, sds, version, created_at, "
    "updated_at, approved_on"
)
PRODUCT_FIELDS = (
    "name_zh", "name_en", "cas_numbers", "components", "un_number", "catalogue_number",
    "highly_toxic", "physical_form",
)  # fmt: skip


def _product(row: Any) -> Product:
    values = dict(row)
    values["components"] = json.loads(values["components"])
    return Product(**values)


def _revision(row: Any) -> Revision:
    values = dict(row)
    for name in ("classification", "label", "sds"):
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return Revision(**values)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _product_values(fields: dict[str, Any]) -> tuple[Any, ...]:
    """$n values of the product's columns, in PRODUCT_FIELDS order."""
    return (
        fields["name_zh"],
        fields.get("name_en"),
        fields["cas_numbers"],
        _json(fields["components"]),
        fields.get("un_number"),
        fields.get("catalogue_number"),
        fields["highly_toxic"],
        fields["physical_form"],
    )


def _revision_values(content: dict[str, Any]) -> tuple[str, str | None, str]:
    """$n values of a revision's classification, label and SDS."""
    label = content.get("label")
    return (
        _json(content["classification"]),
        None if label is None else _json(label),
        _json(content["sds"]),
    )


async def insert_product(
    conn: Connection, enterprise_id: int, fields: dict[str, Any]
) -> Product | None:
    """The new product; None if the enterprise has one of that Chinese name already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO products (enterprise_id, name_zh, name_en, cas_numbers, components,
                              un_number, catalogue_number, highly_toxic, physical_form)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
        ON CONFLICT (enterprise_id, name_zh) DO NOTHING
        RETURNING {_PRODUCT}
        """,
        enterprise_id,
        *_product_values(fields),
    )
    return None if row is None else _product(row)


async def update_product(
    conn: Connection, product_id: int, expected_version: int, fields: dict[str, Any]
) -> Product | None:
    """Replace the product's fields if it is still at `expected_version`; None if it moved on.
    Raises `asyncpg.UniqueViolationError` if another product of the enterprise has the name."""
    row = await conn.fetchrow(
        f"""
        UPDATE products
        SET name_zh = $3, name_en = $4, cas_numbers = $5, components = $6::jsonb,
            un_number = $7, catalogue_number = $8, highly_toxic = $9, physical_form = $10,
            version = version + 1, updated_at = now()
        WHERE id = $1 AND version = $2
        RETURNING {_PRODUCT}
        """,
        product_id,
        expected_version,
        *_product_values(fields),
    )
    return None if row is None else _product(row)


async def fetch_product(conn: Connection, product_id: int) -> Product | None:
    row = await conn.fetchrow(f"SELECT {_PRODUCT} FROM products WHERE id = $1", product_id)
    return None if row is None else _product(row)


async def fetch_products(conn: Connection, enterprise_id: int) -> list[Product]:
    rows = await conn.fetch(
        f"SELECT {_PRODUCT} FROM products WHERE enterprise_id = $1 ORDER BY id", enterprise_id
    )
    return [_product(row) for row in rows]


async def set_product_code(conn: Connection, product_id: int, code_id: str) -> None:
    await conn.execute(
        "UPDATE products SET code_id = $2, updated_at = now() WHERE id = $1 AND code_id IS NULL",
        product_id,
        code_id,
    )


async def enterprise_code_ids(conn: Connection, enterprise_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT code_id FROM products WHERE enterprise_id = $1 AND code_id IS NOT NULL ORDER BY id",
        enterprise_id,
    )
    return [row["code_id"] for row in rows]


async def fetch_product_by_code(conn: Connection, code_id: str) -> Product | None:
    row = await conn.fetchrow(f"SELECT {_PRODUCT} FROM products WHERE code_id = $1", code_id)
    return None if row is None else _product(row)


async def insert_revision(
    conn: Connection, product_id: int, content: dict[str, Any]
) -> Revision | None:
    """A new draft, numbered after the product's last; None if one is open already."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO revisions (product_id, number, classification, label, sds)
        SELECT $1, coalesce(max(number), 0) + 1, $2::jsonb, $3::jsonb, $4::jsonb
        FROM revisions WHERE product_id = $1
        ON CONFLICT (product_id) WHERE status IN ('draft', 'submitted') DO NOTHING
        RETURNING {_REVISION}
        """,
        product_id,
        *_revision_values(content),
    )
    return None if row is None else _revision(row)


async def fetch_revision(conn: Connection, revision_id: int) -> Revision | None:
    row = await conn.fetchrow(f"SELECT {_REVISION} FROM revisions WHERE id = $1", revision_id)
    return None if row is None else _revision(row)


async def fetch_enterprise_revisions(conn: Connection, enterprise_id: int) -> list[Revision]:
    """The revisions of all the enterprise's products, by product and number."""
    rows = await conn.fetch(
        f"""
        SELECT {_REVISION} FROM revisions
        WHERE product_id IN (SELECT id FROM products WHERE enterprise_id = $1)
        ORDER BY product_id, number
        """,
        enterprise_id,
    )
    return [_revision(row) for row in rows]


async def fetch_revisions(conn: Connection, product_id: int) -> list[Revision]:
    rows = await conn.fetch(
        f"SELECT {_REVISION} FROM revisions WHERE product_id = $1 ORDER BY number", product_id
    )
    return [_revision(row) for row in rows]


async def update_draft(
    conn: Connection, revision_id: int, expected_version: int, content: dict[str, Any]
) -> Revision | None:
    """Replace a draft's content if it is still a draft at `expected_version`."""
    row = await conn.fetchrow(
        f"""
        UPDATE revisions
        SET classification = $3::jsonb, label = $4::jsonb, sds = $5::jsonb,
            version = version + 1, updated_at = now()
        WHERE id = $1 AND version = $2 AND status = 'draft'
        RETURNING {_REVISION}
        """,
        revision_id,
        expected_version,
        *_revision_values(content),
    )
    return None if row is None else _revision(row)


async def set_revision_status(
    conn: Connection, revision_ids: list[int], *, from_status: str, to_status: str
) -> int:
    """Move revisions from one status to another; how many moved."""
    result = await conn.execute(
        """
        UPDATE revisions SET status = $3, version = version + 1, updated_at = now()
        WHERE id = ANY($1::bigint[]) AND status = $2
        """,
        revision_ids,
        from_status,
        to_status,
    )
    return int(result.split()[-1])


async def make_current(conn: Connection, revision_id: int, approved_on: date) -> Revision:
    """The revision becomes its product's current one; the previous current is superseded."""
    await conn.execute(
        """
        UPDATE revisions SET status = 'superseded', version = version + 1, updated_at = now()
        WHERE product_id = (SELECT product_id FROM revisions WHERE id = $1)
          AND status = 'current'
        """,
        revision_id,
    )
    row = await conn.fetchrow(
        f"""
        UPDATE revisions
        SET status = 'current', approved_on = $2, version = version + 1, updated_at = now()
        WHERE id = $1 AND status = 'submitted'
        RETURNING {_REVISION}
        """,
        revision_id,
        approved_on,
    )
    assert row is not None, "only a submitted revision is approved"
    return _revision(row)


# --- reprint notices (a signing key revoked) -------------------------------------------


@dataclass(frozen=True, slots=True)
class ReprintNotice:
    id: int
    enterprise_id: int
    enterprise_name: str
    uscc: str
    product_id: int
    product_name: str
    code_id: str
    revoked_key_id: str
    new_key_id: str
    scan_url: str
    created_at: datetime


_NOTICE = """
    SELECT n.id, n.enterprise_id, e.name AS enterprise_name, e.uscc, n.product_id,
           p.name_zh AS product_name, n.code_id, n.revoked_key_id, n.new_key_id, n.scan_url,
           n.created_at
    FROM reprint_notices n
    JOIN enterprises e ON e.id = n.enterprise_id
    JOIN products p ON p.id = n.product_id
"""


async def insert_reprint_notices(conn: Connection, notices: list[tuple[str, str, str, str]]) -> int:
    """(code_id, revoked key, new key, scan URL) of re-signed codes: a notice for each that
    is a product's code (other subjects have no enterprise to tell). Returns how many."""
    result: str = await conn.execute(
        """
        INSERT INTO reprint_notices (enterprise_id, product_id, code_id, revoked_key_id,
            new_key_id, scan_url)
        SELECT p.enterprise_id, p.id, n.code_id, n.revoked, n.new, n.scan_url
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             AS n(code_id, revoked, new, scan_url)
        JOIN products p ON p.code_id = n.code_id
        ON CONFLICT (code_id, revoked_key_id) DO NOTHING
        """,
        [n[0] for n in notices],
        [n[1] for n in notices],
        [n[2] for n in notices],
        [n[3] for n in notices],
    )
    return int(result.split()[-1])


async def fetch_reprint_notices(conn: Connection, enterprise_id: int) -> list[ReprintNotice]:
    rows = await conn.fetch(f"{_NOTICE} WHERE n.enterprise_id = $1 ORDER BY n.id", enterprise_id)
    return [ReprintNotice(**dict(row)) for row in rows]


async def fetch_reprint_notices_of_key(conn: Connection, key_id: str) -> list[ReprintNotice]:
    rows = await conn.fetch(f"{_NOTICE} WHERE n.revoked_key_id = $1 ORDER BY e.uscc, n.id", key_id)
    return [ReprintNotice(**dict(row)) for row in rows]
