"""The GHS reference tables: complete in both languages, consistent, and corrected where the
PubChem table they started from is known to be wrong."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ghs.reference import DATA_DIR, ReferenceTableError, load_reference, reference

_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_statement_has_chinese_and_english_text() -> None:
    ref = reference()
    statements = [*ref.hazard_statements.values(), *ref.precautionary_statements.values()]
    assert len(ref.hazard_statements) > 70
    assert len(ref.precautionary_statements) > 100
    for statement in statements:
        assert _CJK.search(statement.zh), statement.code
        assert not _CJK.search(statement.en), statement.code
        assert statement.en[0].isupper() or statement.en[0] in "[…", statement.code


def test_every_code_a_category_assigns_has_its_text() -> None:
    ref = reference()
    for category in ref.categories.values():
        for code in (c for choices in category.hazards for c in choices):
            assert ref.statement(code).zh
        for codes in category.precautions.values():
            for code in codes:
                assert ref.statement(code).zh


def test_every_hazard_class_of_the_ghs_is_there() -> None:
    classes = reference().classes
    assert len(classes) == 34
    assert classes["flammable_liquids"].zh == "易燃液体"
    assert classes["acute_toxicity_oral"].zh == "急性毒性-经口"


@pytest.mark.parametrize(
    ("hazard_class", "category", "pictograms", "signal_word"),
    [
        ("explosives", "1.5", ("GHS01",), "danger"),  # PubChem: GHS02 for H205
        ("aerosols", "1", ("GHS02",), "danger"),
        ("aerosols", "3", (), "warning"),  # PubChem lists H229 under category 1's signal word
        ("aquatic_chronic", "2", ("GHS09",), None),  # no signal word for H411
        ("aquatic_acute", "2", (), None),
        ("flammable_liquids", "4", (), "warning"),
        ("self_reactive", "G", (), None),
    ],
)
def test_known_pubchem_errors_are_corrected(
    hazard_class: str, category: str, pictograms: tuple[str, ...], signal_word: str | None
) -> None:
    row = reference().categories[hazard_class, category]
    assert row.pictograms == pictograms
    assert row.signal_word == signal_word


def _copy_tables(tmp_path: Path) -> Path:
    for name in ("hazard_categories.tsv", "hazard_statements.tsv", "precautionary_statements.tsv"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_statement_without_chinese_text_is_refused_with_its_line(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    statement = reference().statement("H225")
    _edit(tables / "hazard_statements.tsv", f"\t{statement.zh}", "\t ")
    with pytest.raises(ReferenceTableError, match=r"hazard_statements.tsv line \d+: H225"):
        load_reference(tables)


def test_a_code_used_but_not_written_is_refused(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    statement = reference().statement("P501")
    _edit(tables / "precautionary_statements.tsv", f"P501\t{statement.en}", f"P599\t{statement.en}")
    with pytest.raises(ReferenceTableError, match="P501 has no text"):
        load_reference(tables)


def test_an_unknown_pictogram_is_refused(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    _edit(tables / "hazard_categories.tsv", "\tGHS02\t", "\tGHS10\t")
    with pytest.raises(ReferenceTableError, match="unknown pictogram GHS10"):
        load_reference(tables)
