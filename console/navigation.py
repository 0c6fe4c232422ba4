"""What every page handler shares: a connection from the unit's pool, path ids, and the
navigation each kind of account sees."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from starlette.requests import Request

from codesvc.storage import Connection
from console.rendering import PREFIX, environment
from registry_api.accounts.operations import Actor
from registry_api.accounts.rules import Role
from registry_api.requests import resources


def connection(request: Request) -> AbstractAsyncContextManager[Connection]:
    """A connection of the unit's pool, for the span of one page's work."""
    return resources(request).pool.acquire()


def nav_links(actor: Actor) -> list[tuple[str, str, str]]:
    """(href, Chinese, English) of the main navigation for `actor`'s kind and role."""
    if actor.account.kind == "enterprise":
        return [
            (f"{PREFIX}/enterprise", "首页", "Home"),
            (f"{PREFIX}/enterprise/record", "企业信息", "Enterprise record"),
            (f"{PREFIX}/products", "产品", "Products"),
            (f"{PREFIX}/enterprise/filings", "申报", "Filings"),
            (f"{PREFIX}/alerts", "警示", "Alerts"),
            (f"{PREFIX}/notices", "通知公告", "Notices"),
        ]
    links = [
        (f"{PREFIX}/reviews", "审核队列", "Review queue"),
        (f"{PREFIX}/applications", "企业申请", "Applications"),
        (f"{PREFIX}/search", "查询", "Search"),
        (f"{PREFIX}/certificates", "证书到期", "Certificates"),
        (f"{PREFIX}/alerts", "警示", "Alerts"),
        (f"{PREFIX}/notices", "通知公告", "Notices"),
    ]
    if actor.account.role == Role.ADMIN:
        links += [
            (f"{PREFIX}/accounts", "账号", "Accounts"),
            (f"{PREFIX}/units", "辖区与园区", "Units and parks"),
        ]
    return links


environment.globals["nav_links"] = nav_links
