"""Reads for registrations and the door."""

import datetime as dt

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from attendance.models import Registration, Ticket, VisitCount
from common.sql import Statement, read_together
from common.timeutil import local_datetime
from events.models import Occurrence

S = Registration.Status

LOOKUP_RECENT_DAYS = 30  # past dates still listed by a look-up link, e.g. to see the ticket was used


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = local_datetime(day, dt.time.min)
    return start, start + dt.timedelta(days=1)


def occurrences_of_day(*, venue, day: dt.date):
    """The venue's dates that overlap its local `day`, cancelled ones included."""
    start, end = _day_bounds(day)
    return (
        Occurrence.objects.filter(venue=venue, start__lt=end, end__gt=start)
        .select_related("programme__event")
        .order_by("start", "pk")
    )


def occurrence_counts(*, occurrence: Occurrence, now: dt.datetime | None = None) -> dict:
    """People per state for one date (each a sum of party sizes / headcounts):
    confirmed, waiting, pending, cancelled, checked_in, no_show, walk_ins, expected."""
    now = now or timezone.now()
    by_status = dict(
        Registration.objects.filter(occurrence=occurrence)
        .values_list("status")
        .annotate(people=Coalesce(Sum("party_size"), 0))
    )
    kept = VisitCount.objects.filter(occurrence=occurrence).aggregate(
        checked_in=Coalesce(Sum("checked_in"), 0),
        walk_ins=Coalesce(Sum("walk_ins"), 0),
        manual=Coalesce(Sum("manual"), 0),
    )
    checked_in, walk_ins = kept["checked_in"], kept["walk_ins"]
    confirmed = by_status.get(S.CONFIRMED, 0)
    no_show = 0
    if occurrence.end < now:
        no_show = max(
            Ticket.objects.filter(registration__occurrence=occurrence, registration__status=S.CONFIRMED).aggregate(
                n=Coalesce(Sum("registration__party_size"), 0) - Coalesce(Sum("admitted"), 0)
            )["n"],
            0,
        )
    return {
        "confirmed": confirmed,
        "waiting": by_status.get(S.WAITING, 0),
        "pending": by_status.get(S.PENDING, 0),
        "cancelled": by_status.get(S.CANCELLED, 0) + by_status.get(S.DECLINED, 0),
        "checked_in": checked_in,
        "no_show": no_show,
        "walk_ins": walk_ins,
        "manual": kept["manual"],
        "expected": confirmed,
    }


# The door's three counters, each a scalar subquery (aliases of their own, so
# they can sit beside another statement's tables): expected, checked in, walk-ins.
_DAY_COUNTS = tuple(
    text.format(occurrence=Occurrence._meta.db_table, visits=VisitCount._meta.db_table)
    for text in (
        """(SELECT COALESCE(SUM(dc_o.seats_taken), 0) FROM {occurrence} dc_o
            WHERE dc_o.venue_id = %s AND dc_o.start < %s AND dc_o."end" > %s AND NOT dc_o.cancelled)""",
        "(SELECT COALESCE(SUM(dc_v.checked_in), 0) FROM {visits} dc_v WHERE dc_v.venue_id = %s AND dc_v.day = %s)",
        "(SELECT COALESCE(SUM(dc_v.walk_ins), 0) FROM {visits} dc_v WHERE dc_v.venue_id = %s AND dc_v.day = %s)",
    )
)


def day_counts_read(*, venue_id: int, day: dt.date) -> list[Statement]:
    """The door's live counters for a venue's day as three scalar expressions
    (see venue_day_counts), to run alone or within another statement
    (common.sql.execute_together_reading); `day_counts_of` reads their values."""
    start, end = _day_bounds(day)
    ops = connection.ops
    day_value = ops.adapt_datefield_value(day)
    params = (
        [venue_id, ops.adapt_datetimefield_value(end), ops.adapt_datetimefield_value(start)],
        [venue_id, day_value],
        [venue_id, day_value],
    )
    return list(zip(_DAY_COUNTS, params))


def day_counts_of(values) -> dict:
    expected, checked_in, walk_ins = values
    return {"checked_in": int(checked_in), "expected": int(expected), "walk_ins": int(walk_ins)}


def venue_day_counts(*, venue, day: dt.date) -> dict:
    """The door's live counters for a venue's day: checked in, expected, walk-ins.

    Asked after every scan, so it is hand-written (compiling the equivalent ORM
    query cost more than running it): the seats taken on the day's dates that
    are not cancelled (kept on each date, so not a sum over its registrations; a
    group still awaiting approval holds its seats and is counted), and the day's
    kept visit totals. A scan reads them in its own write (ticket_redeem)."""
    return day_counts_of(read_together(day_counts_read(venue_id=venue.pk, day=day)))


def tickets_for_day(*, venue, day: dt.date) -> list[dict]:
    """What a scanner stores to work offline: today's tickets at the venue, by
    digest (never the secret), with what the door shows and needs to decide."""
    start, end = _day_bounds(day)
    rows = (
        Ticket.objects.filter(
            registration__occurrence__venue=venue,
            registration__occurrence__start__lt=end,
            registration__occurrence__end__gt=start,
        )
        .select_related("registration__occurrence")
        .order_by("pk")
    )
    return [
        {
            "digest": t.digest,
            "occurrence_id": t.registration.occurrence_id,
            "occurrence_start": t.registration.occurrence.start.isoformat(),
            "occurrence_end": t.registration.occurrence.end.isoformat(),
            "occurrence_cancelled": t.registration.occurrence.cancelled,
            "status": t.registration.status,
            "name": t.registration.full_name,
            "organisation": t.registration.organisation,
            "party_size": t.registration.party_size,
            "admitted": t.admitted,
        }
        for t in rows
    ]


def registrations_for_occurrence(*, occurrence: Occurrence, query: str = "", status: str = ""):
    rows = Registration.objects.filter(occurrence=occurrence).select_related("ticket").order_by("created_at", "pk")
    if status:
        rows = rows.filter(status=status)
    query = (query or "").strip()
    if query:
        digits = "".join(c for c in query if c.isdigit())
        condition = Q(full_name__icontains=query) | Q(organisation__icontains=query)
        if len(digits) >= 3:
            condition |= Q(phone__contains=digits.lstrip("0"))
        rows = rows.filter(condition)
    return rows


def waiting_count(occurrence: Occurrence) -> int:
    return Registration.objects.filter(occurrence=occurrence, status=S.WAITING).aggregate(n=Count("pk"))["n"]


def registrations_for_phone(*, phone: str, now: dt.datetime) -> QuerySet[Registration]:
    """A phone's registrations for upcoming dates and those of the last
    LOOKUP_RECENT_DAYS, soonest first. Erased rows have no phone, so never match."""
    return (
        Registration.objects.filter(
            phone=phone, occurrence__end__gte=now - dt.timedelta(days=LOOKUP_RECENT_DAYS)
        )
        .select_related("ticket", "occurrence__programme__event", "occurrence__venue")
        .order_by("occurrence__start", "pk")
    )
