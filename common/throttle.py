"""Fixed-window rate limits on the shared cache (Redis in production)."""

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def throttle_hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt; True while `key` stays within `limit` per `window` seconds.
    With the cache down, attempts are let through (and the log says so): citizens can
    still register while Redis is restarted.

    On Redis (django-redis) one round trip: INCR, and with it EXPIRE … NX, which sets
    the window's expiry on a new count only. They are pipelined without MULTI (a
    third cheaper): if the connection drops between the two, the next hit in the
    window sets the expiry, and a count left without one is never read again (the
    window is in its key). Other caches: add, else incr."""
    bucket = int(time.time() // window)
    cache_key = f"throttle:{scope}:{key}:{bucket}"
    try:
        redis = _redis(cache)
        if redis is not None:
            full_key = cache.make_key(cache_key)
            count, _ = redis.pipeline(transaction=False).incr(full_key).expire(full_key, window + 1, nx=True).execute()
            return count <= limit
        if cache.add(cache_key, 1, timeout=window + 1):
            return True
        try:
            return cache.incr(cache_key) <= limit
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window + 1)
            return True
    except Exception:  # the cache server unreachable or refusing
        logger.warning("rate limit cache unavailable; %s not limited", scope, exc_info=True)
        return True


def _redis(backend):
    """django-redis's own client of `backend` (django_redis.get_redis_connection), or None
    for another cache."""
    get_client = getattr(getattr(backend, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def client_ip(request) -> str:
    # Behind a proxy REMOTE_ADDR is the proxy: then (and only then, since clients can
    # send the header themselves) trust the last hop the proxy appended.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.TRUST_X_FORWARDED_FOR:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
