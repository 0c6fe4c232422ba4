"""The GHS endpoints through HTTP: derive a label, check one, list the classes."""

from __future__ import annotations

import httpx

from ghs.reference import reference
from tests.registry_api.conftest import API

METHANOL = [
    {"class": "flammable_liquids", "category": 2},
    {"class": "acute_toxicity_oral", "category": "3"},
    {"class": "acute_toxicity_dermal", "category": "3"},
    {"class": "acute_toxicity_inhalation", "category": "3"},
    {"class": "stot_single_exposure", "category": "1"},
]


async def test_derive_returns_each_element_with_its_rule(
    registry_client: httpx.AsyncClient,
) -> None:
    answer = await registry_client.post(f"{API}/ghs/derive", json={"classifications": METHANOL})
    assert answer.status_code == 200
    body = answer.json()
    assert [p["code"] for p in body["pictograms"]] == ["GHS02", "GHS06", "GHS08"]
    assert body["signal_word"]["value"] == "danger"
    combined = next(h for h in body["hazard_statements"] if "+" in h["code"])
    assert combined["code"] == "H301+H311+H331"
    assert combined["text"]["zh"] == reference().statement("H301+H311+H331").zh
    assert "A3.1.3" in combined["rule"]
    assert len(combined["because"]) == 3
    assert "conformity" not in body
    # The `label` part is ready to put in a record, and conforms when sent back.
    checked = await registry_client.post(
        f"{API}/ghs/derive", json={"classifications": METHANOL, "label": body["label"]}
    )
    assert checked.json()["conformity"] == {"conforms": True, "problems": {}}


async def test_a_contradicting_label_is_reported_field_by_field(
    registry_client: httpx.AsyncClient,
) -> None:
    label = {
        "pictograms": ["GHS02", "GHS07"],
        "signal_word": "warning",
        "hazard_statements": [{"code": "H225", "text": {"zh": "高度易燃液体和蒸气"}}],
    }
    answer = await registry_client.post(
        f"{API}/ghs/derive", json={"classifications": METHANOL, "label": label}
    )
    assert answer.status_code == 200
    conformity = answer.json()["conformity"]
    assert conformity["conforms"] is False
    assert {
        "label.pictograms",
        "label.signal_word",
        "label.hazard_statements",
        "label.precautionary_statements",
    } == set(conformity["problems"])


async def test_bad_classifications_answer_422_naming_every_entry(
    registry_client: httpx.AsyncClient,
) -> None:
    answer = await registry_client.post(
        f"{API}/ghs/derive",
        json={
            "classifications": [
                {"class": "flammable_liquids", "category": "9"},
                {"class": "unknown_hazard", "category": "1"},
                {"class": "carcinogenicity", "category": "1B", "hazard": "H225"},
            ]
        },
    )
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert set(fields) == {
        "classifications[0].category",
        "classifications[1].class",
        "classifications[2].hazard",
    }
    assert "it has 1, 2, 3, 4" in fields["classifications[0].category"]


async def test_malformed_bodies_answer_4xx_with_the_field_named(
    registry_client: httpx.AsyncClient,
) -> None:
    url = f"{API}/ghs/derive"
    empty = await registry_client.post(url, json={"classifications": []})
    assert empty.status_code == 422
    assert "classifications" in empty.json()["error"]["fields"]
    wrong_type = await registry_client.post(url, json={"classifications": [{"class": 3}]})
    assert set(wrong_type.json()["error"]["fields"]) >= {"classifications[0].class"}
    bad_label = await registry_client.post(
        url, json={"classifications": METHANOL, "label": {"signal_word": "careful"}}
    )
    assert bad_label.status_code == 422
    assert "label.signal_word" in bad_label.json()["error"]["fields"]
    not_json = await registry_client.post(
        url, content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400


async def test_hazard_classes_list_every_category_in_both_languages(
    registry_client: httpx.AsyncClient,
) -> None:
    answer = await registry_client.get(f"{API}/ghs/hazard-classes")
    assert answer.status_code == 200
    classes = {c["class"]: c for c in answer.json()["classes"]}
    assert len(classes) == len(reference().classes)
    liquids = classes["flammable_liquids"]
    assert liquids["name"] == {"zh": "易燃液体", "en": "Flammable liquids"}
    assert [c["category"] for c in liquids["categories"]] == ["1", "2", "3", "4"]
    assert liquids["categories"][3]["pictograms"] == []
