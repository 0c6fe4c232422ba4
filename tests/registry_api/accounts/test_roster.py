"""The annex 2 roster export: the annex's columns, full ID numbers only going up."""

from __future__ import annotations

import csv
import io

import httpx

from registry_api.accounts.roster import COLUMNS
from tests.registry_api.conftest import API, Signed, create_account, regulator


def _rows(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_a_city_roster_in_the_annex_columns(national: Signed) -> None:
    province = await create_account(
        national, regulator("13900000301", "admin", "province", "140000")
    )
    city_body = regulator(
        "13900000302", "admin", "city", "140100", resident_id="11010519491231002X"
    )
    city = await create_account(province, city_body)
    county_body = regulator(
        "13900000303", "admin", "county", "140105", resident_id="11010519491231002X",
        position="科长", office_phone="0351-1234567", remark="联络员",
    )  # fmt: skip
    await create_account(city, county_body)

    by_province = await province.client.get(
        f"{API}/jurisdictions/140100/roster.csv", headers=province.headers()
    )
    rows = _rows(by_province)
    assert tuple(rows[0]) == COLUMNS
    assert [r[5] for r in rows[1:]] == ["13900000302", "13900000303"]
    assert rows[2] == [
        "系统管理员", "张三", "山西省应急管理厅", "科长", "0351-1234567", "13900000303",
        "11010519491231002X", "县级", "联络员",
    ]  # fmt: skip
    assert rows[1][6] == "11010519491231002X"  # the province collects full IDs of its cities

    by_city = await city.client.get(
        f"{API}/jurisdictions/140100/roster.csv", headers=city.headers()
    )
    city_rows = _rows(by_city)
    assert city_rows[1][6] == "110105********002X"  # its own unit: masked
    assert city_rows[2][6] == "11010519491231002X"  # below it: full

    assert (await city.get("/jurisdictions/140000/roster.csv")).status_code == 404
    reviewer = await create_account(city, regulator("13900000304", "reviewer", "city", "140100"))
    assert (await reviewer.get("/jurisdictions/140100/roster.csv")).status_code == 403
