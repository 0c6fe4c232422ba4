from __future__ import annotations

import json
import logging

import httpx
import pytest

from codesvc.requestlog import loggable_path, request_id_var
from safecode.logs import JsonFormatter


def test_a_log_line_is_one_json_object_with_the_request_id() -> None:
    record = logging.LogRecord(
        "safecode.test", logging.WARNING, __file__, 1, "cache %s", ("miss",), None
    )
    record.fields = {"code_prefix": "14AB"}
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "cache miss"
    assert entry["level"] == "warning"
    assert entry["request_id"] == "req-1"
    assert entry["code_prefix"] == "14AB"


def test_scan_paths_are_logged_without_the_whole_code() -> None:
    code = "14ABCDEFGHJKMNPQ" + "X" * 105
    assert loggable_path(f"/C/{code}/B/LOT-7") == "/C/14ABCD…/B/LOT-7"
    assert loggable_path("/healthz") == "/healthz"
    assert len(loggable_path("/" + "a" * 5000)) == 200


async def test_each_request_is_logged_once_with_its_id(
    resolver_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="safecode.access"):
        response = await resolver_client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    access = [r for r in caplog.records if r.name == "safecode.access"]
    assert len(access) == 1
    entry = json.loads(JsonFormatter().format(access[0]))
    assert entry["status"] == response.status_code == 200
    assert entry["path"] == "/healthz"
    assert entry["method"] == "GET"
    assert entry["request_id"] == "trace-42"
