"""Safety permits on the enterprise record through HTTP: kept directly before registration,
through an info update after it; every bad field named by its path; read by the regulators
above; audited; and described in the OpenAPI document."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import asyncpg
import httpx

from registry_api.enterprises.permits import HeldPermit, PermitKind
from tests.registry_api.conftest import API
from tests.registry_api.world import World, approve_all, new_draft, register

SAFE_USE = {
    "kind": "safe_use",
    "number": "（晋）WH安使许证字〔2024〕0012号",
    "issuer": "太原市应急管理局",
    "valid_from": "2024-03-01",
    "valid_until": "2027-02-28",
}
TRADING = {
    "kind": "trading",
    "number": "晋太危化经字〔2025〕000318",
    "issuer": "太原市小店区应急管理局",
    "valid_from": "2025-01-10",
    "valid_until": "2028-01-09",
}
PRODUCTION = {
    "kind": "production_safety",
    "number": "（晋）WH安许证字〔2023〕0007号",
    "issuer": "山西省应急管理厅",
    "valid_from": "2023-06-01",
    "valid_until": "2026-05-31",
}


async def _patch(world: World, body: dict[str, Any]) -> httpx.Response:
    current = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    return await world.client.patch(
        f"{API}/enterprises/{world.enterprise_id}",
        json=body,
        headers=world.owner.headers() | {"If-Match": current.headers["etag"]},
    )


async def test_an_enterprise_records_its_permits_and_its_regulators_read_them(
    world: World, pool: asyncpg.Pool
) -> None:
    # The demo enterprise is a producer: it may record a safe-use permit without a
    # production safety permit (the enforcement list, not the record, flags that).
    kept = await _patch(world, {"permits": [SAFE_USE | {"number": "  A-0012  "}, TRADING]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["permits"] == [SAFE_USE | {"number": "A-0012"}, TRADING]
    assert kept.headers["etag"] == '"2"'

    seen = await world.county_reviewer.get(f"/enterprises/{world.enterprise_id}")
    assert seen.json()["permits"] == [SAFE_USE | {"number": "A-0012"}, TRADING]
    elsewhere = await world.other_county_reviewer.get(f"/enterprises/{world.enterprise_id}")
    assert elsewhere.status_code == 404

    # Replaced as a whole, as aging installations are; [] says there are none.
    assert (await _patch(world, {"permits": [PRODUCTION]})).json()["permits"] == [PRODUCTION]
    assert (await _patch(world, {"permits": []})).json()["permits"] == []

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT changes::text AS changes FROM audit_log "
            "WHERE action = 'enterprise.update' ORDER BY id"
        )
    changes = [json.loads(r["changes"]) for r in rows]
    assert len(changes) == 3
    assert changes[0] == {
        "permits": {"before": [], "after": [SAFE_USE | {"number": "A-0012"}, TRADING]}
    }
    assert changes[2]["permits"]["before"] == [PRODUCTION]


async def test_every_bad_permit_field_is_named_by_its_path(world: World) -> None:
    bad = await _patch(
        world,
        {
            "permits": [
                SAFE_USE | {"number": "x" * 61},
                TRADING | {"valid_until": "2024-12-31"},  # before it begins
                PRODUCTION | {"issuer": " ", "valid_from": "2023-02-30", "kind": "hunting"},
            ]
        },
    )
    assert bad.status_code == 422
    fields = bad.json()["error"]["fields"]
    assert set(fields) == {
        "permits[0].number",
        "permits[1].valid_until",
        "permits[2].kind",
        "permits[2].issuer",
        "permits[2].valid_from",
    }
    assert fields["permits[1].valid_until"] == "must be on or after valid_from (2025-01-10)"
    assert "not a day of the calendar" in fields["permits[2].valid_from"]
    number = await _patch(world, {"permits": [SAFE_USE | {"valid_from": 1709251200}]})
    assert "YYYY-MM-DD" in number.json()["error"]["fields"]["permits[0].valid_from"]
    four = await _patch(world, {"permits": [SAFE_USE, TRADING, PRODUCTION, SAFE_USE]})
    assert set(four.json()["error"]["fields"]) == {"permits"}  # one of each of three kinds

    twice = await _patch(world, {"permits": [SAFE_USE, TRADING, SAFE_USE]})
    assert twice.status_code == 422
    assert set(twice.json()["error"]["fields"]) == {"permits[2].kind"}
    assert "permits[0]" in twice.json()["error"]["fields"]["permits[2].kind"]

    emptied = await _patch(world, {"permits": None})
    assert emptied.json()["error"]["fields"] == {"permits": "cannot be emptied (send [] for none)"}
    record = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    assert record.json()["permits"] == []  # nothing of the refused changes was kept
    assert record.headers["etag"] == '"1"'


async def test_a_registered_enterprise_changes_its_permits_through_review(world: World) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    direct = await _patch(world, {"permits": [SAFE_USE]})
    assert direct.status_code == 409

    path = f"/enterprises/{world.enterprise_id}/info-updates"
    bad = await world.owner.post(
        path, {"changes": {"permits": [SAFE_USE, SAFE_USE | {"valid_until": "2020-01-01"}]}}
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"changes.permits[1].valid_until"}
    twice = await world.owner.post(path, {"changes": {"permits": [SAFE_USE, SAFE_USE]}})
    assert set(twice.json()["error"]["fields"]) == {"changes.permits[1].kind"}

    filed = await world.owner.post(path, {"changes": {"permits": [PRODUCTION, SAFE_USE]}})
    assert filed.status_code == 201, filed.text
    for reviewer in (world.county_reviewer, world.province_reviewer, world.national_reviewer):
        waiting = await world.owner.get(f"/enterprises/{world.enterprise_id}")
        assert waiting.json()["permits"] == []  # it applies once approved
        decided = await reviewer.post(f"/submissions/{filed.json()['id']}/approve")
        assert decided.status_code == 200, decided.text
    record = await world.province_reviewer.get(f"/enterprises/{world.enterprise_id}")
    assert record.json()["permits"] == [PRODUCTION, SAFE_USE]


async def test_the_document_describes_the_permits(registry_client: httpx.AsyncClient) -> None:
    document = (await registry_client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    record = schemas["EnterpriseView"]
    assert "permits" in record["required"]
    view = schemas[record["properties"]["permits"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert view["properties"]["valid_until"]["format"] == "date"
    kinds = schemas[view["properties"]["kind"]["$ref"].rsplit("/", 1)[1]]
    assert kinds["enum"] == ["production_safety", "safe_use", "trading"]

    update = schemas["EnterpriseUpdateForm"]["properties"]["permits"]
    # A list of at most three, and no null offered: null is refused (it cannot be emptied).
    assert update["type"] == "array"
    assert update["maxItems"] == 3
    assert "anyOf" not in update
    assert "default" not in update
    permit = schemas[update["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(permit["required"]) == {"kind", "number", "issuer", "valid_from", "valid_until"}
    assert permit["properties"]["number"]["maxLength"] == 60
    assert permit["properties"]["issuer"]["maxLength"] == 100


def test_a_permit_is_flagged_ninety_days_before_its_last_day() -> None:
    permit = HeldPermit(
        PermitKind.SAFE_USE, "A-1", "太原市应急管理局", date(2024, 3, 1), date(2027, 2, 28)
    )
    assert permit.standing(date(2024, 2, 29)) == "not_yet_valid"
    assert permit.standing(date(2024, 3, 1)) == "valid"
    assert permit.standing(date(2026, 11, 30)) == "valid"  # 90 days left
    assert permit.standing(date(2026, 12, 1)) == "expiring"  # 89 days left
    assert permit.standing(date(2027, 2, 28)) == "expiring"  # its last day
    assert permit.standing(date(2027, 3, 1)) == "expired"
    assert permit.days_left(date(2027, 3, 1)) == -1
