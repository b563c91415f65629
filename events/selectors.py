"""Reads for the public site: the listing of upcoming occurrences and the pages
of an occurrence, a programme and a venue.

Every function here returns rows in a fixed number of queries whatever their
number (select_related / prefetch_related), so a page's cost does not grow with
what it shows. Views call these and never build queries themselves.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from common.text import unaccent
from common.timeutil import local_datetime
from events.models import Audience, CommemorativeDay, Occurrence, Programme
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

# Free text is split into words and every word must match; more words than
# this add nothing but cost.
MAX_SEARCH_TERMS = 8

_OCCURRENCE_RELATED = ("programme__event", "programme__commemorative_day", "venue__admin_unit__parent")


@dataclass(frozen=True)
class OccurrenceFilters:
    """What a visitor narrowed the listing to. Empty values mean "any"."""

    unit: AdminUnit | None = None  # a province (with its communes) or a commune
    venue: Venue | None = None
    kind: str = ""
    category: str = ""
    audience: str = ""
    date_from: dt.date | None = None  # inclusive, a day in Asia/Ho_Chi_Minh
    date_to: dt.date | None = None  # inclusive, a day in Asia/Ho_Chi_Minh
    text: str = ""
    commemorative_day: str = ""  # CommemorativeDay slug
    free_seats: bool = False


def _with_audiences(queryset: QuerySet, lookup: str) -> QuerySet:
    # Audience rows carry only their code, so one query fetches all of them.
    return queryset.prefetch_related(Prefetch(lookup, queryset=Audience.objects.order_by("code")))


def occurrences_public() -> QuerySet[Occurrence]:
    """Occurrences anyone may see: of a published programme at an active venue,
    past or future, cancelled ones included (their page says so)."""
    return _with_audiences(
        Occurrence.objects.public().select_related(*_OCCURRENCE_RELATED),
        "programme__audiences",
    )


def occurrences_upcoming(*, filters: OccurrenceFilters | None = None, now: dt.datetime | None = None) -> QuerySet[Occurrence]:
    """The public listing: visible, not cancelled, not yet over, by start time.

    A date range keeps occurrences that overlap it, so an exhibition that opened
    yesterday still shows for "from today".
    """
    filters = filters or OccurrenceFilters()
    queryset = occurrences_public().filter(cancelled=False).upcoming(now=now)
    if filters.unit is not None:
        queryset = queryset.filter(venues_in_unit_q(filters.unit, prefix="venue__"))
    if filters.venue is not None:
        queryset = queryset.filter(venue=filters.venue)
    if filters.kind:
        queryset = queryset.filter(venue__kind=filters.kind)
    if filters.category:
        queryset = queryset.filter(programme__category=filters.category)
    if filters.audience:
        # A programme lists an audience at most once, so this join adds no duplicates.
        queryset = queryset.filter(programme__audiences=filters.audience)
    if filters.date_from:
        queryset = queryset.filter(end__gt=local_datetime(filters.date_from, dt.time.min))
    if filters.date_to:
        queryset = queryset.filter(start__lt=local_datetime(filters.date_to + dt.timedelta(days=1), dt.time.min))
    for term in unaccent(filters.text).split()[:MAX_SEARCH_TERMS]:
        # search_text is stored unaccented and lower-case (events.services).
        queryset = queryset.filter(programme__search_text__contains=term)
    if filters.commemorative_day:
        queryset = queryset.filter(programme__commemorative_day_id=filters.commemorative_day)
    if filters.free_seats:
        queryset = queryset.with_free_seats()
    return queryset.order_by("start", "pk")


def programmes_public() -> QuerySet[Programme]:
    """Programmes with a public page: published, at an active venue."""
    return _with_audiences(
        Programme.objects.filter(status=Programme.Status.PUBLISHED, venue__is_active=True).select_related(
            "event", "commemorative_day", "venue__admin_unit__parent"
        ),
        "audiences",
    )


def programme_next_occurrences(*, programme: Programme, limit: int = 10, now: dt.datetime | None = None) -> list[Occurrence]:
    """The next `limit` dates of a programme, cancelled ones included so a
    visitor learns that a date is off rather than wondering where it went."""
    rows = (
        Occurrence.objects.filter(programme=programme)
        .upcoming(now=now)
        .order_by("start", "pk")[:limit]
    )
    return list(rows)


def venues_public() -> QuerySet[Venue]:
    return Venue.objects.filter(is_active=True).select_related("admin_unit__parent")


def venues_list(*, unit: AdminUnit | None = None, kind: str = "") -> QuerySet[Venue]:
    """Active venues, by name, optionally in a province/commune and of one kind."""
    queryset = venues_public()
    if unit is not None:
        queryset = queryset.filter(venues_in_unit_q(unit))
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("name", "pk")


def venue_upcoming_occurrences(*, venue: Venue, limit: int = 20, now: dt.datetime | None = None) -> list[Occurrence]:
    """The next `limit` public dates at a venue (cancelled ones marked, not hidden)."""
    rows = (
        Occurrence.objects.public()
        .filter(venue=venue)
        .upcoming(now=now)
        .select_related("programme__event")
        .order_by("start", "pk")[:limit]
    )
    return list(rows)


# Choices for the filter forms. Each is one query, whatever the map holds.


def provinces() -> list[AdminUnit]:
    return list(AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE).order_by("name", "code"))


def communes_of(*, province: AdminUnit) -> list[AdminUnit]:
    return list(
        AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE, parent=province).order_by("name", "code")
    )


def commune_by_code(*, code: str) -> AdminUnit | None:
    return (
        AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE, code=code).select_related("parent").first()
    )


def venue_choices_in(*, unit: AdminUnit) -> list[Venue]:
    """Active venues in a province or commune, only what a <select> needs."""
    return list(
        Venue.objects.filter(venues_in_unit_q(unit), is_active=True)
        .only("pk", "slug", "name", "admin_unit_id")
        .order_by("name", "pk")
    )


def venue_by_slug(*, slug: str) -> Venue | None:
    return Venue.objects.filter(slug=slug, is_active=True).select_related("admin_unit__parent").first()


def commemorative_days() -> list[CommemorativeDay]:
    return list(CommemorativeDay.objects.all())
