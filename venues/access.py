"""Access to staff pages, one way for every app.

A venue (or anything of a venue) the user may not view is a 404, so its
existence is not revealed; one they may view but not change is a 403 for
changes. Who may do what is decided in venues.selectors.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from venues.selectors import VIEW, is_staff_member, user_can, venues_for_user


def staff_required(view):
    """Anonymous users go to the login page; users without a staff role get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def require_capability(request, venue, capability: str) -> None:
    """403 unless the user has `capability` at `venue` (viewing is already checked)."""
    if capability != VIEW and not user_can(request.user, capability, venue):
        raise PermissionDenied


def get_for_staff_or_404(request, queryset: QuerySet, venue_path: str, capability: str = VIEW, **lookup):
    """The object of `queryset` matching `lookup` at a venue the user may view
    (404 otherwise), checked for `capability` (403 without it).

    `venue_path` is the lookup from the object to its venue ("" for a venue itself,
    "venue", "occurrence__venue", ...)."""
    venue_filter = f"{venue_path}__in" if venue_path else "pk__in"
    obj = get_object_or_404(queryset.filter(**{venue_filter: venues_for_user(request.user, VIEW)}), **lookup)
    venue = obj
    for part in filter(None, venue_path.split("__")):
        venue = getattr(venue, part)
    require_capability(request, venue, capability)
    return obj


def safe_next(request, default: str) -> str:
    """The page an action was started from (`next`), when it is on this site."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default
