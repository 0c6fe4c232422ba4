"""Locust users of `make chaos`: the scan traffic of `make loadtest`, and registry writes.

| user          | count     | does                                                             |
| ------------- | --------- | ---------------------------------------------------------------- |
| scanners      | the rest  | `loadtests.locustfile`'s users, in its proportions               |
| Enterprise    | 1 each    | adds products, starts and edits revisions, files registrations,  |
|               |           | corrects products, changes its record (directly or for review)   |
| Regulator     | 1 each    | takes the first submission of its queue and approves it          |

Every write the registry acknowledges (2xx) is appended to the ledger file, one JSON
object a line, with what identifies it in the database; `loadtests.chaos` looks each one
up afterwards. Every answer is counted by request and status (0: no answer, the
connection failed) into the counts file when the run stops. The run's settings come
from the JSON file named by SC_CHAOS_CONFIG, which `loadtests.chaos` writes.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

from loadtests.locustfile import JunkAndForgery, LogisticsClerk, MachineClient, PublicScanner

__all__ = ["Enterprise", "JunkAndForgery", "LogisticsClerk", "MachineClient", "PublicScanner",
           "Regulator"]  # fmt: skip

CONFIG: dict[str, Any] = json.loads(Path(os.environ["SC_CHAOS_CONFIG"]).read_text())
API = CONFIG["registry"] + "/api/v1"
_ledger_lock = threading.Lock()
_counts: Counter[tuple[str, int]] = Counter()
_times: dict[str, list[float]] = {"scan": [], "write": [], "read": []}
_enterprises = itertools.count()
_regulators = itertools.count()


def acknowledge(kind: str, **identity: object) -> None:
    """Note a write the registry acknowledged, for the check against the database."""
    line = json.dumps({"kind": kind, **identity})
    with _ledger_lock, Path(CONFIG["ledger"]).open("a") as ledger:
        ledger.write(line + "\n")


def category(name: str) -> str:
    return name.split(" ", 1)[0] if name.startswith(("write ", "read ")) else "scan"


def _count(name: str, response_time: float, response: Any, **_kwargs: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    _counts[name, status] += 1
    times = _times[category(name)]
    if len(times) < 200_000:
        times.append(response_time)


def _started(environment: Environment, **_kwargs: Any) -> None:
    Path(CONFIG["started"]).write_text("started\n")


def _write_counts(environment: Environment, **_kwargs: Any) -> None:
    answers = [
        {"name": name, "category": category(name), "status": status, "count": count}
        for (name, status), count in sorted(_counts.items())
    ]
    Path(CONFIG["counts"]).write_text(json.dumps({"answers": answers, "times_ms": _times}))


# locust's EventHook.add_listener carries no annotations.
events.request.add_listener(_count)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_started)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_counts)  # type: ignore[no-untyped-call]


def _etag_version(response: Any) -> int:
    return int(response.headers["etag"].strip('"'))


def _acknowledged(response: Any, expected: int, *, not_a_failure: tuple[int, ...] = ()) -> bool:
    """Whether the registry acknowledged the write (`expected`); otherwise the answer is
    marked a failure, unless it is one a concurrent user can cause (`not_a_failure`: a
    conflict, a version changed meanwhile), which is expected under load."""
    if response.status_code == expected:
        return True
    if response.status_code in not_a_failure:
        response.success()
    else:
        response.failure(f"{response.status_code}")
    return False


class Enterprise(HttpUser):
    fixed_count = len(CONFIG["enterprises"])
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        me = CONFIG["enterprises"][next(_enterprises) % len(CONFIG["enterprises"])]
        self.enterprise_id: int = me["id"]
        self.kind: str = "change" if me["registered"] else "new"
        self.client.headers["Authorization"] = f"Bearer {me['token']}"
        self.drafts: list[int] = []
        self.products: list[int] = []

    @task(3)
    def file_product(self) -> None:
        body = dict(CONFIG["product"], name_zh=f"混沌{CONFIG['run']}-{random.getrandbits(40):x}")
        with self.client.post(
            f"{API}/enterprises/{self.enterprise_id}/products", json=body,
            name="write add product", catch_response=True,
        ) as created:  # fmt: skip
            if not _acknowledged(created, 201):
                return
            product_id = created.json()["id"]
        acknowledge("product", id=product_id, version=1)
        self.products.append(product_id)
        with self.client.post(
            f"{API}/products/{product_id}/revisions", json=CONFIG["revision"],
            name="write start revision", catch_response=True,
        ) as started:  # fmt: skip
            if not _acknowledged(started, 201):
                return
            revision_id, version = started.json()["id"], _etag_version(started)
        acknowledge("revision", id=revision_id, version=version)
        edited = json.loads(json.dumps(CONFIG["revision"]))  # a copy, one section changed
        edited["sds"]["sections"][0]["body"]["zh"] += f"（修订 {random.getrandbits(20)}）"
        with self.client.put(
            f"{API}/revisions/{revision_id}", json=edited, headers={"If-Match": f'"{version}"'},
            name="write edit revision", catch_response=True,
        ) as updated:  # fmt: skip
            if not _acknowledged(updated, 200):
                return
        acknowledge("revision", id=revision_id, version=_etag_version(updated))
        self.drafts.append(revision_id)

    @task(1)
    def file_registration(self) -> None:
        if not self.drafts:
            return
        body = {"kind": self.kind, "revision_ids": self.drafts}
        with self.client.post(
            f"{API}/enterprises/{self.enterprise_id}/registrations", json=body,
            name="write file registration", catch_response=True,
        ) as filed:  # fmt: skip
            if filed.status_code == 409:  # one pending at a time, or the other kind
                message = filed.json()["error"]["message"]
                if "holds certificate" in message:
                    self.kind = "change"
                elif "needs a valid certificate" in message:
                    self.kind = "new"
            if not _acknowledged(filed, 201, not_a_failure=(409,)):
                return
            submission_id = filed.json()["id"]
        acknowledge("submission", id=submission_id)
        self.drafts = []

    @task(1)
    def correct_product(self) -> None:
        if not self.products:
            return
        product_id = random.choice(self.products)
        read = self.client.get(f"{API}/products/{product_id}", name="read product")
        if read.status_code != 200:
            return
        body = dict(CONFIG["product"], name_zh=read.json()["name"]["zh"])
        body["name_en"] = f"Chaos test product {random.getrandbits(20)}"
        with self.client.put(
            f"{API}/products/{product_id}", json=body,
            headers={"If-Match": read.headers["etag"]},
            name="write correct product", catch_response=True,
        ) as updated:  # fmt: skip
            # 409: under review; 412: changed meanwhile.
            if not _acknowledged(updated, 200, not_a_failure=(409, 412)):
                return
        acknowledge("product", id=product_id, version=_etag_version(updated))

    @task(1)
    def change_record(self) -> None:
        phone = f"0351-{random.randrange(1_000_000, 9_999_999)}"
        if self.kind == "change":  # registered: changes go through review
            with self.client.post(
                f"{API}/enterprises/{self.enterprise_id}/info-updates",
                json={"changes": {"emergency_phone": phone}},
                name="write file info update", catch_response=True,
            ) as filed:  # fmt: skip
                # 409: one pending at a time.
                if not _acknowledged(filed, 201, not_a_failure=(409,)):
                    return
                submission_id = filed.json()["id"]
            acknowledge("submission", id=submission_id)
            return
        read = self.client.get(f"{API}/enterprises/{self.enterprise_id}", name="read enterprise")
        if read.status_code != 200:
            return
        with self.client.patch(
            f"{API}/enterprises/{self.enterprise_id}", json={"emergency_phone": phone},
            headers={"If-Match": read.headers["etag"]},
            name="write change record", catch_response=True,
        ) as changed:  # fmt: skip
            # 409: registered meanwhile; 412: changed meanwhile.
            if not _acknowledged(changed, 200, not_a_failure=(409, 412)):
                return
        acknowledge("enterprise", id=self.enterprise_id, version=_etag_version(changed))


class Regulator(HttpUser):
    fixed_count = len(CONFIG["regulators"])
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        me = CONFIG["regulators"][next(_regulators) % len(CONFIG["regulators"])]
        self.client.headers["Authorization"] = f"Bearer {me['token']}"

    @task
    def decide(self) -> None:
        queue = self.client.get(f"{API}/reviews", name="read review queue")
        if queue.status_code != 200 or not queue.json()["submissions"]:
            return
        waiting = queue.json()["submissions"][0]
        step = waiting["waiting_at"]["step"]
        with self.client.post(
            f"{API}/submissions/{waiting['id']}/approve",
            name="write approve step", catch_response=True,
        ) as decided:  # fmt: skip
            # 409: decided by someone else meanwhile.
            if not _acknowledged(decided, 200, not_a_failure=(409,)):
                return
            final = decided.json()["status"] == "approved"
        acknowledge("decision", submission_id=waiting["id"], step=step, final=final)
