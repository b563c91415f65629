"""Fixed-window rate limits on the shared cache (Redis in production)."""

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def throttle_hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt; True while `key` stays within `limit` per `window` seconds.
    With the cache down, attempts are let through (and the log says so): citizens can
    still register while Redis is restarted."""
    bucket = int(time.time() // window)
    cache_key = f"throttle:{scope}:{key}:{bucket}"
    try:
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


def client_ip(request) -> str:
    # Behind a proxy REMOTE_ADDR is the proxy: then (and only then, since clients can
    # send the header themselves) trust the last hop the proxy appended.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.TRUST_X_FORWARDED_FOR:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
