"""Demo data: a realistic public record (acetone), as the registry hands one to `publish`.

Used by the tests, the benchmarks and the demo that `safecode run` can show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg

from codesvc.records import SDS_TITLES
from ghs.derivation import derive_label, label_elements, parse_classifications

# Acetone in China's Catalogue of Hazardous Chemicals (and the EU's harmonised entry).
ACETONE_CLASSIFICATION = [
    {"class": "flammable_liquids", "category": "2"},
    {"class": "serious_eye_damage_irritation", "category": "2A"},
    {"class": "stot_single_exposure", "category": "3", "hazard": "H336"},
]


def acetone_label() -> dict[str, Any]:
    """Acetone's label elements, derived from its classification by the GHS rules."""
    return label_elements(derive_label(parse_classifications(ACETONE_CLASSIFICATION)))


def sample_record(revision: str = "1.0", product_zh: str = "丙酮") -> dict[str, Any]:
    return {
        "product_name": {"zh": product_zh, "en": "Acetone"},
        "revision": revision,
        "approved_on": "2026-11-20",
        "label": acetone_label(),
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


DEMO_PASSWORD = "Demo-Safecode-2026"  # noqa: S105 - in the README; demo databases only
# (mobile, name, role, level, jurisdiction, work unit), each created by the one before its level.
DEMO_REGULATORS = (
    ("13800000001", "省管理员", "admin", "province", "140000", "山西省应急管理厅"),
    ("13800000002", "省审核员", "reviewer", "province", "140000", "山西省应急管理厅"),
    ("13800000003", "市管理员", "admin", "city", "140100", "山西省太原市应急管理局"),
    ("13800000004", "市审核员", "reviewer", "city", "140100", "山西省太原市应急管理局"),
    ("13800000005", "区管理员", "admin", "county", "140105", "山西省太原市小店区应急管理局"),
    ("13800000006", "区审核员", "reviewer", "county", "140105", "山西省太原市小店区应急管理局"),
    ("13800000007", "园区管理员", "admin", "park", "140105P01", "山西省太原市小店区太原化工园区"),
)
_REGULATOR_FIELDS = ("mobile", "name", "role", "level", "jurisdiction_id", "work_unit")
# (credit code, name, industry class, owner's mobile, kinds)
DEMO_ENTERPRISES = (
    ("91350100M000100Y43", "太原示范化工有限公司", "2614", "13700000001", ("producer", "chemical")),
    (
        "91140100MA0K7J8A8W",
        "山西晋阳精细化工有限公司",
        "2661",
        "13700000002",
        ("producer", "chemical"),
    ),
    ("91140105MA0GRKQ41Y", "太原小店涂料有限公司", "2641", "13700000003", ("producer", "chemical")),
    # They carry and use the others' packages (the lifecycle demo's receipts).
    ("91140105MA0LGT010P", "太原示范危货运输有限公司", "5439", "13700000004", ("logistics",)),
    ("91140105MA0UEN02X8", "太原示范涂装有限公司", "3360", "13700000005", ("user",)),
)


def _permit(kind: str, number: str, issuer: str, first: date, last: date) -> dict[str, str]:
    return {
        "kind": kind,
        "number": number,
        "issuer": issuer,
        "valid_from": first.isoformat(),
        "valid_until": last.isoformat(),
    }


# Safety permits of the demo enterprises by credit code, from the day the demo is loaded: one
# producer's production permit expires within 90 days (the console marks it), another's
# is good for years, the third has none.
DEMO_PERMITS: dict[str, Callable[[date], list[dict[str, str]]]] = {
    "91350100M000100Y43": lambda today: [
        _permit("production_safety", "(晋)WH安许证字〔2024〕0101号", "山西省应急管理厅",
                today - timedelta(days=1035), today + timedelta(days=60)),
    ],
    "91140100MA0K7J8A8W": lambda today: [
        _permit("production_safety", "(晋)WH安许证字〔2025〕0207号", "山西省应急管理厅",
                today - timedelta(days=300), today + timedelta(days=795)),
    ],
    "91140105MA0UEN02X8": lambda today: [
        _permit("safe_use", "晋太危化使字〔2025〕005号", "太原市应急管理局",
                today - timedelta(days=200), today + timedelta(days=895)),
    ],
}  # fmt: skip
# (admin's mobile, title, body, to the enterprises too)
DEMO_NOTICES = (
    ("13800000001", "关于全面推行危险化学品安全码的通知",
     "各市、县（区）应急管理局，各有关企业：请于年底前完成辖区企业账号配置、产品登记和安全码赋码工作。",
     True),
    ("13800000005", "小店区危险化学品登记进度周报",
     "本周已登记企业 3 家，待审核产品 0 个。请各审核员按时处理审核队列。", False),
)  # fmt: skip


async def ensure_demo_registry(database_url: str, *, master_key: bytes) -> bool:
    """Demo accounts, a chemical park and enterprises; False if they exist already.

    Every account's password is `DEMO_PASSWORD`, with no forced change: for trying the
    product on a laptop, never for a real database.
    """
    from registry_api.accounts import operations as accounts
    from registry_api.accounts.forms import RegulatorForm
    from registry_api.accounts.rules import PersonalDataCipher, hash_password
    from registry_api.accounts.storage import fetch_account_by_mobile
    from registry_api.enterprises import operations as enterprises
    from registry_api.enterprises.forms import EnterpriseApplicationForm, EnterpriseUpdateForm
    from registry_api.jurisdictions.operations import create_park
    from registry_api.oversight import notices
    from registry_api.oversight.forms import NoticeForm

    conn = await asyncpg.connect(database_url)
    try:
        if await fetch_account_by_mobile(conn, "13800000000") is not None:
            return False
        async with conn.transaction():
            national, _ = await accounts.create_national_admin(
                conn, mobile="13800000000", name="国家管理员", work_unit="中华人民共和国应急管理部"
            )
            actors = {"national": await accounts.acting_as(conn, national)}
            await create_park(conn, actors["national"], "140105", "太原化工园区")
            cipher = PersonalDataCipher(master_key)
            creators = {
                "province": "national",
                "city": "province",
                "county": "city",
                "park": "county",
            }
            for row in DEMO_REGULATORS:
                role, level = row[2], row[3]
                fields = dict(zip(_REGULATOR_FIELDS, row, strict=True))
                form = RegulatorForm.model_validate(fields)
                creator = actors[level] if role != "admin" else actors[creators[level]]
                created = await accounts.create_regulator(conn, creator, form, cipher)
                if role == "admin":
                    actors[level] = await accounts.acting_as(conn, created.account)
            for uscc, name, industry, mobile, kinds in DEMO_ENTERPRISES:
                application = await enterprises.apply(
                    conn,
                    EnterpriseApplicationForm.model_validate(
                        {
                            "uscc": uscc,
                            "name": name,
                            "county_id": "140105",
                            "address": "山西省太原市小店区示范路",
                            "kinds": list(kinds),
                            "industry_code": industry,
                            "contact_name": "企业联系人",
                            "contact_mobile": mobile,
                        }
                    ),
                    None,  # the server's own console: no rate limit
                )
                approved = await enterprises.approve(conn, actors["county"], application.id)
                permits = DEMO_PERMITS.get(uscc)
                if permits is not None:
                    owner = await accounts.acting_as(conn, approved.owner)
                    change = EnterpriseUpdateForm.model_validate({"permits": permits(date.today())})
                    found = approved.enterprise
                    await enterprises.update(conn, owner, found.id, found.version, change)
            for mobile, title, body, to_enterprises in DEMO_NOTICES:
                admin = await fetch_account_by_mobile(conn, mobile)
                assert admin is not None
                await notices.publish(
                    conn,
                    await accounts.acting_as(conn, admin),
                    NoticeForm.model_validate(
                        {"title": title, "body": body, "to_enterprises": to_enterprises}
                    ),
                )
            await conn.execute(
                "UPDATE accounts SET password_hash = $1, must_change_password = false",
                hash_password(DEMO_PASSWORD),
            )
        return True
    finally:
        await conn.close()
