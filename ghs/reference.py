"""The GHS reference: hazard classes and categories with their label elements, and the
text of every hazard and precautionary statement in Chinese and English.

Read from the tables in `ghs/data/` (their README says what each column holds and where
the rows come from) and checked as a whole when first used: a table that does not hold
together raises `ReferenceTableError` naming the row, so a bad edit fails every test at once
rather than one label in production.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).parent / "data"
PICTOGRAMS = tuple(f"GHS0{n}" for n in range(1, 10))
SIGNAL_WORDS = ("danger", "warning")
PRECAUTION_GROUPS = ("prevention", "response", "storage", "disposal")
_STATEMENT = re.compile(r"(H\d{3}[A-Za-z]{0,2})(\+H\d{3}[A-Za-z]{0,2})*|P\d{3}(\+P\d{3})*")

Lang = Literal["zh", "en"]


class ReferenceTableError(Exception):
    """The reference tables are inconsistent; the message names the file and row."""


@dataclass(frozen=True, slots=True)
class Statement:
    code: str
    en: str
    zh: str

    @property
    def parts(self) -> tuple[str, ...]:
        """The single statements a combined one is made of (`P301+P316` → P301, P316)."""
        return tuple(self.code.split("+"))


@dataclass(frozen=True, slots=True)
class HazardClass:
    id: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class HazardCategory:
    hazard_class: HazardClass
    category: str
    category_zh: str
    # Each entry is one hazard statement that applies; where the classifier chooses
    # (H350 or H350i by route), the entry holds the choices, the default first.
    hazards: tuple[tuple[str, ...], ...]
    pictograms: tuple[str, ...]
    signal_word: str | None
    precautions: dict[str, tuple[str, ...]]  # by PRECAUTION_GROUPS
    source: str

    @property
    def label_zh(self) -> str:
        return f"{self.hazard_class.zh}，{self.category_zh}"

    @property
    def label_en(self) -> str:
        return f"{self.hazard_class.en}, category {self.category}"


@dataclass(frozen=True, slots=True)
class Reference:
    classes: dict[str, HazardClass]  # in the tables' order
    categories: dict[tuple[str, str], HazardCategory]  # by (class id, category)
    hazard_statements: dict[str, Statement]
    precautionary_statements: dict[str, Statement]

    def categories_of(self, class_id: str) -> list[str]:
        return [category for (cls, category) in self.categories if cls == class_id]

    def statement(self, code: str) -> Statement:
        table = self.hazard_statements if code.startswith("H") else self.precautionary_statements
        return table[code]


@functools.cache
def reference() -> Reference:
    """The reference tables, read and checked once per process."""
    return load_reference(DATA_DIR)


def load_reference(directory: Path) -> Reference:
    """Read and check the tables in `directory`; raises `ReferenceTableError`."""
    hazard_statements = _statements(directory / "hazard_statements.tsv", "H")
    precautionary_statements = _statements(directory / "precautionary_statements.tsv", "P")
    classes: dict[str, HazardClass] = {}
    categories: dict[tuple[str, str], HazardCategory] = {}
    path = directory / "hazard_categories.tsv"
    for line, row in _rows(path):
        where = f"{path.name} line {line}"
        hazard_class = classes.setdefault(
            row["class"], HazardClass(row["class"], row["class_zh"], row["class_en"])
        )
        if (hazard_class.zh, hazard_class.en) != (row["class_zh"], row["class_en"]):
            raise ReferenceTableError(f"{where}: class {row['class']} is named differently above")
        key = (row["class"], row["category"])
        if key in categories:
            raise ReferenceTableError(f"{where}: {row['class']} category {row['category']} twice")
        hazards = tuple(tuple(choice.split("|")) for choice in row["hazard"].split())
        for code in (c for choices in hazards for c in choices):
            if code not in hazard_statements:
                raise ReferenceTableError(f"{where}: {code} has no text in hazard_statements.tsv")
        pictograms = tuple(row["pictograms"].split())
        if unknown := [p for p in pictograms if p not in PICTOGRAMS]:
            raise ReferenceTableError(f"{where}: unknown pictogram {unknown[0]}")
        signal = row["signal"] or None
        if signal is not None and signal not in SIGNAL_WORDS:
            raise ReferenceTableError(f"{where}: signal must be danger, warning or empty")
        precautions = {group: tuple(row[group].split()) for group in PRECAUTION_GROUPS}
        for code in (c for codes in precautions.values() for c in codes):
            if code not in precautionary_statements:
                raise ReferenceTableError(
                    f"{where}: {code} has no text in precautionary_statements.tsv"
                )
        categories[key] = HazardCategory(
            hazard_class=hazard_class,
            category=row["category"],
            category_zh=row["category_zh"],
            hazards=hazards,
            pictograms=pictograms,
            signal_word=signal,
            precautions=precautions,
            source=row["source"],
        )
    if not categories:
        raise ReferenceTableError(f"{path.name} has no rows")
    return Reference(classes, categories, hazard_statements, precautionary_statements)


def _statements(path: Path, prefix: str) -> dict[str, Statement]:
    statements: dict[str, Statement] = {}
    for line, row in _rows(path):
        code = row["code"]
        where = f"{path.name} line {line}"
        if not code.startswith(prefix) or not _STATEMENT.fullmatch(code):
            raise ReferenceTableError(f"{where}: {code!r} is not a {prefix} statement code")
        if code in statements:
            raise ReferenceTableError(f"{where}: {code} twice")
        if not row["en"].strip() or not row["zh"].strip():
            raise ReferenceTableError(f"{where}: {code} needs both its Chinese and English text")
        statements[code] = Statement(code, row["en"].strip(), row["zh"].strip())
    for statement in statements.values():
        if len(statement.parts) > 1 and (missing := set(statement.parts) - statements.keys()):
            raise ReferenceTableError(
                f"{path.name}: {statement.code} combines unknown {min(missing)}"
            )
    return statements


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The table's rows as dicts, with their line numbers; comment and blank lines skipped."""
    with path.open(encoding="utf-8", newline="") as file:
        lines = [(n, text) for n, text in enumerate(file, start=1)]
    content = [(n, text) for n, text in lines if text.strip() and not text.startswith("#")]
    if not content:
        raise ReferenceTableError(f"{path.name} is empty")
    header = content[0][1].rstrip("\r\n").split("\t")
    reader = csv.reader((text for _, text in content[1:]), delimiter="\t", quoting=csv.QUOTE_NONE)
    for (line, _), cells in zip(content[1:], reader, strict=True):
        if len(cells) != len(header):
            raise ReferenceTableError(
                f"{path.name} line {line}: {len(cells)} columns, the header has {len(header)}"
            )
        yield line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
