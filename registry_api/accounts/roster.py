"""The annex 2 roster (各市危险化学品安全监管用户登记表) as CSV, in the annex's columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from registry_api.accounts.rules import Level, PersonalDataCipher, Role
from registry_api.accounts.storage import Account

COLUMNS = ("职责", "姓名", "工作单位", "职务", "办公电话", "手机号", "身份证号", "所属层级", "备注")
ROLE_NAMES = {Role.ADMIN: "系统管理员", Role.REVIEWER: "信息审核员", Role.VIEWER: "一般用户"}
LEVEL_NAMES = {
    Level.NATIONAL: "国家级",
    Level.PROVINCE: "省级",
    Level.CITY: "市级",
    Level.COUNTY: "县级",
    Level.PARK: "化工园区",
}


def roster_csv(
    rows: Sequence[tuple[Account, bytes | None, Level]],
    cipher: PersonalDataCipher,
    *,
    full_ids_for: frozenset[Level],
) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read the Chinese right.

    Resident ID numbers are shown in full for accounts at the levels in `full_ids_for`
    (those below the exporting admin, for real-name management), masked otherwise.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for account, sealed, level in rows:
        if sealed is not None and level in full_ids_for:
            resident_id = cipher.open(sealed)
        else:
            resident_id = account.resident_id_masked or ""
        writer.writerow(
            (
                ROLE_NAMES[account.role] if account.role else "",
                account.name,
                account.work_unit or "",
                account.position or "",
                account.office_phone or "",
                account.mobile,
                resident_id,
                LEVEL_NAMES[level],
                account.remark or "",
            )
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
