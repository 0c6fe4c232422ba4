"""Products, revisions and the review pipelines end to end through HTTP, with the scan of
the product's code read through the real resolver after the relay has run."""

from __future__ import annotations

import asyncio
import copy

import asyncpg

from tests.registry_api.conftest import API
from tests.registry_api.world import (
    ACETONE,
    World,
    approve_all,
    code_of,
    new_draft,
    register,
    revision_body,
)


async def test_a_registration_goes_province_then_national_and_publishes_the_code(
    world: World,
) -> None:
    product_id, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    submitted = await world.owner.get(f"/revisions/{revision_id}")
    assert submitted.json()["status"] == "submitted"
    edit = await world.put(world.owner, f"/revisions/{revision_id}", revision_body(), '"2"')
    assert edit.status_code == 409  # read-only under review

    # Waiting at the province: in the provincial reviewer's queue, no one else's.
    for nobody in (world.county_reviewer, world.national_reviewer, world.other_county_reviewer):
        assert (await nobody.get("/reviews")).json()["submissions"] == []
    queue = (await world.province_reviewer.get("/reviews")).json()["submissions"]
    assert [s["id"] for s in queue] == [submission_id]
    assert queue[0]["waiting_at"]["name"].startswith("省级审核")
    assert (await world.county_viewer.get("/reviews")).status_code == 403
    premature = await world.national_reviewer.post(f"/submissions/{submission_id}/approve")
    assert premature.status_code == 403
    assert await code_of(world, product_id) is None  # nothing issued before approval

    first = await world.province_reviewer.post(f"/submissions/{submission_id}/approve")
    assert first.json()["waiting_at"]["name"].startswith("国家审批")
    assert await code_of(world, product_id) is None
    done = await world.national_reviewer.post(f"/submissions/{submission_id}/approve")
    assert done.json()["status"] == "approved"
    assert [d["decision"] for d in done.json()["decisions"]] == ["approve", "approve"]

    code_id = await code_of(world, product_id)
    assert code_id is not None
    page = await world.scan(code_id)
    assert page.status_code == 200
    assert "丙酮" in page.text
    assert "高度易燃液体和蒸气" in page.text  # the label derived from the classification
    product = (await world.owner.get(f"/products/{product_id}")).json()
    assert product["status"] == "approved"
    assert product["current_revision"]["number"] == 1

    certificates = await world.province_reviewer.get("/certificates?expiring_within_days=1100")
    [certificate] = certificates.json()["certificates"]
    assert certificate["enterprise_id"] == world.enterprise_id
    issued = certificate["issued_on"]
    assert certificate["expires_on"] == f"{int(issued[:4]) + 3}{issued[4:]}"
    soon = await world.province_reviewer.get("/certificates?expiring_within_days=30")
    assert soon.json()["certificates"] == []
    assert (await world.other_county_reviewer.get("/certificates")).json()["certificates"] == []


async def test_a_new_revision_reaches_the_scan_only_when_approved(world: World) -> None:
    product_id, first = await new_draft(world)
    await approve_all(world, await register(world, first))
    code_id = await code_of(world, product_id)
    assert code_id is not None

    changed = revision_body(fire_fighting={"zh": "用干粉灭火，禁止用水。"})
    changed["sds"]["sections"][4]["body"] = {"zh": "第二版消防措施。"}
    _, second = await new_draft(world, changed)
    before = (await world.scan(code_id, view="sds")).text
    assert "第二版消防措施" not in before

    submission_id = await register(world, second, kind="change")
    rejected = await world.province_reviewer.post(f"/submissions/{submission_id}/reject", {})
    assert rejected.status_code == 422  # a reason is required
    rejected = await world.province_reviewer.post(
        f"/submissions/{submission_id}/reject", {"reason": "第5部分缺少灭火剂说明"}
    )
    assert rejected.json()["status"] == "rejected"
    draft = await world.owner.get(f"/revisions/{second}")
    assert draft.json()["status"] == "draft"  # back to the enterprise, editable again
    assert "第二版消防措施" not in (await world.scan(code_id, view="sds")).text

    edited = await world.put(world.owner, f"/revisions/{second}", changed, draft.headers["etag"])
    assert edited.status_code == 200, edited.text
    resubmitted = await register(world, second, kind="change", resubmission_of=submission_id)
    history = (await world.owner.get(f"/enterprises/{world.enterprise_id}/submissions")).json()
    by_id = {s["id"]: s for s in history["submissions"]}
    assert by_id[resubmitted]["resubmission_of"] == submission_id
    assert by_id[submission_id]["decisions"][0]["reason"] == "第5部分缺少灭火剂说明"

    await approve_all(world, resubmitted)
    # The resolver drops its copy within a second of the relay's invalidation.
    deadline = asyncio.get_running_loop().time() + 1.0
    while "第二版消防措施" not in (await world.scan(code_id, view="sds")).text:
        assert asyncio.get_running_loop().time() < deadline, "the scan kept the old revision"
        await asyncio.sleep(0.02)
    revisions = (await world.owner.get(f"/products/{product_id}")).json()["revisions"]
    assert [(r["number"], r["status"]) for r in revisions] == [(1, "superseded"), (2, "current")]


async def test_of_two_reviewers_deciding_at_once_exactly_one_wins(world: World) -> None:
    _, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    answers = await asyncio.gather(
        world.province_reviewer.post(f"/submissions/{submission_id}/approve"),
        world.second_province_reviewer.post(f"/submissions/{submission_id}/approve"),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    decisions = (await world.owner.get(f"/submissions/{submission_id}")).json()["decisions"]
    assert len(decisions) == 1


async def test_a_bad_submission_names_every_problem(world: World) -> None:
    bad_cas = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products", ACETONE | {"cas_numbers": ["67-64-2"]}
    )
    assert bad_cas.status_code == 422
    assert "cas_numbers[0]" in bad_cas.json()["error"]["fields"]

    body = revision_body()
    del body["sds"]["sections"][3]  # section 4 missing
    body["label"] = {
        "pictograms": ["GHS02", "GHS06"],  # acetone is not acutely toxic
        "signal_word": "danger",
        "hazard_statements": ["H225", "H319", "H336"],
    }
    listed = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", ACETONE)
    drafted = await world.owner.post(f"/products/{listed.json()['id']}/revisions", body)
    assert drafted.status_code == 201  # a draft may be incomplete
    problems = drafted.json()["problems"]
    assert "section 4 missing" in problems["sds.sections"]
    assert "GHS06 is not called for" in problems["label.pictograms"]
    filed = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations",
        {"kind": "new", "revision_ids": [drafted.json()["id"]]},
    )
    assert filed.status_code == 422
    fields = filed.json()["error"]["fields"]
    assert {
        "revisions[0].sds.sections",
        "revisions[0].label.pictograms",
        "revisions[0].label.precautionary_statements",
    } <= set(fields)
    assert (await world.owner.get(f"/revisions/{drafted.json()['id']}")).json()["status"] == "draft"


async def test_deregistration_revokes_every_code(world: World) -> None:
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    assert (await world.scan(code_id)).status_code == 200

    # A change still under review when the enterprise closes must not publish afterwards.
    second = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products", ACETONE | {"name_zh": "工业丙酮"}
    )
    drafted = await world.owner.post(f"/products/{second.json()['id']}/revisions", revision_body())
    pending_change = await register(world, drafted.json()["id"], kind="change")

    refused = await world.county_viewer.post(
        f"/enterprises/{world.enterprise_id}/deregistrations", {"reason": "企业已关闭"}
    )
    assert refused.status_code == 403
    filed = await world.county_reviewer.post(
        f"/enterprises/{world.enterprise_id}/deregistrations", {"reason": "企业已关闭"}
    )
    assert filed.status_code == 201, filed.text
    submission_id = filed.json()["id"]
    assert (await world.scan(code_id)).status_code == 200  # nothing changes before approval
    await world.county_reviewer.post(f"/submissions/{submission_id}/approve")
    closed = await world.province_reviewer.post(f"/submissions/{submission_id}/approve")
    assert closed.json()["status"] == "approved"

    revoked = await world.scan(code_id)
    assert revoked.status_code == 410
    assert "企业已关闭" in revoked.text
    record = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    assert record.json()["status"] == "deregistered"
    assert (await world.province_reviewer.get("/certificates")).json()["certificates"] == []
    more = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", ACETONE)
    assert more.status_code == 409
    late = await world.province_reviewer.post(f"/submissions/{pending_change}/approve")
    assert late.status_code == 409
    assert "deregistered" in late.json()["error"]["message"]
    closed_out = await world.province_reviewer.post(
        f"/submissions/{pending_change}/reject", {"reason": "企业已注销"}
    )
    assert closed_out.status_code == 200


async def test_a_regulator_suspends_and_reinstates_one_code(world: World) -> None:
    product_id, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    path = f"/codes/{code_id}/suspend"
    assert (await world.county_viewer.post(path, {"reason": "抽查"})).status_code == 403
    assert (await world.owner.post(path, {"reason": "抽查"})).status_code == 403
    assert (await world.other_county_reviewer.post(path, {"reason": "抽查"})).status_code == 404
    assert (await world.county_reviewer.post(path, {})).status_code == 422
    suspended = await world.county_reviewer.post(path, {"reason": "标签与实物不符，待核查"})
    assert suspended.json()["status"] == "suspended"
    page = await world.scan(code_id)
    assert page.status_code == 200
    assert "标签与实物不符" in page.text
    again = await world.county_reviewer.post(path, {"reason": "再次"})
    assert again.status_code == 409
    reinstated = await world.county_reviewer.post(
        f"/codes/{code_id}/reinstate", {"reason": "核查无误"}
    )
    assert reinstated.json()["status"] == "active"
    assert "标签与实物不符" not in (await world.scan(code_id)).text


async def test_a_registered_enterprise_changes_its_record_through_three_levels(
    world: World,
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    record = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    direct = await world.client.patch(
        f"{API}/enterprises/{world.enterprise_id}",
        json={"safety_head": "钱七"},
        headers=world.owner.headers() | {"If-Match": record.headers["etag"]},
    )
    assert direct.status_code == 409
    assert "info-updates" in direct.json()["error"]["message"]

    bad = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/info-updates", {"changes": {"name": None}}
    )
    assert "changes.name" in bad.json()["error"]["fields"]
    filed = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/info-updates", {"changes": {"safety_head": "钱七"}}
    )
    submission_id = filed.json()["id"]
    for reviewer in (world.county_reviewer, world.province_reviewer, world.national_reviewer):
        unchanged = await world.owner.get(f"/enterprises/{world.enterprise_id}")
        assert unchanged.json()["safety_head"] != "钱七"
        decided = await reviewer.post(f"/submissions/{submission_id}/approve")
        assert decided.status_code == 200, decided.text
    changed = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    assert changed.json()["safety_head"] == "钱七"


async def test_renewal_opens_three_months_before_expiry(world: World, pool: asyncpg.Pool) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    early = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations", {"kind": "renewal"}
    )
    assert early.status_code == 409
    assert "renewal opens on" in early.json()["error"]["message"]
    again = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations",
        {"kind": "new", "revision_ids": [revision_id]},
    )
    assert again.status_code == 409  # a valid certificate exists
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE certificates SET issued_on = current_date - 1000, "
            "expires_on = current_date + 60 WHERE status = 'valid'"
        )
    renewal = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations", {"kind": "renewal"}
    )
    assert renewal.status_code == 201, renewal.text
    await approve_all(world, renewal.json()["id"])
    [renewed] = (
        await world.province_reviewer.get("/certificates?expiring_within_days=1200")
    ).json()["certificates"]
    assert renewed["expires_on"] > (await _today_plus(pool, 1000))


async def _today_plus(pool: asyncpg.Pool, days: int) -> str:
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT (current_date + $1::int)::text", days)
    return str(value)


async def test_the_enterprise_downloads_its_qr_codes(world: World) -> None:
    product_id, revision_id = await new_draft(world)
    none_yet = await world.owner.get(f"/products/{product_id}/qr.svg")
    assert none_yet.status_code == 404
    await approve_all(world, await register(world, revision_id))
    for fmt, media in (("svg", "image/svg+xml"), ("png", "image/png"), ("pdf", "application/pdf")):
        answer = await world.owner.get(f"/products/{product_id}/qr.{fmt}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(media)
    sheet = await world.owner.get(f"/enterprises/{world.enterprise_id}/qr-sheet.pdf")
    assert sheet.content.startswith(b"%PDF")
    other = await world.other_county_reviewer.get(f"/products/{product_id}/qr.png")
    assert other.status_code == 404


async def test_another_county_sees_nothing_of_the_enterprise(world: World) -> None:
    product_id, revision_id = await new_draft(world)
    submission_id = await register(world, revision_id)
    outsider = world.other_county_reviewer
    for path in (
        f"/enterprises/{world.enterprise_id}/products",
        f"/products/{product_id}",
        f"/revisions/{revision_id}",
        f"/submissions/{submission_id}",
        f"/enterprises/{world.enterprise_id}/submissions",
    ):
        assert (await outsider.get(path)).status_code == 404, path
    assert (await outsider.post(f"/submissions/{submission_id}/approve")).status_code == 404
    inside = await world.county_reviewer.get(f"/products/{product_id}")
    assert inside.status_code == 200


async def test_one_revision_in_the_works_at_a_time_and_drafts_keep_their_version(
    world: World,
) -> None:
    product_id, revision_id = await new_draft(world)
    second = await world.owner.post(f"/products/{product_id}/revisions", revision_body())
    assert second.status_code == 409
    read = await world.owner.get(f"/revisions/{revision_id}")
    body = copy.deepcopy(revision_body())
    first = await world.put(world.owner, f"/revisions/{revision_id}", body, read.headers["etag"])
    assert first.status_code == 200
    stale = await world.put(world.owner, f"/revisions/{revision_id}", body, read.headers["etag"])
    assert stale.status_code == 412
    regulator_edit = await world.put(
        world.county_reviewer, f"/revisions/{revision_id}", body, first.headers["etag"]
    )
    assert regulator_edit.status_code == 403


async def test_rejected_updates_and_deregistrations_change_nothing_until_resubmitted(
    world: World, pool: asyncpg.Pool
) -> None:
    _, revision_id = await new_draft(world)
    await approve_all(world, await register(world, revision_id))
    update = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/info-updates", {"changes": {"safety_head": "孙八"}}
    )
    await world.county_reviewer.post(f"/submissions/{update.json()['id']}/approve")
    rejected = await world.province_reviewer.post(
        f"/submissions/{update.json()['id']}/reject", {"reason": "安全负责人未附任命文件"}
    )
    assert rejected.json()["status"] == "rejected"
    record = await world.owner.get(f"/enterprises/{world.enterprise_id}")
    assert record.json()["safety_head"] != "孙八"
    wrong_link = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/info-updates",
        {"changes": {"safety_head": "孙八"}, "resubmission_of": update.json()["id"] + 1000},
    )
    assert "resubmission_of" in wrong_link.json()["error"]["fields"]

    closing = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/deregistrations", {"reason": "停产关闭"}
    )
    turned_down = await world.county_reviewer.post(
        f"/submissions/{closing.json()['id']}/reject", {"reason": "现场核查仍在生产"}
    )
    assert turned_down.json()["status"] == "rejected"
    assert (await world.owner.get(f"/enterprises/{world.enterprise_id}")).json()[
        "status"
    ] == "active"
    again = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/deregistrations",
        {"reason": "已停产并拆除装置", "resubmission_of": closing.json()["id"]},
    )
    assert again.status_code == 201
    assert again.json()["resubmission_of"] == closing.json()["id"]

    async with pool.acquire() as conn:
        actions = {row["action"] for row in await conn.fetch("SELECT action FROM audit_log")}
    assert {
        "product.create", "revision.create", "submission.registration", "submission.approve",
        "submission.reject", "certificate.issue", "submission.info_update",
        "submission.deregistration",
    } <= actions  # fmt: skip


async def test_ids_that_are_not_row_ids_are_refused_not_crashed_on(world: World) -> None:
    # "²" is a digit to str.isdigit and huge numbers do not fit a bigint.
    assert (await world.owner.get("/products/%C2%B2")).status_code == 404
    certificates = await world.province_reviewer.get("/certificates?expiring_within_days=%C2%B2")
    assert certificates.status_code == 422
    # More digits than int() converts (4,300): refused for its length, not crashed on.
    days = await world.province_reviewer.get("/certificates?expiring_within_days=" + "9" * 5000)
    assert days.status_code == 422
    huge = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/registrations",
        {"kind": "new", "revision_ids": [10**30], "resubmission_of": 10**20},
    )
    assert huge.status_code == 422
    assert {"revision_ids[0]", "resubmission_of"} <= set(huge.json()["error"]["fields"])
    unknown_code = await world.county_reviewer.post(
        "/codes/" + "Z" * 5000 + "/suspend", {"reason": "抽查"}
    )
    assert unknown_code.status_code == 404
    assert len(unknown_code.json()["error"]["message"]) < 100


async def test_a_corrected_product_reaches_the_scan_with_its_next_approved_revision(
    world: World,
) -> None:
    product_id, first = await new_draft(world)
    await approve_all(world, await register(world, first))
    code_id = await code_of(world, product_id)
    assert code_id is not None
    read = await world.owner.get(f"/products/{product_id}")
    path = f"/products/{product_id}"
    corrected = ACETONE | {"name_zh": "丙酮（工业级）"}
    missing_version = await world.client.put(
        API + path, json=corrected, headers=world.owner.headers()
    )
    assert missing_version.status_code == 428
    by_regulator = await world.put(world.county_reviewer, path, corrected, read.headers["etag"])
    assert by_regulator.status_code == 403
    changed = await world.put(world.owner, path, corrected, read.headers["etag"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"]["zh"] == "丙酮（工业级）"
    stale = await world.put(world.owner, path, ACETONE, read.headers["etag"])
    assert stale.status_code == 412
    other = await world.owner.post(f"/enterprises/{world.enterprise_id}/products", ACETONE)
    clash = await world.put(world.owner, path, ACETONE, changed.headers["etag"])
    assert other.status_code == 201
    assert clash.status_code == 409
    assert "name_zh" in clash.json()["error"]["fields"]

    assert "丙酮（工业级）" not in (await world.scan(code_id)).text  # not approved yet
    drafted = await world.owner.post(f"/products/{product_id}/revisions", revision_body())
    assert drafted.status_code == 201
    await approve_all(world, await register(world, drafted.json()["id"], kind="change"))
    assert "丙酮（工业级）" in (await world.scan(code_id)).text


async def test_text_is_kept_trimmed_and_without_nul_characters(world: World) -> None:
    """PostgreSQL holds no NUL in text or JSON: it is taken out, not answered with a 500."""
    created = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products",
        ACETONE | {"name_zh": "  工业\x00丙酮 ", "name_en": "Acetone\x00"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == {"zh": "工业丙酮", "en": "Acetone"}
    blank = await world.owner.post(
        f"/enterprises/{world.enterprise_id}/products", ACETONE | {"name_zh": " \x00\u3000"}
    )
    assert blank.status_code == 422
    assert set(blank.json()["error"]["fields"]) == {"name_zh"}


async def test_a_draft_names_classes_and_categories_of_the_tables(world: World) -> None:
    _, draft_id = await new_draft(world)
    draft = await world.owner.get(f"/revisions/{draft_id}")
    body = revision_body() | {
        "classification": [
            {"class": "flammable_liquid", "category": "2"},
            {"class": "acute_toxicity_oral", "category": "9"},
        ]
    }
    refused = await world.put(world.owner, f"/revisions/{draft_id}", body, draft.headers["etag"])
    assert refused.status_code == 422
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"classification[0].class", "classification[1].category"}
    assert "it has 1, 2, 3, 4, 5" in fields["classification[1].category"]
