"""The registry's rate limits: besides the lockout after five wrong passwords, they stop one
address from trying many accounts, or filling the review queue with applications.

Counted in Redis by `codesvc.limits` (a fixed window per limit and key, shared by every
worker; with Redis unreachable, the request goes on).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from codesvc.limits import Limit, spend
from registry_api.errors import TooManyRequests

SIGN_INS_PER_ACCOUNT = Limit("sign-in:account", 20, 15 * 60, "sign-ins to this account")
SIGN_INS_PER_ADDRESS = Limit("sign-in:address", 60, 60, "sign-ins from this address")
APPLICATIONS_PER_ADDRESS = Limit(
    "application:address", 20, 60 * 60, "applications from this address"
)


@dataclass(frozen=True, slots=True)
class Limiter:
    """Counts requests against limits, for one request's client `address`."""

    redis: aioredis.Redis
    address: str

    async def spend(self, limit: Limit, key: str) -> None:
        """Count one request against `limit` for `key`; `TooManyRequests` (429, with the
        seconds to wait) once the window's allowance is spent."""
        retry_after = await spend(self.redis, limit, key)
        if retry_after is not None:
            raise TooManyRequests(
                f"too many {limit.what}: at most {limit.requests} in {limit.seconds} s; "
                f"try again in {retry_after} s",
                retry_after=retry_after,
            )
