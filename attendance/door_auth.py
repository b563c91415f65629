"""Door scanners' tokens, remembered briefly.

Every request of a token-holding scanner asks two things before its own work:
whose token is this, and at which venues do they work the door. Both change
rarely, so the answer is kept in Django's cache (Redis in production, shared by
every worker) for DOOR_TOKEN_CACHE_SECONDS, keyed by a digest of the token.
It is forgotten as soon as the token, its user, one of the user's roles or one
of those venues is saved or deleted (signals, on commit). A change made without
signals (a queryset.update()) takes effect within DOOR_TOKEN_CACHE_SECONDS.
0 turns the cache off.

The scan, the door's most frequent request, keeps the answer in the worker
process too (RememberedTokenAuthentication), which spares it the cache's round
trip. Another process's change cannot reach that memory, so a scan admitted by
it confirms the answer in its own transaction (`grant_read`, read with the
ticket's lock) and, when the answer no longer holds, records nothing and asks
the database again (attendance.api.DoorScanView): such a change takes effect
from the next scan, signals or not.
"""

import copy
import functools
import hashlib
import logging
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from common.sql import Statement
from venues.models import StaffRole, Venue
from venues.selectors import DOOR, roles_with, venues_by_slug_for_user

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
    def forget():
        _cache("delete_many", keys)
        with _remembered_lock:
            for key in keys:
                _remembered.pop(key, None)

    forget()
    if connection.in_atomic_block:  # and again once it commits, past readers of the old rows
        transaction.on_commit(forget)


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


# This process's memory of recent answers: digest of the token -> (until, user, token).
_remembered: dict[str, tuple[float, object, Token]] = {}
_remembered_lock = threading.Lock()
REMEMBERED_MAX = 1000  # tokens; the oldest is forgotten first


class RememberedTokenAuthentication(CachedTokenAuthentication):
    """CachedTokenAuthentication, with its answer also kept in this process for
    DOOR_TOKEN_CACHE_SECONDS. Only for views that confirm a remembered answer in
    their own transaction (`is_remembered`, `grant_read`) and ask again when it
    fails (`forget_token`)."""

    def authenticate_credentials(self, key):
        seconds = settings.DOOR_TOKEN_CACHE_SECONDS
        if not seconds:
            return super().authenticate_credentials(key)
        digest = _cache_key(key)
        now = time.monotonic()
        hit = _remembered.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        remembered = copy.copy(token)
        remembered.remembered = True
        with _remembered_lock:
            _remembered.pop(digest, None)
            while len(_remembered) >= REMEMBERED_MAX:
                _remembered.pop(next(iter(_remembered)))
            _remembered[digest] = (now + seconds, user, remembered)
        return user, token


def is_remembered(token) -> bool:
    """Whether `token` (request.auth) came from this process's memory, and so may be
    out of date."""
    return getattr(token, "remembered", False)


def forget_token(key: str) -> None:
    """Forget one token's answer, here and in the cache, so that it is read again."""
    _forget([_cache_key(key)])


@functools.cache
def _grant_sql() -> str:
    quote = connection.ops.quote_name
    user = get_user_model()._meta
    column = lambda meta, name: quote(meta.get_field(name).column)  # noqa: E731
    role, venue = StaffRole._meta, Venue._meta
    roles = ", ".join(["%s"] * len(roles_with(DOOR)))
    return (
        f"EXISTS (SELECT 1 FROM {quote(Token._meta.db_table)} k"
        f" INNER JOIN {quote(user.db_table)} u ON u.{quote(user.pk.column)} = k.{column(Token._meta, 'user')}"
        f" INNER JOIN {quote(venue.db_table)} v ON v.{quote(venue.pk.column)} = %s AND v.{column(venue, 'slug')} = %s"
        f" WHERE k.{column(Token._meta, 'key')} = %s AND k.{column(Token._meta, 'user')} = %s"
        f" AND u.{column(user, 'is_active')} AND (u.{column(user, 'is_superuser')} OR EXISTS ("
        f"SELECT 1 FROM {quote(role.db_table)} r WHERE r.{column(role, 'user')} = u.{quote(user.pk.column)}"
        f" AND r.{column(role, 'venue')} = v.{quote(venue.pk.column)} AND r.{column(role, 'role')} IN ({roles}))))"
    )


def grant_read(token, venue: Venue) -> Statement:
    """A scalar read, true while `token` grants the door of `venue` as it was
    remembered: the token is still its user's, the user is active and works that
    door (venues.selectors' rule: a superuser, or a door role at the venue), and
    the venue still has that address. Written by hand: compiling it through the
    ORM took longer than the rest of the scan's Python."""
    return _grant_sql(), [venue.pk, venue.slug, token.key, token.user_id, *roles_with(DOOR)]


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
