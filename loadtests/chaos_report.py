"""What `make chaos` measured, checked and reported: answers per phase, the cache layers
that served the scans, recovery times, and the acknowledged writes looked up in the
database."""

from __future__ import annotations

import argparse
import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from codesvc.issuance import find_codes

LAYERS = ("l1", "redis", "postgres", "stale", "negative", "unavailable")
_LAYER_LINE = re.compile(r'^safecode_scan_lookups_total\{layer="([a-z0-9_]+)"\} ([0-9.e+]+)$')
# Ledger kinds, and the table whose row must hold the acknowledged version (or more).
_VERSIONED = {"product": "products", "revision": "revisions", "enterprise": "enterprises"}
# Units of work done whole or not at all: each query counts what a half-done one leaves.
INTEGRITY = {
    "revisions submitted without a pending submission": """
        SELECT count(*) FROM revisions r WHERE r.status = 'submitted' AND NOT EXISTS (
            SELECT 1 FROM submission_revisions sr JOIN submissions s ON s.id = sr.submission_id
            WHERE sr.revision_id = r.id AND s.status = 'pending')""",
    "approved registrations whose revisions are not current": """
        SELECT count(*) FROM submissions s
        JOIN submission_revisions sr ON sr.submission_id = s.id
        JOIN revisions r ON r.id = sr.revision_id
        WHERE s.pipeline = 'registration' AND s.status = 'approved'
          AND r.status NOT IN ('current', 'superseded')""",
    "products with a current revision but no code": """
        SELECT count(*) FROM products p WHERE p.code_id IS NULL AND EXISTS (
            SELECT 1 FROM revisions r WHERE r.product_id = p.id AND r.status = 'current')""",
    "codes of products without a published record": """
        SELECT count(*) FROM products p WHERE p.code_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM published_records r WHERE r.code_id = p.code_id)""",
    "approved steps of submissions that do not say so": """
        SELECT count(*) FROM review_decisions d JOIN submissions s ON s.id = d.submission_id
        WHERE d.decision = 'approve' AND s.status = 'pending' AND s.step <= d.step""",
}
_TITLES = {"product": "products added or corrected", "revision": "revisions started or edited",
           "enterprise": "enterprise records changed", "submission": "submissions filed",
           "decision": "review steps approved"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Recovery:
    seconds: float | None  # None: not back within the limit
    saw_unready: bool  # a /readyz answered other than 200 meanwhile


@dataclass(frozen=True, slots=True)
class PhaseResult:
    name: str
    title: str
    answers: dict[str, Any]  # what `loadtests.chaos_users` counted
    layers_before: dict[str, float]
    layers_after: dict[str, float]
    recovery: Recovery | None  # None: nothing was killed


@contextmanager
def supervisor_log() -> Iterator[list[dict[str, Any]]]:
    """The supervisor's warnings while the block runs (restarts, with the time down)."""
    found: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", {})
            found.append({"message": record.getMessage(), **fields})

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("safecode.supervision")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def scrape_layers(base_url: str) -> dict[str, float]:
    """The resolver's scan counts by layer, for the whole unit: any worker answers /metrics
    with every worker's counts (codesvc.metrics, as of `PUBLISH_SECONDS` ago at most)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).raise_for_status().text
    layers = {}
    for line in text.splitlines():
        match = _LAYER_LINE.match(line)
        if match:
            layers[match[1]] = float(match[2])
    return layers


async def check_writes(
    database_url: str, ledger: list[dict[str, Any]], run: str, resolver_url: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every acknowledged write (the ledger's entries) looked up; and the products of
    approved registrations scanned, as anyone would scan them."""
    conn = await asyncpg.connect(database_url)
    try:
        versions: dict[str, dict[int, int]] = {}
        for kind, table in _VERSIONED.items():
            ids = [e["id"] for e in ledger if e["kind"] == kind]
            rows = await conn.fetch(
                f"SELECT id, version FROM {table} WHERE id = ANY($1::bigint[])",
                ids,
            )
            versions[kind] = {row["id"]: row["version"] for row in rows}
        submission_ids = [e["id"] for e in ledger if e["kind"] == "submission"] + [
            e["submission_id"] for e in ledger if e["kind"] == "decision"
        ]
        submissions = {
            row["id"]: row
            for row in await conn.fetch(
                "SELECT id, pipeline, status FROM submissions WHERE id = ANY($1::bigint[])",
                submission_ids,
            )
        }
        decided = {
            (row["submission_id"], row["step"])
            for row in await conn.fetch(
                "SELECT submission_id, step FROM review_decisions "
                "WHERE submission_id = ANY($1::bigint[]) AND decision = 'approve'",
                submission_ids,
            )
        }
        added = await conn.fetchval(
            "SELECT count(*) FROM products WHERE name_zh LIKE $1", f"混沌{run}-%"
        )
        approved = [e["submission_id"] for e in ledger if e["kind"] == "decision" and e["final"]]
        code_ids = [
            row["code_id"]
            for row in await conn.fetch(
                """
                SELECT DISTINCT p.code_id FROM submissions s
                JOIN submission_revisions sr ON sr.submission_id = s.id
                JOIN revisions r ON r.id = sr.revision_id
                JOIN products p ON p.id = r.product_id
                WHERE s.id = ANY($1::bigint[]) AND s.pipeline = 'registration'
                  AND p.code_id IS NOT NULL
                """,
                approved,
            )
        ]
        codes = await find_codes(conn, code_ids)
        integrity = {name: int(await conn.fetchval(query)) for name, query in INTEGRITY.items()}
    finally:
        await conn.close()

    def stored(entry: dict[str, Any]) -> bool:
        kind = entry["kind"]
        if kind in _VERSIONED:
            acknowledged: int = entry["version"]
            return versions[kind].get(entry["id"], 0) >= acknowledged
        if kind == "submission":
            return bool(entry["id"] in submissions)
        row = submissions.get(entry["submission_id"])
        return (entry["submission_id"], entry["step"]) in decided and bool(
            not entry["final"] or (row is not None and row["status"] == "approved")
        )

    by_kind: dict[str, dict[str, int]] = {}
    missing = []
    for entry in ledger:
        counts = by_kind.setdefault(entry["kind"], {"acknowledged": 0, "stored": 0})
        counts["acknowledged"] += 1
        if stored(entry):
            counts["stored"] += 1
        else:
            missing.append(entry)
    created = {e["id"] for e in ledger if e["kind"] == "product" and e["version"] == 1}
    async with httpx.AsyncClient(base_url=resolver_url, timeout=10) as client:
        scanned = [(await client.get(f"/C/{c.code.text}")).status_code for c in codes]
    writes = {
        "acknowledged": len(ledger),
        "stored": len(ledger) - len(missing),
        "lost": len(missing),
        "by_kind": by_kind,
        "missing": missing[:20],
        # The client saw no success (a timeout, a connection reset), yet it was stored
        # whole: allowed, a retry finds it (the name is taken).
        "products_stored_unacknowledged": max(0, added - len(created)),
        "half_done": integrity,
    }
    published = {"approved_products": len(codes), "scannable": scanned.count(200)}
    return writes, published


def _summary(answers: dict[str, Any], category: str) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    for row in answers["answers"]:
        if row["category"] == category:
            statuses[row["status"]] += row["count"]
    times = sorted(answers["times_ms"].get(category, []))

    def count(low: int, high: int) -> int:
        return sum(n for status, n in statuses.items() if low <= status <= high)

    return {
        "answers": sum(statuses.values()),
        "2xx": count(200, 299),
        "3xx": count(300, 399),
        "4xx": count(400, 499),
        "503": statuses[503],
        "other_5xx": count(500, 599) - statuses[503],
        "no_answer": statuses[0],
        "by_status": {str(status): n for status, n in sorted(statuses.items())},
        "p50_ms": round(times[len(times) // 2]) if times else None,
        "p95_ms": round(times[int(len(times) * 0.95)]) if times else None,
        "max_ms": round(times[-1]) if times else None,
    }


def build_report(
    started_at: datetime,
    args: argparse.Namespace,
    phases: list[PhaseResult],
    writes: dict[str, Any],
    published: dict[str, Any],
    restarts: list[dict[str, Any]],
    report_dir: Path,
) -> dict[str, Any]:
    rows = []
    problems = []
    for phase in phases:
        layers = {
            layer: round(phase.layers_after.get(layer, 0) - phase.layers_before.get(layer, 0))
            for layer in LAYERS
        }
        row: dict[str, Any] = {
            "phase": phase.name,
            "what": phase.title,
            "scans": _summary(phase.answers, "scan"),
            "writes": _summary(phase.answers, "write"),
            "reads": _summary(phase.answers, "read"),
            "scans_by_layer": layers,
            "recovery_seconds": None,
            "readiness_failed_meanwhile": None,
        }
        if phase.recovery is not None:
            row["recovery_seconds"] = phase.recovery.seconds
            row["readiness_failed_meanwhile"] = phase.recovery.saw_unready
            if phase.recovery.seconds is None:
                problems.append(f"{phase.name}: not back within the time allowed")
        for kind in ("scans", "writes", "reads"):
            if row[kind]["other_5xx"]:
                problems.append(f"{phase.name}: {row[kind]['other_5xx']} {kind} answered 5xx")
        if row["scans"]["503"]:
            problems.append(f"{phase.name}: {row['scans']['503']} scans found no store (503)")
        rows.append(row)
    if writes["lost"]:
        problems.append(f"{writes['lost']} acknowledged writes are not in the database")
    problems += [f"{n} {name}" for name, n in writes["half_done"].items() if n]
    if published["scannable"] != published["approved_products"]:
        problems.append("approved products that do not scan")
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "settings": {
            "seconds_per_phase": args.seconds_per_phase,
            "scanning_users": args.users,
            "codes": args.codes,
            "resolver": "2 uvicorn workers, L1 cache TTL 2 s",
            "registry": "1 worker",
        },
        "phases": rows,
        "supervisor": restarts,
        "writes": writes,
        "published": published,
        "verdict": {"ok": not problems, "problems": problems},
        "files": str(report_dir),
    }


def render_text(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [
        f"SafeCode chaos run, {report['started_at']}: {len(report['phases'])} phases of "
        f"{settings['seconds_per_phase']} s; {settings['scanning_users']} scanning users, "
        f"3 enterprises and 3 regulators writing; {settings['codes']} published codes.",
        f"Resolver: {settings['resolver']}; registry: {settings['registry']}; relay; embedded "
        "PostgreSQL and Redis, supervised.",
        "",
        f"{'phase':<9}{'scans':>7}{'5xx':>5}{'none':>6} |{'writes':>7}{'2xx':>5}{'4xx':>5}"
        f"{'503':>5}{'5xx':>5}{'none':>6} |{'reads':>6}{'5xx':>5} | back after",
    ]
    for row in report["phases"]:
        scans, writes, reads = row["scans"], row["writes"], row["reads"]
        back = "-"
        if row["recovery_seconds"] is not None:
            seen = "was" if row["readiness_failed_meanwhile"] else "never seen"
            back = f"{row['recovery_seconds']:.1f} s (/readyz {seen} 503)"
        elif row["readiness_failed_meanwhile"] is not None:
            back = "NOT BACK"
        lines.append(
            f"{row['phase']:<9}{scans['answers']:>7}{scans['503'] + scans['other_5xx']:>5}"
            f"{scans['no_answer']:>6} |{writes['answers']:>7}{writes['2xx']:>5}{writes['4xx']:>5}"
            f"{writes['503']:>5}{writes['other_5xx']:>5}{writes['no_answer']:>6} |"
            f"{reads['answers']:>6}{reads['503'] + reads['other_5xx']:>5} | {back}"
        )
    lines += [
        "(none: no answer, the connection failed; 4xx writes are refusals by rule: one "
        "pending submission at a time, a version changed meanwhile)",
        "",
        "scans by the layer that answered, and latency",
        f"{'phase':<9}" + "".join(f"{layer:>12}" for layer in LAYERS) + f"{'p50 ms':>8}"
        f"{'p95 ms':>8}{'max ms':>8}",
    ]
    for row in report["phases"]:
        scans = row["scans"]
        lines.append(
            f"{row['phase']:<9}"
            + "".join(f"{row['scans_by_layer'][layer]:>12}" for layer in LAYERS)
            + f"{scans['p50_ms'] or 0:>8}{scans['p95_ms'] or 0:>8}{scans['max_ms'] or 0:>8}"
        )
    writes, published = report["writes"], report["published"]
    kinds = ", ".join(
        f"{_TITLES.get(kind, kind)} {c['stored']}/{c['acknowledged']}"
        for kind, c in writes["by_kind"].items()
    )
    lines += [
        "",
        f"writes acknowledged (2xx) and found in the database afterwards: "
        f"{writes['stored']}/{writes['acknowledged']} ({kinds}); lost: {writes['lost']}",
        f"stored though the client saw no success: {writes['products_stored_unacknowledged']}"
        " products",
        "half-done units of work (each should be 0): "
        + ", ".join(f"{name} {n}" for name, n in writes["half_done"].items()),
        f"products approved in the run that scan: {published['scannable']}/"
        f"{published['approved_products']}",
    ]
    for restart in report["supervisor"]:
        lines.append(f"supervisor: {restart['message']}")
    if "events" in report:
        lines += ["", *render_events(report["events"])]
    verdict = report["verdict"]
    lines += [
        "",
        "verdict: OK, nothing acknowledged was lost, nothing answered 500, every part came "
        "back by itself"
        if verdict["ok"]
        else "verdict: FAILED: " + "; ".join(verdict["problems"]),
    ]
    return "\n".join(lines) + "\n"


def with_events(report: dict[str, Any], events: dict[str, Any]) -> dict[str, Any]:
    """The report with the event ingest's figures (`loadtests.chaos_events.check_events`),
    and its problems in the verdict."""
    problems = [*report["verdict"]["problems"], *event_problems(events)]
    return report | {"events": events, "verdict": {"ok": not problems, "problems": problems}}


def event_problems(events: dict[str, Any]) -> list[str]:
    """What breaks the promise: an acknowledged event missing or stored twice, an item it
    shipped not shipped, a document refused, an answer 5xx other than 503."""
    problems = []
    if events["lost"]:
        problems.append(f"{events['lost']} acknowledged events are not in the database")
    if events["rows_stored"] != events["stored"]:
        problems.append(
            f"{events['rows_stored']} event rows for {events['stored']} acknowledged eventIDs:"
            " a retry stored an event again"
        )
    if events["items_shipped"] != events["acknowledged"]:
        problems.append(
            f"{events['acknowledged'] - events['items_shipped']} items shipped by acknowledged"
            " events are not shipped"
        )
    if events["refused"]:
        problems.append(f"event documents refused: {events['refused'][0]}")
    server_errors = sum(
        n for status, n in events["answers"].items() if int(status) >= 500 and status != "503"
    )
    if server_errors:
        problems.append(f"{server_errors} event posts answered 5xx other than 503")
    if not events["acknowledged"]:
        problems.append("no event document was acknowledged")
    return problems


def render_events(events: dict[str, Any]) -> list[str]:
    answers = ", ".join(f"{status} x{n}" for status, n in events["answers"].items())
    unanswered = events["unacknowledged"]
    return [
        f"events posted in {events['documents']} documents of {events['events_per_document']}"
        f" (answers by status: {answers}; 0: no answer)",
        f"events acknowledged and found in the database afterwards: {events['stored']}/"
        f"{events['acknowledged']}; lost: {events['lost']}; rows stored for them: "
        f"{events['rows_stored']}; items they shipped, shipped: {events['items_shipped']}",
        f"documents acknowledged after a retry: {events['documents_retried']}, with "
        f"{events['found_recorded_on_retry']} events an unanswered attempt had stored; "
        f"never acknowledged: {unanswered['documents']} documents ({unanswered['events']} "
        f"events, {unanswered['stored']} of them stored)",
    ]
