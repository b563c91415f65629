"""Door scanners' tokens, remembered briefly.

Every request of a token-holding scanner asks two things before its own work:
whose token is this, and at which venues do they work the door. Both change
rarely, so the answer is kept in Django's cache (Redis in production, shared by
every worker) for DOOR_TOKEN_CACHE_SECONDS, keyed by a digest of the token.
It is forgotten as soon as the token, its user, one of the user's roles or one
of those venues is saved or deleted (signals, on commit). A change made without
signals (a queryset.update()) takes effect within DOOR_TOKEN_CACHE_SECONDS.
0 turns the cache off.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from venues.models import StaffRole, Venue
from venues.selectors import DOOR, venues_by_slug_for_user

logger = logging.getLogger(__name__)


def _cache_key(token_key: str) -> str:
    return "door-token:" + hashlib.sha256(token_key.encode()).hexdigest()


def _cache(method: str, *args):
    """A cache call that never fails the request: with the cache down the door reads the
    database instead (None for a get), and says so in the log."""
    try:
        return getattr(cache, method)(*args)
    except Exception:  # the cache server unreachable or refusing: carry on without it
        logger.warning("door token cache unavailable (%s)", method, exc_info=True)
        return None


def _forget(keys: list[str]) -> None:
    _cache("delete_many", keys)
    transaction.on_commit(lambda: _cache("delete_many", keys))


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (the API's, see REST_FRAMEWORK), with the user and
    their door venues cached. The token handed back carries `door_venues`
    (venues_by_slug_for_user)."""

    def authenticate_credentials(self, key):
        seconds = settings.DOOR_TOKEN_CACHE_SECONDS
        cached = _cache("get", _cache_key(key)) if seconds else None
        if cached is not None:
            return cached
        user, token = super().authenticate_credentials(key)  # refuses unknown keys and inactive users
        token.door_venues = venues_by_slug_for_user(user, DOOR)
        if seconds:
            _cache("set", _cache_key(key), (user, token), seconds)
        return user, token


def door_venues_of_token(token) -> dict[str, Venue] | None | bool:
    """The door venues carried by a token from CachedTokenAuthentication (None: every
    venue, for a superuser); False when the request was not authenticated that way."""
    return getattr(token, "door_venues", False)


def forget_tokens(user_ids) -> None:
    """Drop the cached tokens of these users, now and again when the transaction commits
    (so that a request reading the old rows meanwhile cannot put them back for long)."""
    user_ids = [pk for pk in user_ids if pk is not None]
    if not user_ids:
        return
    keys = [_cache_key(k) for k in Token.objects.filter(user_id__in=user_ids).values_list("key", flat=True)]
    if keys:
        _forget(keys)


@receiver([post_save, post_delete], sender=Token)
def _token_changed(sender, instance, **kwargs):
    _forget([_cache_key(instance.key)])


@receiver([post_save, post_delete], sender=get_user_model())
def _user_changed(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login changes nothing a token grants
    forget_tokens([instance.pk])


@receiver([post_save, post_delete], sender=StaffRole)
def _role_changed(sender, instance, **kwargs):
    forget_tokens([instance.user_id])


@receiver([post_save, post_delete], sender=Venue)
def _venue_changed(sender, instance, **kwargs):
    forget_tokens(StaffRole.objects.filter(venue_id=instance.pk).values_list("user_id", flat=True).distinct())
