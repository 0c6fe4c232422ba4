"""Rate limits kept in Redis, so every worker and every unit counts together: a fixed
window per (limit, key). Besides the lockout after five wrong passwords, they stop one
address from trying many accounts, or filling the review queue with applications.

Redis unreachable: the request goes on (logged). A limit protects the service; refusing
every sign-in because the cache is down would be the outage it is there to prevent.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from registry_api.errors import TooManyRequests

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    requests: int  # at most this many in a window
    seconds: int  # the window
    what: str  # for the message: "sign-ins from this address"


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
        now = int(time.time())
        window = now // limit.seconds
        # The key is hashed: a mobile or an address is not kept in Redis as it was sent.
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]
        name = f"sc:limit:{limit.name}:{digest}:{window}"
        try:
            pipeline = self.redis.pipeline(transaction=False)
            pipeline.incr(name)
            pipeline.expire(name, limit.seconds + 1)
            count, _ = await pipeline.execute()
        except (RedisError, OSError) as exc:
            _log.warning(
                "rate limit not counted: Redis unreachable",
                extra={"fields": {"limit": limit.name, "error": str(exc)[:200]}},
            )
            return
        if count > limit.requests:
            retry_after = max(1, (window + 1) * limit.seconds - now)
            raise TooManyRequests(
                f"too many {limit.what}: at most {limit.requests} in {limit.seconds} s; "
                f"try again in {retry_after} s",
                retry_after=retry_after,
            )
