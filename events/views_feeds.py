"""iCalendar subscriptions: the whole site, a venue, an administrative unit, a
category, and a single occurrence.

A feed answers a conditional GET from one aggregate query over the programmes
in scope; otherwise it costs a fixed number of queries whatever its size: the
scope (venue or unit), the aggregate, the programmes, and their exceptional
dates. Building the calendar is events.ical's job.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db.models import Count, F, Max, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_safe

from events.ical import occurrence_calendar, programmes_calendar
from events.models import Category, Occurrence, Programme
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

# A series stays in feeds for a while after its last date, so subscribers
# still see what they attended.
ENDED_GRACE = dt.timedelta(days=30)


@dataclass(frozen=True)
class FeedScope:
    name: str  # X-WR-CALNAME
    filename: str
    programmes: Q  # the programmes the feed is about, whatever their state


# Reads. Kept here while only the feeds use them.


def _live_q(now: dt.datetime) -> Q:
    """Programmes a feed shows: published, at an active venue, not ended long ago."""
    cutoff = now - ENDED_GRACE
    return Q(status=Programme.Status.PUBLISHED, venue__is_active=True) & (
        Q(event__rule__isnull=True, event__end__gte=cutoff)
        | Q(event__rule__isnull=False, event__end_recurring_period__isnull=True)
        | Q(event__rule__isnull=False, event__end_recurring_period__gte=cutoff)
    )


def _feed_state(scope: FeedScope, now: dt.datetime) -> dict:
    # Max over every programme in scope, not only the live ones: unpublishing or
    # cancelling one bumps its updated_at and must change Last-Modified too.
    return Programme.objects.filter(scope.programmes).aggregate(
        programmes_changed=Max("updated_at"),
        venues_changed=Max("venue__updated_at"),
        live=Count("pk", filter=_live_q(now)),
    )


def _feed_programmes(scope: FeedScope, now: dt.datetime):
    return (
        Programme.objects.filter(scope.programmes)
        .filter(_live_q(now))
        .select_related("event", "event__rule", "venue")
        .order_by("pk")
    )


def _feed_exceptions(programmes) -> list[Occurrence]:
    """The cancelled or moved occurrences of `programmes`, in one query."""
    return list(
        Occurrence.objects.filter(programme__in=programmes.values("pk")).filter(
            Q(cancelled=True) | ~Q(start=F("original_start")) | ~Q(end=F("original_end"))
        )
    )


# Scopes, from the URL. Each raises Http404 for what is not public.


def _site_scope() -> FeedScope:
    return FeedScope(name=_("Lifelong learning"), filename="all.ics", programmes=Q())


def _venue_scope(*, slug: str) -> FeedScope:
    venue = get_object_or_404(Venue, slug=slug, is_active=True)
    return FeedScope(name=venue.name, filename=f"venue-{venue.slug}.ics", programmes=Q(venue=venue))


def _unit_scope(*, code: str) -> FeedScope:
    unit = get_object_or_404(AdminUnit, code=code)
    return FeedScope(
        name=f"{_('Lifelong learning')} · {unit.name}",
        filename=f"unit-{unit.code}.ics",
        programmes=venues_in_unit_q(unit, prefix="venue__"),
    )


def _category_scope(*, category: str) -> FeedScope:
    if category not in Category.values:
        raise Http404("Unknown category")
    return FeedScope(
        name=f"{_('Lifelong learning')} · {Category(category).label}",
        filename=f"category-{category}.ics",
        programmes=Q(category=category),
    )


# Views.


def _ics_response(calendar, filename: str) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


def _etag(*parts) -> str:
    # The language is part of it: calendar names and categories are translated.
    raw = "|".join(str(part) for part in (get_language(), *parts))
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def _feed_view(resolve_scope):
    """A feed view for the scope `resolve_scope(**url_kwargs)` returns."""

    def context(request, **kwargs):
        # condition() asks for the ETag and Last-Modified before the view runs:
        # resolve the scope and run the aggregate once per request.
        if not hasattr(request, "_feed_context"):
            now = timezone.now()
            scope = resolve_scope(**kwargs)
            request._feed_context = (now, scope, _feed_state(scope, now))
        return request._feed_context

    def etag(request, **kwargs):
        _now, _scope, state = context(request, **kwargs)
        return _etag(state["live"], state["programmes_changed"], state["venues_changed"])

    def last_modified(request, **kwargs):
        _now, _scope, state = context(request, **kwargs)
        stamps = [s for s in (state["programmes_changed"], state["venues_changed"]) if s]
        return max(stamps, default=None)

    @require_safe
    @condition(etag_func=etag, last_modified_func=last_modified)
    def view(request, **kwargs):
        now, scope, _state = context(request, **kwargs)
        programmes = _feed_programmes(scope, now)
        calendar = programmes_calendar(list(programmes), _feed_exceptions(programmes), name=scope.name)
        return _ics_response(calendar, scope.filename)

    return view


site_feed = _feed_view(_site_scope)
venue_feed = _feed_view(_venue_scope)
unit_feed = _feed_view(_unit_scope)
category_feed = _feed_view(_category_scope)


def _public_occurrence(request, pk: int) -> Occurrence:
    # Drafts stay private; a cancelled programme is served so an import can be withdrawn.
    if not hasattr(request, "_feed_occurrence"):
        request._feed_occurrence = get_object_or_404(
            Occurrence.objects.select_related("programme__event", "programme__venue").filter(
                programme__status__in=[Programme.Status.PUBLISHED, Programme.Status.CANCELLED],
                programme__venue__is_active=True,
            ),
            pk=pk,
        )
    return request._feed_occurrence


def _occurrence_stamps(occurrence: Occurrence) -> tuple:
    return occurrence.updated_at, occurrence.programme.updated_at, occurrence.programme.venue.updated_at


@require_safe
@condition(
    etag_func=lambda request, pk: _etag(*_occurrence_stamps(_public_occurrence(request, pk))),
    last_modified_func=lambda request, pk: max(_occurrence_stamps(_public_occurrence(request, pk))),
)
def occurrence_ics(request, pk):
    occurrence = _public_occurrence(request, pk)
    return _ics_response(occurrence_calendar(occurrence), f"occurrence-{occurrence.pk}.ics")
