"""Fixed-window rate limits on the shared cache (Redis in production)."""

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def throttle_hits(hits: list[tuple[str, str, int, int]]) -> list[bool]:
    """Count one attempt for each (scope, key, limit, window), such as a request's
    address and the phone it names: for each, True while its key stays within
    `limit` per `window` seconds. With the cache down, attempts are let through
    (and the log says so): citizens can still register while Redis is restarted.

    On Redis (django-redis) one round trip for all of them: for each, INCR and
    with it EXPIRE … NX, which sets the window's expiry on a new count only. They
    are pipelined without MULTI (a third cheaper): if the connection drops between
    the two, the next hit in the window sets the expiry, and a count left without
    one is never read again (the window is in its key). Other caches: add, else
    incr, one key after the other."""
    now = time.time()
    keys = [f"throttle:{scope}:{key}:{int(now // window)}" for scope, key, _limit, window in hits]
    try:
        redis = _redis(cache)
        if redis is not None:
            pipeline = redis.pipeline(transaction=False)
            for cache_key, (_scope, _key, _limit, window) in zip(keys, hits):
                full_key = cache.make_key(cache_key)
                pipeline.incr(full_key).expire(full_key, window + 1, nx=True)
            counts = pipeline.execute()[::2]
            return [count <= limit for count, (_scope, _key, limit, _window) in zip(counts, hits)]
        return [_hit_elsewhere(cache_key, limit, window) for cache_key, (_s, _k, limit, window) in zip(keys, hits)]
    except Exception:  # the cache server unreachable or refusing
        logger.warning("rate limit cache unavailable; %s not limited", ", ".join(h[0] for h in hits), exc_info=True)
        return [True] * len(hits)


def _hit_elsewhere(cache_key: str, limit: int, window: int) -> bool:
    if cache.add(cache_key, 1, timeout=window + 1):
        return True
    try:
        return cache.incr(cache_key) <= limit
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window + 1)
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
