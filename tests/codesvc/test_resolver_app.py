from __future__ import annotations

import httpx
import pytest


async def test_healthz_answers(resolver_client: httpx.AsyncClient) -> None:
    response = await resolver_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_home_page_is_chinese_first_and_english_on_request(
    resolver_client: httpx.AsyncClient,
) -> None:
    zh = await resolver_client.get("/")
    assert zh.status_code == 200
    assert "危险化学品安全码" in zh.text
    en = await resolver_client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in en.text
    assert "Scan the QR code" in en.text
    forced = await resolver_client.get("/?lang=zh", headers={"Accept-Language": "en"})
    assert 'lang="zh-CN"' in forced.text


async def test_unknown_page_is_a_404_page_in_the_readers_language(
    resolver_client: httpx.AsyncClient,
) -> None:
    response = await resolver_client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text


async def test_wrong_method_is_a_405_page_with_allow(resolver_client: httpx.AsyncClient) -> None:
    response = await resolver_client.delete("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert "不支持的请求方式" in response.text


async def test_an_oversized_body_is_refused_with_413(resolver_client: httpx.AsyncClient) -> None:
    response = await resolver_client.post("/", content=b"x" * (64 * 1024))
    assert response.status_code == 413  # refused on its length, before any route is tried
    assert "请求过大" in response.text


@pytest.mark.parametrize("given", ["abc-123", "A" * 64])
async def test_a_sane_request_id_is_echoed(resolver_client: httpx.AsyncClient, given: str) -> None:
    response = await resolver_client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize("given", ["has space", "A" * 65, "<script>"])
async def test_an_insane_request_id_is_replaced(
    resolver_client: httpx.AsyncClient, given: str
) -> None:
    response = await resolver_client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] != given
    assert len(response.headers["x-request-id"]) == 32
