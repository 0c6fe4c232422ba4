"""Demo data: a realistic public record (acetone), as the registry hands one to `publish`.

Used by the tests, the benchmarks and the demo that `safecode run` can show."""

from __future__ import annotations

from typing import Any

SDS_TITLES = [
    ("化学品及企业标识", "Identification"),
    ("危险性概述", "Hazards identification"),
    ("成分/组成信息", "Composition"),
    ("急救措施", "First-aid measures"),
    ("消防措施", "Fire-fighting measures"),
    ("泄漏应急处理", "Accidental release measures"),
    ("操作处置与储存", "Handling and storage"),
    ("接触控制和个体防护", "Exposure controls"),
    ("理化特性", "Physical and chemical properties"),
    ("稳定性和反应性", "Stability and reactivity"),
    ("毒理学信息", "Toxicological information"),
    ("生态学信息", "Ecological information"),
    ("废弃处置", "Disposal considerations"),
    ("运输信息", "Transport information"),
    ("法规信息", "Regulatory information"),
    ("其他信息", "Other information"),
]


def sample_record(revision: str = "1.0", product_zh: str = "丙酮") -> dict[str, Any]:
    return {
        "product_name": {"zh": product_zh, "en": "Acetone"},
        "revision": revision,
        "approved_on": "2026-11-20",
        "label": {
            "pictograms": ["GHS02", "GHS07"],
            "signal_word": "danger",
            "hazard_statements": [
                {
                    "code": "H225",
                    "text": {
                        "zh": "高度易燃液体和蒸气",
                        "en": "Highly flammable liquid and vapour",
                    },
                },
                {
                    "code": "H319",
                    "text": {"zh": "造成严重眼刺激", "en": "Causes serious eye irritation"},
                },
            ],
            "precautionary_statements": {
                "prevention": [
                    {
                        "code": "P210",
                        "text": {
                            "zh": "远离热源、火花、明火、热表面。禁止吸烟。",
                            "en": "Keep away from heat, sparks, open flames. No smoking.",
                        },
                    }
                ],
                "response": [
                    {
                        "code": "P305+P351+P338",
                        "text": {
                            "zh": "如进入眼睛：用水小心冲洗几分钟。",
                            "en": "IF IN EYES: Rinse cautiously with water for several minutes.",
                        },
                    }
                ],
                "storage": [{"code": "P403+P235", "text": "存放在通风良好的地方。保持低温。"}],
                "disposal": [
                    {
                        "code": "P501",
                        "text": {
                            "zh": "按当地法规处置内装物/容器。",
                            "en": "Dispose of contents/container per local regulations.",
                        },
                    }
                ],
            },
        },
        "sds": [
            {
                "number": n,
                "title": {"zh": zh, "en": en},
                "body": {"zh": f"第{n}部分内容。", "en": f"Section {n} text."},
            }
            for n, (zh, en) in enumerate(SDS_TITLES, start=1)
        ],
        "transport": {
            "un_number": "UN1090",
            "proper_shipping_name": {"zh": "丙酮", "en": "ACETONE"},
            "transport_class": "3",
            "packing_group": "II",
            "emergency_measures": {
                "zh": "熄灭火源，隔离泄漏区。",
                "en": "Eliminate ignition sources; isolate the spill area.",
            },
        },
        "emergency": {
            "first_aid": {
                "inhalation": {"zh": "迅速脱离现场至空气新鲜处。", "en": "Move to fresh air."},
                "eyes": {"zh": "立即用流动清水冲洗。", "en": "Rinse with running water at once."},
            },
            "fire_fighting": {
                "zh": "用抗溶性泡沫、干粉、二氧化碳灭火。",
                "en": "Alcohol-resistant foam, dry powder, CO2.",
            },
            "spill_response": "切断火源，用砂土吸收。",
            "protective_equipment": {
                "zh": "戴化学安全防护眼镜。",
                "en": "Wear chemical safety goggles.",
            },
        },
        "supplier": {
            "name": {"zh": "太原示范化工有限公司", "en": "Taiyuan Demo Chemicals Co., Ltd."},
            "address": {
                "zh": "山西省太原市小店区示范路1号",
                "en": "1 Demo Road, Xiaodian, Taiyuan, Shanxi",
            },
            "phone": "0351-1234567",
            "emergency_phone": "0351-7654321",
        },
    }
