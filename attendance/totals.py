"""Visit totals: kept current by the services that admit, undo and count, and
rebuilt from raw rows when in doubt.

`visits_add` is called inside the caller's transaction, after the row it counts
was written or changed, so a total and its cause commit or roll back together.
It is an INSERT … ON CONFLICT DO UPDATE that adds to the counters, on SQLite and
PostgreSQL alike: two doors counting at the same moment both land, neither is
lost, and a new day's row is created without a read first. The day's row and
its month's row are two such statements, run together (common.sql: one round
trip on PostgreSQL), and the door runs them together with its own writes.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from attendance.models import CheckIn, ManualAttendance, VisitCount, VisitMonth, WalkIn
from common.sql import Statement, execute_together
from events.models import Occurrence

COLUMNS = ("checked_in", "walk_ins", "manual")

_UPSERT = """
INSERT INTO {table} (venue_id, day, occurrence_id, programme_id, category, audience, checked_in, walk_ins, manual)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ({target}) WHERE {where}
DO UPDATE SET checked_in = {table}.checked_in + excluded.checked_in,
              walk_ins = {table}.walk_ins + excluded.walk_ins,
              manual = {table}.manual + excluded.manual
"""
_UPSERT_OCCURRENCE = _UPSERT.format(
    table=VisitCount._meta.db_table, target="occurrence_id, day, audience", where="occurrence_id IS NOT NULL"
)
_UPSERT_VENUE_DAY = _UPSERT.format(
    table=VisitCount._meta.db_table, target="venue_id, day, audience", where="occurrence_id IS NULL"
)
_UPSERT_MONTH = """
INSERT INTO {table} (venue_id, month, category, audience, checked_in, walk_ins, manual)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (venue_id, month, category, audience)
DO UPDATE SET checked_in = {table}.checked_in + excluded.checked_in,
              walk_ins = {table}.walk_ins + excluded.walk_ins,
              manual = {table}.manual + excluded.manual
""".format(table=VisitMonth._meta.db_table)


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def visits_statements(
    *,
    venue_id: int,
    day: dt.date,
    occurrence: Occurrence | None = None,
    audience: str = "",
    checked_in: int = 0,
    walk_ins: int = 0,
    manual: int = 0,
) -> list[Statement]:
    """The two upserts of `visits_add`, to run with others (common.sql.execute_together)."""
    if not (checked_in or walk_ins or manual):
        return []
    programme_id = category = None
    if occurrence is not None:
        programme_id = occurrence.programme_id
        category = occurrence.programme.category
    adapt = connection.ops.adapt_datefield_value
    counters = [checked_in, walk_ins, manual]
    labels = [category or "", audience or ""]
    day_row = [venue_id, adapt(day), occurrence.pk if occurrence is not None else None, programme_id]
    month_row = [venue_id, adapt(day.replace(day=1))]
    return [
        (_UPSERT_OCCURRENCE if occurrence is not None else _UPSERT_VENUE_DAY, day_row + labels + counters),
        (_UPSERT_MONTH, month_row + labels + counters),
    ]


def visits_add(**visits) -> None:
    """Add (or, with negative numbers, take back) visits on one row of the day
    totals and on its month's row. Takes visits_statements' arguments."""
    execute_together(visits_statements(**visits))


# -- recount ------------------------------------------------------------------------


Key = tuple[int, dt.date, int | None, str]  # venue, day, occurrence, audience


@dataclass
class Difference:
    key: tuple  # Key for level "day", MonthKey for level "month"
    kept: tuple[int, int, int]
    recounted: tuple[int, int, int]
    level: str = "day"


def recount() -> dict[Key, list[int]]:
    """Totals computed from raw rows only: admitted check-ins not undone (by the
    local day of the scan) of dates not counted by hand, walk-ins not undone,
    current hand-entered attendance (on the local day of the date's start)."""
    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    checkins = (
        CheckIn.objects.filter(result=CheckIn.Result.OK, undone_at__isnull=True, headcount__gt=0)
        .exclude(occurrence__counted_by_hand=True)
        .annotate(local_day=TruncDate("scanned_at", tzinfo=timezone.get_current_timezone()))
        .values_list("venue_id", "local_day", "occurrence_id")
        .annotate(n=Sum("headcount"))
        .order_by()
    )
    for venue_id, day, occurrence_id, n in checkins:
        totals[(venue_id, day, occurrence_id, "")][0] += n
    walkins = (
        WalkIn.objects.filter(undone_at__isnull=True)
        .values_list("venue_id", "day", "occurrence_id", "audience")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for venue_id, day, occurrence_id, audience, n in walkins:
        totals[(venue_id, day, occurrence_id, audience)][1] += n
    manual = ManualAttendance.objects.filter(superseded_at__isnull=True).select_related("occurrence")
    for entry in manual.iterator():
        key = (entry.occurrence.venue_id, local_day(entry.occurrence.start), entry.occurrence_id, entry.audience)
        totals[key][2] += entry.count
    return totals


MonthKey = tuple[int, dt.date, str, str]  # venue, first day of the month, category, audience


def months_of(totals: dict[Key, list[int]]) -> dict[MonthKey, list[int]]:
    """Day totals rolled up by venue, month, category and audience."""
    categories = dict(
        Occurrence.objects.filter(pk__in={key[2] for key in totals if key[2] is not None}).values_list(
            "pk", "programme__category"
        )
    )
    months: dict[MonthKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (venue_id, day, occurrence_id, audience), counters in totals.items():
        row = months[(venue_id, day.replace(day=1), categories.get(occurrence_id, ""), audience)]
        for index, value in enumerate(counters):
            row[index] += value
    return months


def _compare(kept: dict, recounted: dict, sort_key, level: str) -> list[Difference]:
    found = []
    for key in sorted(set(kept) | set(recounted), key=sort_key):
        mine = tuple(kept.get(key, (0, 0, 0)))
        theirs = tuple(recounted.get(key, (0, 0, 0)))
        if mine != theirs:
            found.append(Difference(key, mine, theirs, level))
    return found


def differences() -> list[Difference]:
    """Where the kept totals (by day, then by month) and a recount from raw rows
    disagree. Month differences have a key of (venue, month, category, audience)."""
    recounted = recount()
    kept = {
        row[:4]: row[4:]
        for row in VisitCount.objects.values_list("venue_id", "day", "occurrence_id", "audience", *COLUMNS).iterator()
    }
    kept_months = {
        row[:4]: row[4:]
        for row in VisitMonth.objects.values_list("venue_id", "month", "category", "audience", *COLUMNS).iterator()
    }
    return _compare(kept, recounted, lambda k: (k[0], k[1], k[2] or 0, k[3]), "day") + _compare(
        kept_months, months_of(recounted), lambda k: k, "month"
    )


def rebuild() -> list[Difference]:
    """Replace the kept totals by a recount; returns what differed. Runs in one
    transaction; the kept rows are locked against concurrent changes on PostgreSQL."""
    with transaction.atomic():
        list(VisitCount.objects.select_for_update().values_list("pk"))
        list(VisitMonth.objects.select_for_update().values_list("pk"))
        found = differences()
        if not found:
            return found
        day_keys = [d for d in found if d.level == "day"]
        occurrences = {
            o.pk: o
            for o in Occurrence.objects.filter(
                pk__in={d.key[2] for d in day_keys if d.key[2] is not None}
            ).select_related("programme")
        }
        for difference in day_keys:
            venue_id, day, occurrence_id, audience = difference.key
            rows = VisitCount.objects.filter(venue_id=venue_id, day=day, audience=audience)
            rows = rows.filter(occurrence_id=occurrence_id) if occurrence_id else rows.filter(occurrence__isnull=True)
            rows.delete()
            checked_in, walk_ins, manual = difference.recounted
            if checked_in or walk_ins or manual:
                occurrence = occurrences.get(occurrence_id)
                VisitCount.objects.create(
                    venue_id=venue_id, day=day, occurrence=occurrence, audience=audience,
                    programme_id=occurrence.programme_id if occurrence else None,
                    category=occurrence.programme.category if occurrence else "",
                    checked_in=checked_in, walk_ins=walk_ins, manual=manual,
                )
        # Month rows that differ are set to the recount's figures (carried by the difference).
        for difference in (d for d in found if d.level == "month"):
            venue_id, month, category, audience = difference.key
            VisitMonth.objects.filter(venue_id=venue_id, month=month, category=category, audience=audience).delete()
            checked_in, walk_ins, manual = difference.recounted
            if checked_in or walk_ins or manual:
                VisitMonth.objects.create(
                    venue_id=venue_id, month=month, category=category, audience=audience,
                    checked_in=checked_in, walk_ins=walk_ins, manual=manual,
                )
    return found
