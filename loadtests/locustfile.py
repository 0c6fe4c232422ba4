"""Locust users for the scan path, in stated proportions of the traffic:

| user            | weight | does                                                           |
| --------------- | ------ | -------------------------------------------------------------- |
| PublicScanner   | 70     | HTML label pages, codes chosen Zipf-popular, zh and en         |
| LogisticsClerk  | 15     | transport view (HTML) and the JSON record, on receipt          |
| MachineClient   | 10     | RFC 9264 linksets                                              |
| JunkAndForgery  | 5      | forged codes (expects 404) and junk paths (expects 400)        |

Codes come from the file named by SC_CODES_FILE (one scan path per line, /C/...), which
`make loadtest` writes after publishing them.
"""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path

from locust import HttpUser, between, task


def _load_codes() -> list[str]:
    path = os.environ.get("SC_CODES_FILE")
    if not path:
        raise SystemExit("set SC_CODES_FILE to a file of scan paths (make loadtest does)")
    codes = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if not codes:
        raise SystemExit(f"{path} holds no scan paths")
    return codes


CODES = _load_codes()
# Zipf (s = 1): the n-th most popular code is scanned 1/n as often as the first.
_CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(CODES) + 1)))


def popular_code() -> str:
    return random.choices(CODES, cum_weights=_CUMULATIVE)[0]


class PublicScanner(HttpUser):
    weight = 70
    wait_time = between(0.01, 0.05)

    @task(4)
    def label_zh(self) -> None:
        self.client.get(popular_code(), name="scan label (zh)")

    @task(1)
    def label_en(self) -> None:
        self.client.get(popular_code(), headers={"Accept-Language": "en"}, name="scan label (en)")


class LogisticsClerk(HttpUser):
    weight = 15
    wait_time = between(0.01, 0.05)

    @task
    def transport_view(self) -> None:
        self.client.get(f"{random.choice(CODES)}?view=transport", name="scan transport view")

    @task
    def json_record(self) -> None:
        self.client.get(
            random.choice(CODES), headers={"Accept": "application/json"}, name="scan JSON"
        )


class MachineClient(HttpUser):
    weight = 10
    wait_time = between(0.01, 0.05)

    @task
    def linkset(self) -> None:
        self.client.get(
            random.choice(CODES),
            headers={"Accept": "application/linkset+json"},
            name="scan linkset",
        )


class JunkAndForgery(HttpUser):
    weight = 5
    wait_time = between(0.01, 0.05)

    @task
    def forged(self) -> None:
        code = random.choice(CODES)
        # A changed signature character in the middle: well formed, but not what was issued.
        middle = "A" if code[-20] != "A" else "B"
        forged = code[:-20] + middle + code[-19:]
        with self.client.get(forged, name="forged code (404)", catch_response=True) as response:
            if response.status_code == 404:
                response.success()
            else:
                response.failure(f"forged code answered {response.status_code}, not 404")

    @task
    def junk(self) -> None:
        path = random.choice(["/C/not-a-code", "/C/" + "U" * 121, "/C/14AB/B/x_y"])
        with self.client.get(path, name="junk (400)", catch_response=True) as response:
            if response.status_code == 400:
                response.success()
            else:
                response.failure(f"junk answered {response.status_code}, not 400")
