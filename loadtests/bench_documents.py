"""`make bench` section "documents": GHS derivation, labels and SDS rendered per second.

Pure CPU in one process, on the demo record (acetone: 3 classifications, 19 precautionary
statements) and methanol's classification; each render is a first render (nothing kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from codesvc.qr import qr_matrix
from codesvc.records import parse_record, record_as_json
from ghs.derivation import derive_label, parse_classifications
from loadtests.bench_codes import Rate
from public_site.label_sizes import label_size_named
from public_site.labels import render_label_pdf, render_label_svg
from public_site.sds_pdf import render_sds_pdf
from safecode.demo import sample_record
from safecode.demo_products import DEMO_PRODUCTS

_SCAN_URL = "HTTPS://SAFECODE.EXAMPLE.CN/C/" + "A" * 121


def _timed(name: str, count: int, work: Callable[[], object]) -> Rate:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return Rate(name, count, time.perf_counter() - started)


def documents_section(n: int) -> list[Rate]:
    record = record_as_json(parse_record(sample_record()))
    methanol = DEMO_PRODUCTS[1].classification
    qr = qr_matrix(_SCAN_URL)
    size = label_size_named("100x150")

    def label(render: Callable[..., bytes]) -> Callable[[], bytes]:
        return lambda: render(record, qr=qr, code_text="14AB-CDEF-GHJK-MNPQ", size=size)

    return [
        _timed("GHS derivation (methanol, 5 classes)", n * 20,
               lambda: derive_label(parse_classifications(methanol))),
        _timed("label 100x150 mm, SVG", n, label(render_label_svg)),
        _timed("label 100x150 mm, PDF", n, label(render_label_pdf)),
        _timed("SDS, 16 sections, PDF", n, lambda: render_sds_pdf(record)),
    ]  # fmt: skip
