"""GET /api/v1/enterprises/{id}/audit: who changed what of an enterprise, its products,
revisions, submissions, certificate, code and batches, newest first, a page at a time; for the
regulators in scope and the enterprise itself."""

from __future__ import annotations

from typing import Any

import httpx

from tests.registry_api.conftest import API, Signed
from tests.registry_api.lifecycle.batch_world import Batches, batches_fixture  # noqa: F401
from tests.registry_api.world import World, approve_all, new_draft, register


async def _trail(who: Signed, enterprise_id: int, **params: str) -> httpx.Response:
    return await who.client.get(
        f"{API}/enterprises/{enterprise_id}/audit", params=params, headers=who.headers()
    )


async def test_the_trail_holds_every_change_newest_first(world: World) -> None:
    product_id, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    await approve_all(world, submission_id)
    suspended = await world.province_reviewer.post(
        f"/codes/{(await world.owner.get(f'/products/{product_id}')).json()['code_id']}/suspend",
        {"reason": "标签与登记不符"},
    )
    assert suspended.status_code == 200, suspended.text

    response = await _trail(world.province_reviewer, world.enterprise_id)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    actions = [(e["action"], e["subject_type"]) for e in reversed(entries)]
    assert actions[:3] == [
        ("enterprise_application.create", "enterprise_application"),
        ("enterprise_application.approve", "enterprise_application"),
        ("enterprise.create", "enterprise"),
    ]
    for expected in (
        ("product.create", "product"),
        ("revision.create", "revision"),
        ("submission.registration", "submission"),
        ("submission.approve", "submission"),
        ("certificate.issue", "certificate"),
        ("code.suspend", "code"),
    ):
        assert expected in actions, expected
    assert actions[-1] == ("code.suspend", "code")
    [created] = [e for e in entries if e["action"] == "product.create"]
    assert created["subject_id"] == str(product_id)
    assert created["changes"]["name_zh"] == {"before": None, "after": "丙酮"}
    assert created["actor"]["id"] == world.owner.account_id
    [suspension] = [e for e in entries if e["action"] == "code.suspend"]
    assert suspension["actor"]["id"] == world.province_reviewer.account_id
    assert suspension["changes"]["reason"]["after"] == "标签与登记不符"
    # Nothing of other subjects: no sign-in of the owner, no regulator accounts.
    assert not [e for e in entries if e["subject_type"] == "account"]


async def test_the_trail_comes_a_page_at_a_time(world: World) -> None:
    await new_draft(world)
    whole = (await _trail(world.county_reviewer, world.enterprise_id)).json()
    assert whole["next_before"] is None
    first = (await _trail(world.county_reviewer, world.enterprise_id, limit="2")).json()
    assert first["entries"] == whole["entries"][:2]
    assert first["next_before"] == whole["entries"][1]["id"]
    rest = await _trail(
        world.county_reviewer, world.enterprise_id, before=str(first["next_before"])
    )
    assert rest.json()["entries"] == whole["entries"][2:]
    bad = await _trail(world.county_reviewer, world.enterprise_id, limit="0")
    assert bad.status_code == 422
    assert list(bad.json()["error"]["fields"]) == ["limit"]


async def test_the_trail_is_read_in_scope_and_by_the_enterprise_itself(world: World) -> None:
    for reader in (world.owner, world.county_viewer, world.national_reviewer):
        assert (await _trail(reader, world.enterprise_id)).status_code == 200
    assert (await _trail(world.other_county_reviewer, world.enterprise_id)).status_code == 404
    assert (await _trail(world.county_reviewer, 10**12)).status_code == 404


async def test_a_batch_its_serials_and_its_recall_are_on_the_trail(batches: Batches) -> None:
    made = await batches.declare("LOT-AUDIT-1")
    await batches.issue(made["id"], 3)
    recall = {"reason": "包装破损", "instructions": "停止发货"}
    started = await batches.county_admin.post(f"/batches/{made['id']}/recall", recall)
    assert started.status_code == 201, started.text
    ended = await batches.county_admin.post(f"/batches/{made['id']}/recall/end", {"note": "已处理"})
    assert ended.status_code == 200, ended.text

    entries = (await _trail(batches.world.county_reviewer, batches.world.enterprise_id)).json()[
        "entries"
    ]
    about_batch = [
        (e["action"], e["actor"]["id"])
        for e in reversed(entries)
        if (e["subject_type"], e["subject_id"]) == ("batch", str(made["id"]))
    ]
    owner, regulator = batches.owner.account_id, batches.county_admin.account_id
    assert about_batch == [
        ("batch.declare", owner),
        ("batch.issue_items", owner),
        ("batch.recall", regulator),
        ("batch.recall_end", regulator),
    ]
    # Another producer's trail does not list this enterprise's batch.
    theirs = (await _trail(batches.world.county_reviewer, batches.other_id)).json()["entries"]
    assert not [e for e in theirs if e["subject_type"] == "batch"]
