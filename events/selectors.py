"""Reads for the public site: the listing of upcoming occurrences and the pages
of an occurrence, a programme and a venue.

Every function here returns rows in a fixed number of queries whatever their
number (select_related / prefetch_related), so a page's cost does not grow with
what it shows. Views call these and never build queries themselves.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.functional import cached_property

from common.text import unaccent
from common.timeutil import local_datetime
from events.models import MULTI_DAY, Audience, Category, CommemorativeDay, Occurrence, Programme
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

# Free text is split into words and every word must match; more words than
# this add nothing but cost.
MAX_SEARCH_TERMS = 8

# Counting every upcoming date costs more than the page itself; past this many
# the listing says "1000+" and asks the visitor to narrow the filters.
LISTING_COUNT_CAP = 1000
# "Happening now" shows at most this many dates (on the first page only).
ONGOING_LIMIT = 10

_OCCURRENCE_RELATED = ("programme__event", "programme__commemorative_day", "venue__admin_unit__parent")

# What a card of the listing shows (templates/public/_occurrence_card.html), and
# nothing more: building model instances is most of a listing query's cost. A
# field the card uses but this leaves out costs one query per card
# (tests/test_public_site.py counts the queries).
_CARD_FIELDS = (
    "programme", "venue", "start", "end", "original_start", "original_end", "cancelled", "capacity", "seats_taken",
    "programme__category", "programme__event", "programme__event__title",
    "venue__name", "venue__admin_unit", "venue__admin_unit__name",
    "venue__admin_unit__parent", "venue__admin_unit__parent__name",
)


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


def listing_moment(*, filters: OccurrenceFilters | None = None, now: dt.datetime | None = None) -> dt.datetime:
    """The instant the listing splits at ("t0"): now, or the start of the
    from-date when the visitor asked for a later day."""
    filters = filters or OccurrenceFilters()
    now = now or timezone.now()
    if filters.date_from:
        return max(now, local_datetime(filters.date_from, dt.time.min))
    return now


def _occurrences_listed(filters: OccurrenceFilters) -> QuerySet[Occurrence]:
    """Visible, not cancelled, narrowed by every filter but the from-date (which
    sets the listing's moment instead). No time bound and no audiences yet."""
    queryset = (
        Occurrence.objects.public()
        .filter(cancelled=False)
        .select_related("programme__event", "venue__admin_unit__parent")
        .only(*_CARD_FIELDS)
    )
    if filters.unit is not None:
        # As `venue IN (venues of the unit)`, so the database can read each
        # venue's dates from the (venue, start) index.
        queryset = queryset.filter(venue__in=Venue.objects.filter(venues_in_unit_q(filters.unit)).values("pk"))
    if filters.venue is not None:
        queryset = queryset.filter(venue=filters.venue)
    if filters.kind:
        queryset = queryset.filter(venue__kind=filters.kind)
    if filters.category:
        queryset = queryset.filter(programme__category=filters.category)
    if filters.audience:
        # A programme lists an audience at most once, so this join adds no duplicates.
        queryset = queryset.filter(programme__audiences=filters.audience)
    if filters.date_to:
        queryset = queryset.filter(start__lt=local_datetime(filters.date_to + dt.timedelta(days=1), dt.time.min))
    for term in unaccent(filters.text).split()[:MAX_SEARCH_TERMS]:
        # search_text is stored unaccented and lower-case (events.services).
        queryset = queryset.filter(programme__search_text__contains=term)
    if filters.commemorative_day:
        queryset = queryset.filter(programme__commemorative_day_id=filters.commemorative_day)
    if filters.free_seats:
        queryset = queryset.with_free_seats()
    return queryset


def _ongoing(listed: QuerySet[Occurrence], moment: dt.datetime) -> QuerySet[Occurrence]:
    # Started before the moment and not over at it. Only a multi-day date can have
    # started more than MULTI_DAY earlier, so the look into the past is bounded:
    # the last day through the start index, older ones through the small
    # spans_days index, never the whole history. On the occurrence table alone
    # (a subquery), so the database cannot prefer walking every programme's dates.
    started = Q(start__gte=moment - MULTI_DAY, start__lt=moment) | Q(spans_days=True, start__lt=moment)
    under_way = Occurrence.objects.filter(started, end__gt=moment).values("pk")
    return listed.filter(pk__in=under_way).order_by("start", "pk")


def _upcoming(listed: QuerySet[Occurrence], moment: dt.datetime) -> QuerySet[Occurrence]:
    # A range on start (not `end > moment`) lets the database walk the start
    # index in order and stop at the page's LIMIT instead of sorting every row.
    return listed.filter(start__gte=moment).order_by("start", "pk")


class CappedPaginator(Paginator):
    """A Paginator that counts at most `cap` rows (`capped` tells when there are more)."""

    def __init__(self, object_list, per_page, *, cap: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        # SELECT COUNT(*) FROM (... LIMIT cap + 1): stops after cap + 1 rows. Order
        # and related rows do not change the number, so the database may read the
        # rows in whatever order finds them fastest.
        queryset = self.object_list.select_related(None).prefetch_related(None).order_by()
        return queryset[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


def _with_labels(rows: list[Occurrence]) -> None:
    """Name each card's category and audiences once per page (as
    `programme.category_label` and `audience.label`): get_FOO_display rebuilds
    and translates the whole list of choices on every call, which was a fifth
    of a card's rendering."""
    categories = {value: str(label) for value, label in Category.choices}
    audiences = {value: str(label) for value, label in Audience.Code.choices}
    for occurrence in rows:
        programme = occurrence.programme
        programme.category_label = categories.get(programme.category, programme.category)
        for audience in programme.audiences.all():
            audience.label = audiences.get(audience.code, audience.code)


@dataclass(frozen=True)
class OccurrenceListing:
    moment: dt.datetime  # where "happening now" ends and "upcoming" begins
    is_now: bool  # the moment is now (not the start of a later from-date)
    ongoing: list[Occurrence]  # page 1 only, at most ONGOING_LIMIT
    more_ongoing: bool  # more are under way than `ongoing` shows
    page: Page  # of the upcoming dates; page.paginator.capped


def occurrence_listing(
    *,
    filters: OccurrenceFilters | None = None,
    page_number=None,
    per_page: int = 20,
    now: dt.datetime | None = None,
) -> OccurrenceListing:
    """The public listing in a fixed number of queries: a capped count and one
    page of upcoming dates, on page 1 the dates already under way, and the
    audiences of both in one query."""
    filters = filters or OccurrenceFilters()
    now = now or timezone.now()
    moment = listing_moment(filters=filters, now=now)
    listed = _occurrences_listed(filters)
    page = CappedPaginator(_upcoming(listed, moment), per_page, cap=LISTING_COUNT_CAP).get_page(page_number)
    rows = list(page.object_list)
    ongoing = list(_ongoing(listed, moment)[: ONGOING_LIMIT + 1]) if page.number == 1 else []
    more_ongoing = len(ongoing) > ONGOING_LIMIT
    ongoing = ongoing[:ONGOING_LIMIT]
    prefetch_related_objects(
        ongoing + rows, Prefetch("programme__audiences", queryset=Audience.objects.order_by("code"))
    )
    _with_labels(ongoing + rows)
    page.object_list = rows
    return OccurrenceListing(moment=moment, is_now=moment == now, ongoing=ongoing, more_ongoing=more_ongoing, page=page)


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
