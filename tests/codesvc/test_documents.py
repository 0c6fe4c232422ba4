"""Printable documents of a published code, through the real resolver: the SDS as PDF and
the GB 15258 label as PDF and SVG, with the code's QR readable off the print."""

from __future__ import annotations

import asyncio
import time

import httpx
import pypdfium2
import pytest

from codesvc.codes import group_code_id
from codesvc.issuance import CodeStatus
from codesvc.publishing import publish
from codesvc.qr import qr_content
from safecode.demo import sample_record
from tests.codesvc.conftest import BASE, World
from tests.conftest import pdf_text
from tests.qr_reading import qr_texts

_MM_PER_PT = 25.4 / 72


def _pdf_qr_and_size(data: bytes) -> tuple[list[str], tuple[float, float]]:
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        width, height = page.get_size()
        image = page.render(scale=10).to_pil()
    finally:
        document.close()
    found = qr_texts(image)
    return found, (round(width * _MM_PER_PT), round(height * _MM_PER_PT))


async def test_the_sds_pdf_is_the_published_record_in_either_language(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    code_id = group_code_id(code[:16])
    zh = await resolver_client.get(f"/documents/{code_id}/sds.pdf")
    assert zh.status_code == 200
    assert zh.headers["content-type"] == "application/pdf"
    assert f'filename="{code_id}-sds-zh.pdf"' in zh.headers["content-disposition"]
    text = pdf_text(zh.content)
    assert "丙酮 安全技术说明书" in text
    assert "第16部分 其他信息" in text
    en = await resolver_client.get(f"/documents/{code_id}/sds.pdf?lang=en")
    assert "Acetone Safety data sheet" in pdf_text(en.content)


async def test_the_label_pdf_carries_the_label_and_a_qr_that_scans_to_the_code(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    answer = await resolver_client.get(f"/documents/{code[:16]}/label.pdf?size=150x200")
    assert answer.status_code == 200
    text = pdf_text(answer.content)
    for expected in (
        "丙酮",
        "Acetone",
        "危险",
        "高度易燃液体和蒸气",
        "【预防措施】",
        "0351-7654321",
    ):
        assert expected in text
    found, size_mm = _pdf_qr_and_size(answer.content)
    assert found == [qr_content(f"{BASE}/C/{code}")]
    assert size_mm == (150, 200)


async def test_the_package_capacity_picks_the_gb_15258_size(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    drum = await resolver_client.get(f"/documents/{code[:16]}/label.pdf?capacity_ml=200000")
    assert _pdf_qr_and_size(drum.content)[1] == (100, 150)
    # A 1 L bottle may carry 50x75 mm, but acetone's 19 precautions need a larger label:
    # the smallest that holds them at a legible size.
    bottle = await resolver_client.get(f"/documents/{code[:16]}/label.pdf?capacity_ml=1000")
    assert _pdf_qr_and_size(bottle.content)[1] == (100, 150)
    assert "-label-100x150-zh.pdf" in bottle.headers["content-disposition"]
    too_small = await resolver_client.get(f"/documents/{code[:16]}/label.pdf?size=50x75")
    assert too_small.status_code == 400
    assert "does not fit the 50x75 size" in too_small.text
    vial = await resolver_client.get(f"/documents/{code[:16]}/label.svg?capacity_ml=50&lang=en")
    assert vial.status_code == 200
    assert vial.headers["content-type"] == "image/svg+xml"
    assert "Danger" in vial.text
    assert "Prevention" not in vial.text  # the simplified label of GB 15258 4.3


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?size=A4", "50x75"),
        ("?capacity_ml=lots", "capacity_ml"),
        ("?capacity_ml=-5", "above 0"),
        ("?capacity_ml=nan", "above 0"),
        ("?size=50x75&capacity_ml=100", "not both"),
    ],
)
async def test_bad_label_options_answer_400_naming_the_problem(
    world: World, resolver_client: httpx.AsyncClient, query: str, named: str
) -> None:
    code = await world.publish()
    answer = await resolver_client.get(f"/documents/{code[:16]}/label.pdf{query}")
    assert answer.status_code == 400
    assert named in answer.text


async def test_unknown_bad_and_revoked_codes(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    assert (await resolver_client.get("/documents/not-a-code/sds.pdf")).status_code == 400
    assert (await resolver_client.get("/documents/14AAAAAAAAAAAAAA/sds.pdf")).status_code == 404
    assert (await resolver_client.get("/documents/14AAAAAAAAAAAAAA/label.docx")).status_code == 404
    code = await world.publish()
    await world.set_status(code, CodeStatus.REVOKED, "produced no longer")
    revoked = await resolver_client.get(f"/documents/{code[:16]}/label.pdf")
    assert revoked.status_code == 410
    assert "produced no longer" in revoked.text


async def test_a_document_is_revalidated_by_etag_and_follows_a_new_revision(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    url = f"/documents/{code[:16]}/sds.pdf"
    first = await resolver_client.get(url)
    again = await resolver_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    async with world.pool.acquire() as conn:
        await publish(conn, code[:16], sample_record(revision="2.0"), public_base_url=BASE)
    await world.relay.drain()
    deadline = time.monotonic() + 1.0
    text = ""
    while time.monotonic() < deadline and "版本 2.0" not in text:
        text = pdf_text((await resolver_client.get(url)).content)
        await asyncio.sleep(0.02)
    assert "版本 2.0" in text


async def test_the_scan_page_links_its_printable_documents(
    world: World, resolver_client: httpx.AsyncClient
) -> None:
    code = await world.publish()
    page = (await resolver_client.get(f"/C/{code}?view=sds&lang=en")).text
    links = [
        f"/documents/{group_code_id(code[:16])}/{name}?lang=en" for name in ("sds.pdf", "label.pdf")
    ]
    for link in links:
        assert f'href="{link}"' in page
        answer = await resolver_client.get(link)
        assert answer.status_code == 200
        assert answer.content.startswith(b"%PDF")
