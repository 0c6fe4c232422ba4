"""A submitted label checked against its classification: every difference named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ghs.conformity import check_label
from ghs.derivation import DerivedLabel, derive_label, label_elements, parse_classifications
from ghs.reference import reference

METHANOL = [
    {"class": "flammable_liquids", "category": "2"},
    {"class": "acute_toxicity_oral", "category": "3"},
    {"class": "acute_toxicity_dermal", "category": "3"},
    {"class": "acute_toxicity_inhalation", "category": "3"},
    {"class": "stot_single_exposure", "category": "1"},
]


@pytest.fixture
def methanol() -> DerivedLabel:
    return derive_label(parse_classifications(METHANOL))


@pytest.fixture
def correct(methanol: DerivedLabel) -> dict[str, Any]:
    return label_elements(methanol)


def test_the_derived_label_conforms(methanol: DerivedLabel, correct: dict[str, Any]) -> None:
    assert check_label(methanol, correct) == {}


def test_combined_statements_may_be_written_as_their_parts(
    methanol: DerivedLabel, correct: dict[str, Any]
) -> None:
    correct["hazard_statements"] = ["H225", "H301", "H311", "H331", "H370"]
    assert check_label(methanol, correct) == {}


def test_a_wrong_pictogram_set_is_explained(
    methanol: DerivedLabel, correct: dict[str, Any]
) -> None:
    correct["pictograms"] = ["GHS02", "GHS06", "GHS07"]
    problem = check_label(methanol, correct)["label.pictograms"]
    assert "GHS08 is missing (Specific target organ toxicity" in problem
    assert "GHS07 is not called for" in problem


def test_a_pictogram_a_rule_removes_is_named_with_the_rule() -> None:
    toxic_sensitiser = derive_label(
        parse_classifications(
            [
                {"class": "acute_toxicity_oral", "category": "3"},
                {"class": "skin_sensitization", "category": "1"},
            ]
        )
    )
    label = label_elements(toxic_sensitiser)
    label["pictograms"] = ["GHS06", "GHS07"]
    problem = check_label(toxic_sensitiser, label)["label.pictograms"]
    assert problem.startswith("GHS07 must not appear: GHS 1.4.10.5.3.1 (a)")


def test_a_wrong_signal_word_names_the_right_one(
    methanol: DerivedLabel, correct: dict[str, Any]
) -> None:
    correct["signal_word"] = "warning"
    assert "must be 'danger'" in check_label(methanol, correct)["label.signal_word"]
    correct["signal_word"] = None
    assert "label.signal_word" in check_label(methanol, correct)


def test_missing_extra_and_misworded_hazard_statements_are_each_named(
    methanol: DerivedLabel, correct: dict[str, Any]
) -> None:
    statements = correct["hazard_statements"]
    wrong_text = copy.deepcopy(statements[0])
    wrong_text["text"]["zh"] = "易燃液体"
    correct["hazard_statements"] = [wrong_text, statements[1], {"code": "H350"}, {"code": "H999"}]
    problems = check_label(methanol, correct)
    assert problems["label.hazard_statements"].startswith("H370 is missing")
    assert "H350 is not called for" in problems["label.hazard_statements[2]"]
    assert "not a GHS hazard statement" in problems["label.hazard_statements[3].code"]
    assert reference().statement("H225").zh in problems["label.hazard_statements[0].text"]


def test_missing_precautions_are_named_and_extra_ones_allowed(
    methanol: DerivedLabel, correct: dict[str, Any]
) -> None:
    prevention = correct["precautionary_statements"]["prevention"]
    dropped = prevention.pop(0)["code"]
    correct["precautionary_statements"]["disposal"].append({"code": "P102"})
    problems = check_label(methanol, correct)
    assert set(problems) == {"label.precautionary_statements"}
    assert problems["label.precautionary_statements"].startswith(f"{dropped} is missing")


def test_a_label_of_the_wrong_shape_is_named_not_raised(methanol: DerivedLabel) -> None:
    assert "label" in check_label(methanol, ["GHS02"])
    problems = check_label(
        methanol,
        {"pictograms": "GHS02", "hazard_statements": {}, "precautionary_statements": []},
    )
    assert {"label.pictograms", "label.hazard_statements", "label.precautionary_statements"} <= set(
        problems
    )
