"""Scanning a code through the real resolver, on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import html
import re
import time
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesvc.codes import group_code_id
from codesvc.issuance import CodeStatus, issue_code
from codesvc.publishing import publish
from codesvc.records import RecordError
from safecode.demo import sample_record
from safecode.embedded import ServiceUrls
from safecode.settings import Settings
from tests.codesvc.conftest import BASE, World
from tests.conftest import resolver_with


async def test_a_scan_shows_the_label_with_danger_first(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    response = await resolver_client.get(f"/C/{code}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "丙酮" in page
    assert 'class="signal danger">危险<' in page
    assert 'href="tel:0351-7654321"' in page
    assert "/static/ghs/GHS02.svg" in page
    assert "已验证" in page  # scanned, signature genuine
    assert group_code_id(code[:16]) in page
    assert response.headers["vary"] == "Accept, Accept-Language"
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["link"] == (
        f'<{BASE}/C/{code}>; rel="linkset"; type="application/linkset+json"'
    )
    pictogram = await resolver_client.get("/static/ghs/GHS02.svg")
    assert pictogram.status_code == 200


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        # The SDS as a page: the 16 sections, with the revision and its approval date.
        ("?view=sds", {}, ["第16部分内容", 'id="section-4"', "版本 1.0", "2026-11-20"]),
        ("?view=transport", {}, ["UN1090", "II"]),
        ("?view=emergency&lang=en", {}, ["Alcohol-resistant foam", "Move to fresh air"]),
        ("", {"Accept-Language": "en-US,en;q=0.9"}, ["Acetone", "Danger", "H225"]),
        # A text without English falls back to Chinese on the English page.
        ("?view=emergency&lang=en", {}, ["切断火源"]),
    ],
)
async def test_views_and_languages(
    world: World,
    resolver_client: httpx.AsyncClient,
    query: str,
    headers: dict[str, str],
    expected: list[str],
) -> None:
    code = await world.publish()
    response = await resolver_client.get(f"/c/{code.lower()}{query}", headers=headers)
    assert response.status_code == 200
    for text in expected:
        assert text in response.text


async def test_json_and_linkset_for_machines(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    as_json = await resolver_client.get(f"/C/{code}", headers={"Accept": "application/json"})
    assert as_json.headers["content-type"] == "application/json"
    document = as_json.json()
    assert document["status"] == "active"
    assert document["record"]["transport"]["un_number"] == "UN1090"

    linkset = await resolver_client.get(
        f"/C/{code}", headers={"Accept": "application/linkset+json"}
    )
    assert linkset.status_code == 200
    assert linkset.headers["content-type"] == "application/linkset+json"
    (context,) = linkset.json()["linkset"]
    assert context["anchor"] == f"{BASE}/C/{code}"
    links = context["describedby"]
    html = {
        (link["href"].split("?")[1], link["hreflang"][0])
        for link in links
        if link["type"] == "text/html"
    }
    assert len(html) == 8  # four views in two languages
    assert ("view=transport&lang=en", "en") in html
    assert {"href": f"{BASE}/C/{code}", "type": "application/json", "title": "record"} in links

    refused = await resolver_client.get(f"/C/{code}", headers={"Accept": "image/png"})
    assert refused.status_code == 406


async def test_an_unchanged_page_answers_304(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    first = await resolver_client.get(f"/C/{code}")
    again = await resolver_client.get(
        f"/C/{code}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    other_view = await resolver_client.get(
        f"/C/{code}?view=sds", headers={"If-None-Match": first.headers["etag"]}
    )
    assert other_view.status_code == 200


async def test_a_batch_is_shown_never_pretending(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    # Batches and items in depth: tests/codesvc/test_lifecycle_scan.py.
    code = await world.publish()
    response = await resolver_client.get(f"/C/{code}/B/LOT-2026-11?lang=en")
    assert response.status_code == 200
    assert "Batch: LOT-2026-11" in response.text
    assert "Batch not declared by the manufacturer" in response.text
    assert "Acetone" in response.text


async def test_a_forged_code_never_shows_the_product(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    forged = code[:60] + ("A" if code[60] != "A" else "B") + code[61:]
    response = await resolver_client.get(f"/C/{forged}")
    assert response.status_code == 404
    assert "不是真实的安全码" in response.text
    assert "丙酮" not in response.text
    as_json = await resolver_client.get(f"/C/{forged}", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert "UN1090" not in as_json.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/C/14ABCDEFGHJKMNPQ01" + "0" * 103, 404),  # well formed, never issued
        ("/C/not-a-code", 400),
        ("/C/" + "Z" * 121, 400),
        ("/C/{code}?view=nutrition", 400),
        ("/C/{code}/B/lot_with_underscore", 400),
    ],
)
async def test_unknown_and_junk(
    world: World, resolver_client: httpx.AsyncClient, path: str, status: int
) -> None:
    code = await world.publish()
    response = await resolver_client.get(path.replace("{code}", code))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")


async def test_suspended_and_revoked_codes(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    await resolver_client.get(f"/C/{code}")  # cached before the change
    await world.set_status(code, CodeStatus.SUSPENDED, "标签信息核查中")
    suspended = await resolver_client.get(f"/C/{code}")
    assert suspended.status_code == 200
    assert "此安全码已被暂停使用" in suspended.text
    assert "标签信息核查中" in suspended.text
    assert "丙酮" in suspended.text

    await world.set_status(code, CodeStatus.REVOKED, "企业已注销")
    revoked = await resolver_client.get(f"/C/{code}?lang=en")
    assert revoked.status_code == 410
    assert "This code has been revoked" in revoked.text
    assert "企业已注销" in revoked.text
    assert time.strftime("%Y-") in revoked.text  # the date it was revoked
    as_json = await resolver_client.get(f"/C/{code}", headers={"Accept": "application/json"})
    assert as_json.status_code == 410
    assert as_json.json()["status"] == "revoked"


async def test_a_typed_code_id_redirects_to_its_page_marked_typed(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    typed = group_code_id(code[:16]).lower()
    response = await resolver_client.get(f"/lookup?id={typed}")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/C/{code}?src=typed")
    page = await resolver_client.get(response.headers["location"])
    assert "手动输入的编号" in page.text
    assert "已验证" not in page.text
    # Moving to another view (or language) keeps saying the code was typed.
    sds_link = re.search(r'href="(\?[^"]*view=sds[^"]*)"', page.text)
    assert sds_link is not None
    sds = await resolver_client.get(f"/C/{code}" + html.unescape(sds_link.group(1)))
    assert "手动输入的编号" in sds.text
    assert "已验证" not in sds.text
    unknown = await resolver_client.get("/lookup?id=14AB-CDEF-GHJK-MNPQ")
    assert unknown.status_code == 404
    # What was typed stays in the form, and in the link to the other language.
    assert 'value="14AB-CDEF-GHJK-MNPQ"' in unknown.text
    assert 'href="?id=14AB-CDEF-GHJK-MNPQ&amp;lang=en"' in unknown.text
    quoted = await resolver_client.get('/lookup?id="><script>')
    assert quoted.status_code == 400
    assert "<script>" not in quoted.text
    assert (await resolver_client.get("/lookup?id=hello")).status_code == 400
    assert (await resolver_client.get("/lookup")).status_code == 400


async def test_an_approved_change_reaches_every_process_within_a_second(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    code = await world.publish(revision="1.0")
    async for first in resolver_with(settings, service_urls, l1_cache_ttl_seconds=3600):
        async for second in resolver_with(settings, service_urls, l1_cache_ttl_seconds=3600):
            for client in (first, second):
                assert "版本 1.0" in (await client.get(f"/C/{code}")).text
            async with world.pool.acquire() as conn:
                await publish(conn, code[:16], sample_record(revision="2.0"), public_base_url=BASE)
            before_relay = (await first.get(f"/C/{code}")).text
            assert "版本 1.0" in before_relay  # nothing new before the relay copies it
            await world.relay.drain()
            deadline = time.monotonic() + 1.0
            pages: list[str] = []
            while time.monotonic() < deadline:
                pages = [(await c.get(f"/C/{code}")).text for c in (first, second)]
                if all("版本 2.0" in page for page in pages):
                    break
                await asyncio.sleep(0.02)
            assert all("版本 2.0" in page for page in pages)


async def test_a_code_issued_after_an_unknown_scan_appears_once_published(
    world: World, settings: Settings, service_urls: ServiceUrls
) -> None:
    async with world.pool.acquire() as conn:
        issued = await issue_code(conn, "late", keyring=world.keyring, province="14")
    code = issued.code.text
    async for client in resolver_with(settings, service_urls, negative_cache_ttl_seconds=3600):
        assert (await client.get(f"/C/{code}")).status_code == 404  # issued, not published
        async with world.pool.acquire() as conn:
            await publish(conn, issued.code.code_id, sample_record(), public_base_url=BASE)
        await world.relay.drain()
        deadline = time.monotonic() + 1.0
        status = 0
        while time.monotonic() < deadline and status != 200:
            status = (await client.get(f"/C/{code}")).status_code
            await asyncio.sleep(0.02)
        assert status == 200


async def test_a_bad_record_is_refused_naming_every_field(world: World) -> None:
    record = sample_record()
    record["supplier"]["emergency_phone"] = "call us"
    record["label"]["signal_word"] = "careful"
    record["transport"]["un_number"] = "1090"
    del record["sds"][3]
    async with world.pool.acquire() as conn:
        issued = await issue_code(conn, "bad", keyring=world.keyring, province="14")
        with pytest.raises(RecordError) as caught:
            await publish(conn, issued.code.code_id, record, public_base_url=BASE)
        assert await conn.fetchval("SELECT count(*) FROM published_records") == 0
    assert set(caught.value.fields) == {
        "supplier.emergency_phone",
        "label.signal_word",
        "transport.un_number",
        "sds",
    }


_CHAR = st.characters(blacklist_categories=["Cs"])
_SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#%"), max_size=25
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_no_scan_path_query_or_header_gives_a_server_error(
    published_code: str, resolver_client: httpx.AsyncClient, data: st.DataObject
) -> None:
    code = published_code
    position = data.draw(st.integers(0, len(code) - 1))
    code_variant = data.draw(
        st.sampled_from(
            [
                code,
                code.lower(),
                code[:position],
                code[:position] + data.draw(_CHAR) + code[position + 1 :],
                data.draw(_SEGMENT),
            ]
        )
    )
    prefix = data.draw(st.sampled_from(["/C/", "/c/", "/C//", "/lookup?id="]))
    tail = "/".join(data.draw(st.lists(_SEGMENT, max_size=5)))
    query = data.draw(st.sampled_from(["", "?view=", "?view=sds&lang=", "?src=typed&lang=xx"]))
    query += quote(data.draw(st.text(_CHAR, max_size=10)))
    accept = data.draw(st.sampled_from(["", "*/*", "application/json;q=2", "text/*;q=0", "é"]))
    target = quote(prefix + code_variant + ("/" + tail if tail else ""), safe="/?=&%") + query
    response = await resolver_client.get(
        "http://testserver" + target, headers={b"Accept": accept.encode()}
    )
    assert response.status_code < 500, (target, response.text[:300])


@pytest.fixture
async def published_code(world: World) -> str:
    return await world.publish()
