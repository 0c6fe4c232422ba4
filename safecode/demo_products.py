"""Demo products, filed and approved the way a real enterprise's are: the first demo
enterprise files acetone, methanol and sulfuric acid (classification, SDS; the label
derived), the provincial reviewer and the national admin approve, and the codes are
issued and published by that approval. For `safecode run` on a laptop and `safecode demo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from codesvc.codes import scan_url
from codesvc.issuance import find_code
from codesvc.keyring import KeyRing
from codesvc.records import SDS_TITLES
from registry_api.accounts.operations import Actor, acting_as
from registry_api.accounts.storage import fetch_account_by_mobile
from registry_api.products import operations as products
from registry_api.products import storage as products_db
from registry_api.products.codes import CodeDesk
from registry_api.products.forms import ProductForm, RevisionForm
from registry_api.reviews import operations as reviews
from registry_api.reviews.forms import RegistrationForm
from safecode.demo import ACETONE_CLASSIFICATION, DEMO_ENTERPRISES

_OWNER_MOBILE = DEMO_ENTERPRISES[0][3]
_PROVINCE_REVIEWER = "13800000002"
_NATIONAL_ADMIN = "13800000000"


@dataclass(frozen=True, slots=True)
class DemoProduct:
    product: dict[str, Any]
    classification: list[dict[str, str]]
    shipping: tuple[str, str, str, str]  # proper shipping name zh, en; class; packing group
    fire_fighting: str
    first_aid: str


DEMO_PRODUCTS = (
    DemoProduct(
        {"name_zh": "丙酮", "name_en": "Acetone", "cas_numbers": ["67-64-1"],
         "un_number": "UN1090", "catalogue_number": 137, "physical_form": "liquid"},
        ACETONE_CLASSIFICATION,
        ("丙酮", "ACETONE", "3", "II"),
        "用抗溶性泡沫、干粉、二氧化碳、砂土灭火。",
        "吸入：迅速脱离现场至空气新鲜处。眼睛接触：立即用流动清水冲洗至少15分钟。",
    ),
    DemoProduct(
        {"name_zh": "甲醇", "name_en": "Methanol", "cas_numbers": ["67-56-1"],
         "un_number": "UN1230", "catalogue_number": 1022, "physical_form": "liquid"},
        [{"class": "flammable_liquids", "category": "2"},
         {"class": "acute_toxicity_oral", "category": "3"},
         {"class": "acute_toxicity_dermal", "category": "3"},
         {"class": "acute_toxicity_inhalation", "category": "3"},
         {"class": "stot_single_exposure", "category": "1"}],
        ("甲醇", "METHANOL", "3 (6.1)", "II"),
        "用抗溶性泡沫、干粉、二氧化碳、砂土灭火。",
        "食入：饮足量温水，催吐，立即就医。用碳酸氢钠洗胃，解毒剂为乙醇。",
    ),
    DemoProduct(
        {"name_zh": "硫酸", "name_en": "Sulfuric acid", "cas_numbers": ["7664-93-9"],
         "un_number": "UN1830", "catalogue_number": 1302, "physical_form": "liquid"},
        [{"class": "skin_corrosion_irritation", "category": "1A"},
         {"class": "serious_eye_damage_irritation", "category": "1"}],
        ("硫酸", "SULPHURIC ACID", "8", "II"),
        "本品不燃。用干粉、二氧化碳、砂土灭火，禁止用水直接冲击酸液。",
        "皮肤接触：立即脱去污染的衣着，用大量流动清水冲洗至少15分钟，就医。",
    ),
)  # fmt: skip


def _revision(demo: DemoProduct) -> RevisionForm:
    name_zh, name_en, transport_class, packing_group = demo.shipping
    sections = [
        {"number": n, "body": {"zh": f"{demo.product['name_zh']}：{zh}（演示数据）。",
                               "en": f"{demo.product['name_en']}: {en} (demo data)."}}
        for n, (zh, en) in enumerate(SDS_TITLES, start=1)
    ]  # fmt: skip
    sections[3]["body"] = {"zh": demo.first_aid}
    sections[4]["body"] = {"zh": demo.fire_fighting}
    return RevisionForm.model_validate(
        {
            "classification": demo.classification,
            "sds": {
                "sections": sections,
                "supplier": {
                    "name": {"zh": DEMO_ENTERPRISES[0][1],
                             "en": "Taiyuan Demo Chemicals Co., Ltd."},
                    "address": {"zh": "山西省太原市小店区示范路1号",
                                "en": "1 Demo Road, Xiaodian, Taiyuan, Shanxi"},
                    "phone": "0351-1234567",
                    "emergency_phone": "0351-7654321",
                },
                "first_aid": {"inhalation": {"zh": "迅速脱离现场至空气新鲜处。"},
                              "skin": {"zh": "脱去污染的衣着，用大量流动清水冲洗。"},
                              "eyes": {"zh": "立即用流动清水冲洗至少15分钟。"}},
                "fire_fighting": {"zh": demo.fire_fighting},
                "spill_response": {"zh": "切断泄漏源，隔离泄漏区，用砂土吸收后收集处置。"},
                "protective_equipment": {"zh": "戴化学安全防护眼镜，穿防护服，戴橡胶手套。"},
                "transport": {
                    "proper_shipping_name": {"zh": name_zh, "en": name_en},
                    "transport_class": transport_class,
                    "packing_group": packing_group,
                    "emergency_measures": {"zh": "熄灭火源，隔离泄漏区，疏散无关人员。"},
                },
            },
        }
    )  # fmt: skip


async def ensure_demo_products(
    database_url: str, *, master_key: bytes, public_base_url: str, province: str
) -> list[tuple[str, str]]:
    """(product name, scan URL) of the demo products, filing and approving them the first
    time. Needs `ensure_demo_registry` to have run."""
    desk = CodeDesk(KeyRing(master_key), public_base_url, province)
    conn = await asyncpg.connect(database_url)
    try:
        owner = await _actor(conn, _OWNER_MOBILE)
        enterprise_id = owner.account.enterprise_id
        assert enterprise_id is not None
        if not await products_db.fetch_products(conn, enterprise_id):
            revision_ids = []
            for demo in DEMO_PRODUCTS:
                form = ProductForm.model_validate(demo.product)
                created = await products.create_product(conn, owner, enterprise_id, form)
                _, draft = await products.create_revision(conn, owner, created.id, _revision(demo))
                revision_ids.append(draft.id)
            filed = await reviews.submit_registration(
                conn, owner, enterprise_id,
                RegistrationForm(kind="new", revision_ids=revision_ids),
            )  # fmt: skip
            for mobile in (_PROVINCE_REVIEWER, _NATIONAL_ADMIN):
                reviewer = await _actor(conn, mobile)
                await reviews.decide(conn, reviewer, filed.id, approve=True, reason=None, desk=desk)
        found = []
        for item in await products_db.fetch_products(conn, enterprise_id):
            if item.code_id is not None:
                issued = await find_code(conn, item.code_id)
                found.append((item.name_zh, scan_url(public_base_url, issued.code)))
        return found
    finally:
        await conn.close()


async def _actor(conn: Any, mobile: str) -> Actor:
    account = await fetch_account_by_mobile(conn, mobile)
    assert account is not None, f"demo account {mobile} is missing: load the demo registry first"
    return await acting_as(conn, account)
