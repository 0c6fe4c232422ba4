"""Label elements of well-known substances, by their official classifications.

The classifications are those of China's Catalogue of Hazardous Chemicals (2015, as
updated) and the EU's harmonised entries; the expected label elements follow from the GHS
rules, worked out by hand here (not copied from the code's output).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghs.derivation import (
    Classification,
    ClassificationError,
    DerivedLabel,
    derive_label,
    label_elements,
    parse_classifications,
)
from ghs.reference import reference


def _derive(*entries: tuple[str, str] | tuple[str, str, str]) -> DerivedLabel:
    items = [
        {"class": e[0], "category": e[1], **({"hazard": e[2]} if len(e) == 3 else {})}
        for e in entries
    ]
    return derive_label(parse_classifications(items))


def _pictograms(label: DerivedLabel) -> set[str]:
    return {e.code for e in label.pictograms}


def _hazards(label: DerivedLabel) -> list[str]:
    return [e.code for e in label.hazard_statements]


def _precautions(label: DerivedLabel) -> list[str]:
    return [e.code for group in label.precautionary_statements.values() for e in group]


def test_methanol() -> None:
    label = _derive(
        ("flammable_liquids", "2"),
        ("acute_toxicity_oral", "3"),
        ("acute_toxicity_dermal", "3"),
        ("acute_toxicity_inhalation", "3"),
        ("stot_single_exposure", "1"),
    )
    assert _pictograms(label) == {"GHS02", "GHS06", "GHS08"}
    assert label.signal_word == "danger"
    assert _hazards(label) == ["H225", "H301+H311+H331", "H370"]


@pytest.mark.parametrize("substance", ["sulfuric acid", "sodium hydroxide"])
def test_corrosive_acid_and_base(substance: str) -> None:
    label = _derive(("skin_corrosion_irritation", "1A"), ("serious_eye_damage_irritation", "1"))
    assert _pictograms(label) == {"GHS05"}
    assert label.signal_word == "danger"
    assert _hazards(label) == ["H314"]  # H318 left out beside H314 (GHS 1.4.10.5.3.3 (d))
    assert any(o.code == "H318" and "1.4.10.5.3.3 (d)" in o.rule for o in label.omitted)


def test_toluene() -> None:
    label = _derive(
        ("flammable_liquids", "2"),
        ("skin_corrosion_irritation", "2"),
        ("reproductive_toxicity", "2", "H361d"),
        ("stot_single_exposure", "3", "H336"),
        ("stot_repeated_exposure", "2"),
        ("aspiration_hazard", "1"),
        ("aquatic_acute", "2"),
        ("aquatic_chronic", "3"),
    )
    assert _pictograms(label) == {"GHS02", "GHS07", "GHS08"}
    assert label.signal_word == "danger"
    assert "'Danger' supersedes 'Warning'" in label.signal_rule
    assert set(_hazards(label)) == {
        "H225", "H315", "H361d", "H336", "H373", "H304", "H401", "H412",
    }  # fmt: skip


def test_chlorine() -> None:
    label = _derive(
        ("gases_under_pressure", "liquefied"),
        ("oxidizing_gases", "1"),
        ("acute_toxicity_inhalation", "2"),
        ("skin_corrosion_irritation", "2"),
        ("serious_eye_damage_irritation", "2A"),
        ("stot_single_exposure", "3", "H335"),
        ("aquatic_acute", "1"),
    )
    # The skull and crossbones removes the exclamation mark entirely (GHS 1.4.10.5.3.1 (a)).
    assert _pictograms(label) == {"GHS03", "GHS04", "GHS06", "GHS09"}
    assert any(o.code == "GHS07" and "skull" in o.rule for o in label.omitted)
    assert label.signal_word == "danger"
    assert set(_hazards(label)) == {"H270", "H280", "H330", "H315", "H319", "H335", "H400"}


def test_hydrogen() -> None:
    label = _derive(("flammable_gases", "1A"), ("gases_under_pressure", "compressed"))
    assert _pictograms(label) == {"GHS02", "GHS04"}
    assert label.signal_word == "danger"
    assert _hazards(label) == ["H220", "H280"]


def test_benzene() -> None:
    label = _derive(
        ("flammable_liquids", "2"),
        ("skin_corrosion_irritation", "2"),
        ("serious_eye_damage_irritation", "2A"),
        ("germ_cell_mutagenicity", "1B"),
        ("carcinogenicity", "1A"),
        ("stot_repeated_exposure", "1"),
        ("aspiration_hazard", "1"),
        ("aquatic_acute", "2"),
        ("aquatic_chronic", "3"),
    )
    # No respiratory sensitisation, so the health hazard symbol leaves the exclamation mark.
    assert _pictograms(label) == {"GHS02", "GHS07", "GHS08"}
    assert label.signal_word == "danger"
    assert set(_hazards(label)) == {
        "H225", "H315", "H319", "H340", "H350", "H372", "H304", "H401", "H412",
    }  # fmt: skip


def test_anhydrous_ammonia() -> None:
    label = _derive(
        ("flammable_gases", "2"),
        ("gases_under_pressure", "liquefied"),
        ("acute_toxicity_inhalation", "3"),
        ("skin_corrosion_irritation", "1B"),
        ("serious_eye_damage_irritation", "1"),
        ("aquatic_acute", "1"),
    )
    # Flammable gas category 2 has no pictogram of its own.
    assert _pictograms(label) == {"GHS04", "GHS05", "GHS06", "GHS09"}
    assert label.signal_word == "danger"
    assert set(_hazards(label)) == {"H221", "H280", "H331", "H314", "H400"}


def test_corrosion_removes_the_exclamation_mark_only_for_irritation() -> None:
    only_irritation = _derive(("corrosive_to_metals", "1"), ("serious_eye_damage_irritation", "2A"))
    assert _pictograms(only_irritation) == {"GHS05"}
    assert any("1.4.10.5.3.1 (b)" in o.rule for o in only_irritation.omitted)
    with_narcosis = _derive(
        ("corrosive_to_metals", "1"),
        ("serious_eye_damage_irritation", "2A"),
        ("stot_single_exposure", "3", "H336"),
    )
    assert _pictograms(with_narcosis) == {"GHS05", "GHS07"}
    exclamation = next(e for e in with_narcosis.pictograms if e.code == "GHS07")
    assert len(exclamation.because) == 1  # kept for the narcotic effects, not the eyes


def test_respiratory_sensitisation_removes_the_exclamation_mark_for_skin_sensitisation() -> None:
    label = _derive(("respiratory_sensitization", "1"), ("skin_sensitization", "1"))
    assert _pictograms(label) == {"GHS08"}
    assert any("1.4.10.5.3.1 (c)" in o.rule for o in label.omitted)
    harmful = _derive(("respiratory_sensitization", "1"), ("acute_toxicity_oral", "4"))
    assert _pictograms(harmful) == {"GHS07", "GHS08"}


def test_categories_without_pictogram_or_signal_word_get_none() -> None:
    aquatic = _derive(("aquatic_acute", "2"))
    assert aquatic.pictograms == ()
    assert aquatic.signal_word is None
    assert _hazards(aquatic) == ["H401"]
    combustible = _derive(("flammable_liquids", "4"))
    assert combustible.pictograms == ()
    assert combustible.signal_word == "warning"


def test_fatal_by_every_route_is_one_combined_statement() -> None:
    label = _derive(
        ("acute_toxicity_oral", "1"), ("acute_toxicity_dermal", "2"),
        ("acute_toxicity_inhalation", "1"),
    )  # fmt: skip
    assert _hazards(label) == ["H300+H310+H330"]
    statement = reference().statement("H300+H310+H330")
    assert label_elements(label)["hazard_statements"] == [
        {"code": "H300+H310+H330", "text": {"zh": statement.zh, "en": statement.en}}
    ]
    # Different levels of toxicity are not combined.
    mixed = _derive(("acute_toxicity_oral", "3"), ("acute_toxicity_dermal", "4"))
    assert _hazards(mixed) == ["H301", "H312"]


def test_precautionary_statements_are_shown_once_and_the_stronger_wins() -> None:
    label = _derive(
        ("acute_toxicity_inhalation", "1"),  # P260 "do not breathe"
        ("stot_single_exposure", "3", "H335"),  # P261 "avoid breathing"
        ("flammable_liquids", "2"),
    )
    codes = _precautions(label)
    assert len(codes) == len(set(codes))
    assert "P260" in codes
    assert "P261" not in codes
    assert any(o.code == "P261" and "P260" in o.rule for o in label.omitted)


def test_a_single_statement_inside_an_unconditional_combination_is_not_repeated() -> None:
    # Skin irritation assigns P264; eye irritation P264+P265.
    label = _derive(("skin_corrosion_irritation", "2"), ("serious_eye_damage_irritation", "2A"))
    codes = _precautions(label)
    assert "P264+P265" in codes
    assert "P264" not in codes


@pytest.mark.parametrize(
    ("entry", "field", "names"),
    [
        ({"class": "flammable_liquidz", "category": "2"}, "classifications[0].class", "hazard"),
        ({"class": "flammable_liquids", "category": "5"}, "classifications[0].category", "1, 2"),
        ({"class": "acute_toxicity_oral"}, "classifications[0].category", "is required"),
        ({"class": "carcinogenicity", "category": "1A", "hazard": "H300"},
         "classifications[0].hazard", "H350i"),
        ({"class": "flammable_liquids", "category": "2", "organ": "liver"},
         "classifications[0].organ", "not a field"),
        ("flammable_liquids", "classifications[0]", "object"),
    ],
)  # fmt: skip
def test_bad_classifications_are_refused_naming_the_entry(
    entry: object, field: str, names: str
) -> None:
    with pytest.raises(ClassificationError) as caught:
        parse_classifications([entry])
    assert names in caught.value.fields[field]


def test_two_categories_of_one_class_are_refused() -> None:
    with pytest.raises(ClassificationError) as caught:
        parse_classifications(
            [{"class": "flammable_liquids", "category": "2"},
             {"class": "flammable_liquids", "category": 3}]
        )  # fmt: skip
    assert "one category per hazard class" in caught.value.fields["classifications[1]"]


@pytest.mark.parametrize("items", [[], {}, None, [{}] * 61])
def test_an_empty_or_oversized_classification_is_refused(items: object) -> None:
    with pytest.raises(ClassificationError):
        parse_classifications(items)


def _one_category_per_class() -> st.SearchStrategy[list[Classification]]:
    ref = reference()
    by_class: dict[str, list[str]] = {}
    for class_id, category in ref.categories:
        by_class.setdefault(class_id, []).append(category)
    return st.lists(
        st.sampled_from(sorted(by_class)), unique=True, min_size=1, max_size=12
    ).flatmap(
        lambda classes: st.tuples(*(st.sampled_from(by_class[c]) for c in classes)).map(
            lambda categories: [
                Classification(c, k) for c, k in zip(classes, categories, strict=True)
            ]
        )
    )


@given(_one_category_per_class())
def test_every_classification_gives_a_label_by_the_rules(items: list[Classification]) -> None:
    ref = reference()
    label = derive_label(items)
    categories = [ref.categories[c.hazard_class, c.category] for c in items]
    pictograms = _pictograms(label)
    assert not {"GHS06", "GHS07"} <= pictograms
    assert pictograms <= {p for c in categories for p in c.pictograms}
    signal_words = {c.signal_word for c in categories}
    expected_signal = (
        "danger" if "danger" in signal_words else ("warning" if "warning" in signal_words else None)
    )
    assert label.signal_word == expected_signal
    shown = {part for e in label.hazard_statements for part in e.code.split("+")}
    left_out = {o.code for o in label.omitted}
    for category in categories:
        for choices in category.hazards:
            assert choices[0] in shown or choices[0] in left_out
    precautions = [part for code in _precautions(label) for part in code.split("+")]
    assert len(_precautions(label)) == len(set(_precautions(label)))
    assert all(ref.precautionary_statements.get(p) for p in precautions)
