"""Rate limits kept in Redis, so every worker and every unit counts together: a fixed
window per (limit, key). The registry's limits (sign-ins, applications) and the resolver's
(manual lookups) are all counted here.

Redis unreachable: the request goes on (logged). A limit protects the service; refusing
every request because the cache is down would be the outage it is there to prevent.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    requests: int  # at most this many in a window
    seconds: int  # the window
    what: str  # for messages: "sign-ins from this address"


async def spend(redis: aioredis.Redis, limit: Limit, key: str) -> int | None:
    """Count one request against `limit` for `key`. None while the window's allowance
    lasts (or when Redis cannot count); once it is spent, the seconds until the window
    ends (what Retry-After says)."""
    now = int(time.time())
    window = now // limit.seconds
    # The key is hashed: a mobile or an address is not kept in Redis as it was sent.
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]
    name = f"sc:limit:{limit.name}:{digest}:{window}"
    try:
        pipeline = redis.pipeline(transaction=False)
        pipeline.incr(name)
        pipeline.expire(name, limit.seconds + 1)
        count, _ = await pipeline.execute()
    except (RedisError, OSError) as exc:
        _log.warning(
            "rate limit not counted: Redis unreachable",
            extra={"fields": {"limit": limit.name, "error": str(exc)[:200]}},
        )
        return None
    if count <= limit.requests:
        return None
    return max(1, (window + 1) * limit.seconds - now)
