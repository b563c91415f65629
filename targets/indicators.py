"""Indicator results for a scope and year, computed from kept totals.

Interface (used by dashboards, the annual report and the API):

- `venues_in_scope(target, *, active_only=True) -> QuerySet[Venue]`: the venues a target applies to.
- `targets_for_unit(unit, year) -> QuerySet[Target]`: targets whose scope is the unit; for a
  province also its reporting groups' targets (a former province's plan is attached to its
  group, see `load_plan_targets`); for a commune, the set targets of its province and groups
  that select venues by kind/tier and can be measured within one commune (shares, growth,
  per-venue targets), evaluated over the commune's venues only.
- `evaluate(target, *, today=None, within=None) -> Result`: the result of one target
  (`within`: an AdminUnit narrowing the target's set, e.g. a commune of its province).
- `unit_results(unit, year, *, today=None) -> list[Result]`: every target of a unit and year,
  in a handful of queries (venue-level totals are read once per scope and shared).
- `venue_visits_targets(venues, year) -> {venue id: Target}` (two queries for any number of
  venues) and `venue_visits_target(venue, year)`: the visits target applying to a venue
  (its own, else a per-venue VISITS target of a set it belongs to).
- `venue_year_visits(venue_ids, year) -> dict[int, int]`: visits of each venue in a year (one query;
  venues without visits are absent).
- `unit_visits_by_month(unit_or_venue_ids, year) -> list[int]`: 12 monthly totals (one query).
- `unit_year_visits(unit_or_venue_ids, year, *, until=None) -> int`: total visits (one query).
- `visits_by_category(unit_or_venue_ids, year) -> dict[str, int]`: visits of dated activities by
  category ("" = the venue's day without a date), one query.
- `unit_targets(unit, year) -> list[Target]`: targets_for_unit, prefetched for evaluation.
- `results_for_targets(targets, *, unit, today=None) -> list[Result]`: results of given targets
  (saved, or unsaved copies such as a target carried over to the previous year), sharing the
  venue-level totals of each place and year as `unit_results` does.
- `month_split(first, last)`: a date range as whole months and leftover days (see below).
- `year_fraction_elapsed(year, today)`, `current_manual_value(target)`.

Where visits are read: whole months from `attendance.VisitMonth` (kept by `attendance.totals`
with VisitCount, a few rows per venue and month); only the days of a month a range cuts — the
current month of the current year and the same days a year before — from `VisitCount`. A
finished year reads no VisitCount row; a province's current year reads at most ~31 days of its
venues. The results are exactly those of summing the days.

How each indicator is measured (year = 1/1..31/12 local time; "held" = occurrence not cancelled,
programme published, start within the year and before the cutoff, which is now — or the end of
`today` when a `today` is given):

- VISITS: sum of checked_in + walk_ins + manual of the kept totals, within the year, over every venue of
  the set (closed venues included: their visits happened). `per_venue`: each *active* venue's own
  visits against the value; the result is the share (%) of venues meeting it (in the current year:
  on pace), `detail["venues"]` lists each venue with its visits and status; the status is met only
  when every venue meets it (current year: behind if any venue is behind, at risk if any is at risk).
- VISITS_GROWTH (%): (visits(year) − visits(year−1)) / visits(year−1) × 100 over the set. For the
  current year like is compared with like: 1/1..today against 1/1..the same day of the previous
  year (29/2 → 28/2). No previous visits → no_data. With a `base_year` (the plans' "tăng bình
  quân x % mỗi năm"): the average yearly growth since that year,
  ((visits(year) / visits(base_year)) ^ (1 / (year − base_year)) − 1) × 100, like for like in the
  same way; no visits in the base year → no_data.
- LIFELONG_LEARNING_SHARE (%): active venues of the set holding at least
  settings.LIFELONG_LEARNING_MIN_OCCURRENCES held occurrences of a lifelong-learning category
  (`LIFELONG_LEARNING_CATEGORIES`: every category except "other") in the year, over all active
  venues of the set.
- DIGITAL_SHARE (%): active venues of the set that took registrations through the system (an
  occurrence in the year of a programme with registration required and seats_taken > 0 — the
  counter kept on the occurrence, so no Registration row is read; desk registrations count too,
  they are made in the same digital system) or admitted by QR (checked_in > 0 in the year, on
  VisitMonth / VisitCount), over all active venues of the set.
- ACTIVITIES: distinct programmes of the category with at least one held occurrence in the year at
  the set's venues. With commemorative days, only occurrences overlapping one of the days
  (local dates `CommemorativeDay.dates_in(year)`) or of a programme linked to one of them
  (`Programme.commemorative_day`). A range ("2–4") is met at its lower end.
- MANUAL: the latest non-superseded ManualValue (`targets.services.manual_value_enter`); none → no_data.

Statuses: a finished year is `met` / `not_met` (measured ≥ value). The current year: cumulative
indicators (VISITS, ACTIVITIES) by pace — measured / (value × share of the year elapsed; for
commemorative-day activities the share of those days already begun) ≥ PACE_ON_TRACK → on_track,
≥ PACE_AT_RISK → at_risk, else behind; shares, growth and manual values compare the measure itself
with the value using the same thresholds. A future year is `no_data` with no value. `no_data` also
when nothing could be measured (empty set, no previous year's visits, manual value not entered).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from attendance.models import VisitCount, VisitMonth
from common.timeutil import local_datetime
from events.models import Category, Occurrence, Programme
from targets.models import PERCENT_INDICATORS, Indicator, ManualValue, Target
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

# Pace thresholds for the current year (measured / expected so far).
PACE_ON_TRACK = Decimal("1.00")
PACE_AT_RISK = Decimal("0.85")

# Categories that count as lifelong-learning services (every one but "other").
LIFELONG_LEARNING_CATEGORIES = tuple(c for c in Category.values if c != Category.OTHER)

CUMULATIVE_INDICATORS = {Indicator.VISITS, Indicator.ACTIVITIES}
SHARE_INDICATORS = {Indicator.LIFELONG_LEARNING_SHARE, Indicator.DIGITAL_SHARE}
# Province targets that still make sense measured over one commune's venues.
_NARROWABLE = Q(indicator__in=[Indicator.VISITS_GROWTH, *SHARE_INDICATORS]) | Q(
    indicator__in=list(CUMULATIVE_INDICATORS), per_venue=True
)

_VISITS = F("checked_in") + F("walk_ins") + F("manual")
_CENT = Decimal("0.01")


class Status:
    MET = "met"
    NOT_MET = "not_met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    NO_DATA = "no_data"


@dataclass
class Result:
    target: Target
    indicator: str
    value: Decimal | None  # the measured result (a percentage for share/growth indicators and per-venue targets)
    status: str
    # numerator/denominator for shares, previous year's visits for growth, per-venue rows for per_venue targets …
    detail: dict = field(default_factory=dict)

    @property
    def is_percent(self) -> bool:
        return self.indicator in PERCENT_INDICATORS or bool(self.detail.get("per_venue"))


def year_fraction_elapsed(year: int, today: dt.date) -> float:
    """0.0 before the year, 1.0 after it, else the share of its days gone."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if today <= start:
        return 0.0
    if today >= end:
        return 1.0
    return (today - start).days / (end - start).days


# -- scopes -----------------------------------------------------------------------------


def _unit_q(unit: AdminUnit | None, venue_id: int | None, prefix: str = "") -> Q:
    if venue_id is not None:
        return Q(**{f"{prefix}pk": venue_id})
    return venues_in_unit_q(unit, prefix=prefix)


def _target_q(target: Target, prefix: str = "", within: AdminUnit | None = None) -> Q:
    q = _unit_q(target.admin_unit if not target.venue_id else None, target.venue_id, prefix)
    if target.venue_kind:
        q &= Q(**{f"{prefix}kind": target.venue_kind})
    if target.venue_tier:
        q &= Q(**{f"{prefix}tier": target.venue_tier})
    if within is not None:
        q &= venues_in_unit_q(within, prefix=prefix)
    return q


def venues_in_scope(target: Target, *, active_only: bool = True, within: AdminUnit | None = None) -> QuerySet[Venue]:
    """The venues a target applies to: its venue, or the (active) venues of its unit
    with its kind and tier."""
    qs = Venue.objects.filter(_target_q(target, within=within))
    if active_only:
        qs = qs.filter(is_active=True)
    if within is not None and within.level == AdminUnit.Level.GROUP:
        qs = qs.distinct()
    return qs


def targets_for_unit(unit: AdminUnit, year: int) -> QuerySet[Target]:
    """Targets of `unit` for `year` (see the module docstring for provinces and communes)."""
    base = Target.objects.filter(year=year)
    if unit.level == AdminUnit.Level.PROVINCE:
        q = Q(admin_unit=unit) | Q(admin_unit__parent=unit, admin_unit__level=AdminUnit.Level.GROUP)
    elif unit.level == AdminUnit.Level.COMMUNE:
        above = (Q(admin_unit_id=unit.parent_id) | Q(admin_unit__members=unit)) & (
            ~Q(venue_kind="") | ~Q(venue_tier="")
        ) & _NARROWABLE
        q = Q(admin_unit=unit) | above
    else:
        q = Q(admin_unit=unit)
    return base.filter(q).distinct().select_related("admin_unit", "venue")


# -- venue-level measures, read once per scope --------------------------------------------


@dataclass
class _VenueRow:
    pk: int
    name: str
    kind: str
    tier: str
    is_active: bool


class _Measures:
    """Per-venue totals of one place (a unit or one venue) and year, each read in one
    aggregate query the first time a target needs it, then filtered in Python by kind/tier."""

    def __init__(self, *, unit: AdminUnit | None, venue_id: int | None, year: int, today: dt.date, now: dt.datetime):
        self.unit, self.venue_id, self.year, self.today, self.now = unit, venue_id, year, today, now
        self.year_start = local_datetime(dt.date(year, 1, 1), dt.time())
        self.year_end = local_datetime(dt.date(year + 1, 1, 1), dt.time())
        self.cutoff = min(self.year_end, now)
        self._cache = {}

    def q(self, prefix: str = "") -> Q:
        """On Venue (no prefix), or on a model with a `venue` (prefix "venue__"): then the
        place's venue ids, read once (`venues()`), so that each totals query is index ranges
        on (venue, …) rather than a join of the units for each of millions of rows."""
        if not prefix:
            return _unit_q(self.unit, self.venue_id)
        if self.venue_id is not None:
            return Q(venue_id=self.venue_id)
        return Q(venue_id__in=[v.pk for v in self.venues()])

    def _memo(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def venues(self) -> list[_VenueRow]:
        def compute():
            qs = Venue.objects.filter(self.q())
            if self.unit is not None and self.unit.level == AdminUnit.Level.GROUP:
                qs = qs.distinct()
            return [_VenueRow(*row) for row in qs.values_list("pk", "name", "kind", "tier", "is_active").order_by("name", "pk")]

        return self._memo("venues", compute)

    def select(self, target: Target, *, active_only: bool) -> list[_VenueRow]:
        return [
            v for v in self.venues()
            if (not target.venue_kind or v.kind == target.venue_kind)
            and (not target.venue_tier or v.tier == target.venue_tier)
            and (v.is_active or not active_only)
        ]

    def visits(self) -> dict[int, tuple[int, int]]:
        """{venue: (visits this year up to today, visits of the previous year's same period)}:
        whole months from VisitMonth, the days of a month not over yet from VisitCount."""
        return self._visit_totals()[0]

    def visits_in(self, year: int) -> dict[int, int]:
        """{venue: visits} in an earlier `year` over the same period as visits() (1/1 up to
        today's date in that year while this year runs, else the whole year)."""

        def compute():
            last = _same_day(min(dt.date(self.year, 12, 31), self.today), year)
            (found,) = _ranges_visits(self.q("venue__"), [(dt.date(year, 1, 1), last)], ["venue"])
            return {key[0]: n for key, n in found.items()}

        return self._memo(("visits_in", year), compute)

    def admitting_by_qr(self) -> set[int]:
        """Venues with visitors checked in by QR this year up to today (checked_in > 0): read
        with the visits, in the same queries."""
        return self._visit_totals()[1]

    def _visit_totals(self) -> tuple[dict[int, tuple[int, int]], set[int]]:
        def compute():
            first = dt.date(self.year, 1, 1)
            last = min(dt.date(self.year, 12, 31), self.today)
            prev_last = _same_day(last, self.year - 1)
            (cur, prev), (checked_in, _prev_checked_in) = _ranges_visits(
                self.q("venue__"), [(first, last), (first.replace(year=self.year - 1), prev_last)], ["venue"],
                checked_in=True,
            )
            visits = {key[0]: (cur.get(key, 0), prev.get(key, 0)) for key in cur.keys() | prev.keys()}
            return visits, {key[0] for key, n in checked_in.items() if n > 0}

        return self._memo("visits", compute)

    def _held(self) -> Q:
        return Q(cancelled=False, programme__status=Programme.Status.PUBLISHED)

    def _dates(self) -> tuple[dict[str, dict[int, tuple[int, int]]], set[int]]:
        """One grouped query on Occurrence (index venue, start) over the dates of the year
        before the cutoff, by venue and category: held dates and distinct programmes held, and
        whether the venue took registrations through the system (a date of a programme with
        registration required and seats taken, held or not)."""

        def compute():
            held = self._held()
            rows = (
                Occurrence.objects.filter(self.q("venue__"), start__gte=self.year_start, start__lt=self.cutoff)
                .values("venue", "programme__category")
                .annotate(
                    dates=Count("programme", filter=held),  # programme: never null, in the index
                    programmes=Count("programme", distinct=True, filter=held),
                    registered=Count(
                        "programme", filter=Q(seats_taken__gt=0, programme__registration_required=True)
                    ),
                )
                .order_by()
            )
            found: dict[str, dict[int, tuple[int, int]]] = {}
            registered: set[int] = set()
            for r in rows:
                if r["dates"]:
                    found.setdefault(r["programme__category"], {})[r["venue"]] = (r["dates"], r["programmes"])
                if r["registered"]:
                    registered.add(r["venue"])
            return found, registered

        return self._memo("dates", compute)

    def held(self) -> dict[str, dict[int, tuple[int, int]]]:
        """{category: {venue: (held occurrences, distinct programmes held)}} in the year, shared
        by the lifelong-learning share and the ACTIVITIES targets without commemorative days."""
        return self._dates()[0]

    def lifelong_learning(self) -> dict[int, int]:
        """{venue: held lifelong-learning occurrences in the year}."""
        counts: dict[int, int] = defaultdict(int)
        for category in LIFELONG_LEARNING_CATEGORIES:
            for venue, (dates, _programmes) in self.held().get(category, {}).items():
                counts[venue] += dates
        return dict(counts)

    def digital(self) -> set[int]:
        """Venues that took registrations through the system or admitted by QR in the year."""
        return self._dates()[1] | self.admitting_by_qr()

    def activities(self, target: Target, days) -> dict[int, int]:
        """{venue: distinct programmes of the target's category held in the year}. Without
        commemorative days from `held()` (shared by every target of the place); kind and tier
        are applied by the caller (`select`)."""
        if not days:
            return {venue: programmes for venue, (_dates, programmes) in self.held().get(target.category, {}).items()}
        qs = Occurrence.objects.filter(
            self.q("venue__"), self._held(), start__gte=self.year_start, start__lt=self.cutoff,
            programme__category=target.category,
        )
        on_days = Q(programme__commemorative_day__in=[d.slug for d in days])
        for d in days:
            first, last = d.dates_in(self.year)
            on_days |= Q(
                start__lt=local_datetime(last + dt.timedelta(days=1), dt.time()),
                end__gt=local_datetime(first, dt.time()),
            )
        rows = qs.filter(on_days).values("venue").annotate(n=Count("programme", distinct=True)).order_by()
        return {r["venue"]: r["n"] for r in rows}


# -- evaluation ----------------------------------------------------------------------------


def _dec(x) -> Decimal:
    return Decimal(x).quantize(_CENT, rounding=ROUND_HALF_UP)


def _percent(part, whole) -> Decimal:
    return _dec(Decimal(part) * 100 / Decimal(whole))


def _by_ratio(measured: Decimal, expected: Decimal) -> str:
    if expected <= 0:
        return Status.ON_TRACK if measured >= expected else Status.BEHIND
    ratio = Decimal(measured) / Decimal(expected)
    if ratio >= PACE_ON_TRACK:
        return Status.ON_TRACK
    if ratio >= PACE_AT_RISK:
        return Status.AT_RISK
    return Status.BEHIND


def _status(measured: Decimal, target_value: Decimal, *, finished: bool, fraction: Decimal | None) -> str:
    """fraction: the share of the period elapsed for cumulative indicators, None to compare directly."""
    if finished:
        return Status.MET if measured >= target_value else Status.NOT_MET
    expected = target_value * fraction if fraction is not None else target_value
    return _by_ratio(Decimal(measured), Decimal(expected))


def _worst(statuses: Iterable[str], *, finished: bool) -> str:
    statuses = set(statuses)
    if finished:
        return Status.NOT_MET if Status.NOT_MET in statuses else Status.MET
    for s in (Status.BEHIND, Status.AT_RISK):
        if s in statuses:
            return s
    return Status.ON_TRACK


def current_manual_value(target: Target) -> ManualValue | None:
    """The latest value entered by hand (prefetched as `current_manual_values` by unit_results)."""
    if hasattr(target, "current_manual_values"):
        return target.current_manual_values[0] if target.current_manual_values else None
    return target.manual_values.filter(superseded_at__isnull=True).first()


def _days(target: Target):
    # Prefetched by unit_results; one query otherwise.
    return list(target.commemorative_days.all()) if target.pk else []


def _fraction(target: Target, year: int, today: dt.date, days) -> Decimal:
    if target.indicator == Indicator.ACTIVITIES and days:
        begun = sum(1 for d in days if d.dates_in(year)[0] <= today)
        return Decimal(begun) / Decimal(len(days))
    return Decimal(str(year_fraction_elapsed(year, today)))


def _evaluate(target: Target, m: _Measures, *, today: dt.date) -> Result:
    indicator = target.indicator
    year = target.year
    value = Decimal(target.value)
    if year > today.year:
        return Result(target, indicator, None, Status.NO_DATA, {"reason": "future"})
    finished = year < today.year

    if indicator == Indicator.MANUAL:
        entry = current_manual_value(target)
        if entry is None:
            return Result(target, indicator, None, Status.NO_DATA, {"reason": "not_entered"})
        return Result(
            target, indicator, _dec(entry.value),
            _status(Decimal(entry.value), value, finished=finished, fraction=None),
            {"entered_at": entry.entered_at, "entered_by_id": entry.entered_by_id, "note": entry.note},
        )

    if indicator in SHARE_INDICATORS:
        venues = m.select(target, active_only=True)
        if not venues:
            return Result(target, indicator, None, Status.NO_DATA, {"reason": "no_venues", "denominator": 0})
        if indicator == Indicator.LIFELONG_LEARNING_SHARE:
            counts = m.lifelong_learning()
            minimum = settings.LIFELONG_LEARNING_MIN_OCCURRENCES
            providing = [v.pk for v in venues if counts.get(v.pk, 0) >= minimum]
            extra = {"min_occurrences": minimum, "occurrences": {v.pk: counts.get(v.pk, 0) for v in venues}}
        else:
            digital = m.digital()
            providing = [v.pk for v in venues if v.pk in digital]
            extra = {}
        share = _percent(len(providing), len(venues))
        detail = {"numerator": len(providing), "denominator": len(venues), "venue_ids": providing, **extra}
        return Result(target, indicator, share, _status(share, value, finished=finished, fraction=None), detail)

    if indicator == Indicator.VISITS_GROWTH:
        visits = m.visits()
        venues = m.select(target, active_only=False)
        cur = sum(visits.get(v.pk, (0, 0))[0] for v in venues)
        if target.base_year and target.base_year < year - 1:
            base_visits = m.visits_in(target.base_year)
            base = sum(base_visits.get(v.pk, 0) for v in venues)
            years = year - target.base_year
            detail = {
                "visits": cur, "base_year": target.base_year, "base_visits": base, "years": years,
                "like_for_like": not finished,
            }
            if not base:
                return Result(target, indicator, None, Status.NO_DATA, {**detail, "reason": "no_base_visits"})
            growth = _dec(100 * ((cur / base) ** (1 / years) - 1))
            return Result(target, indicator, growth, _status(growth, value, finished=finished, fraction=None), detail)
        prev = sum(visits.get(v.pk, (0, 0))[1] for v in venues)
        detail = {"visits": cur, "previous_visits": prev, "like_for_like": not finished}
        if not prev:
            return Result(target, indicator, None, Status.NO_DATA, {**detail, "reason": "no_previous_visits"})
        growth = _percent(cur - prev, prev)
        return Result(target, indicator, growth, _status(growth, value, finished=finished, fraction=None), detail)

    if indicator in CUMULATIVE_INDICATORS:
        days = _days(target) if indicator == Indicator.ACTIVITIES else []
        fraction = None if finished else _fraction(target, year, today, days)
        if indicator == Indicator.VISITS:
            visits = m.visits()
            per = {pk: cur for pk, (cur, _prev) in visits.items()}
        else:
            per = m.activities(target, days)
        if target.per_venue:
            venues = m.select(target, active_only=True)
            if not venues:
                return Result(target, indicator, None, Status.NO_DATA, {"reason": "no_venues", "per_venue": True})
            rows = []
            for v in venues:
                measured = per.get(v.pk, 0)
                rows.append({
                    "venue_id": v.pk, "name": v.name, "value": measured,
                    "status": _status(Decimal(measured), value, finished=finished, fraction=fraction),
                })
            good = {Status.MET, Status.ON_TRACK}
            meeting = sum(1 for r in rows if r["status"] in good)
            detail = {
                "per_venue": True, "venues": rows, "numerator": meeting, "denominator": len(rows),
                "total": sum(r["value"] for r in rows),
            }
            if fraction is not None:
                detail["expected_so_far"] = _dec(value * fraction)
            return Result(
                target, indicator, _percent(meeting, len(rows)),
                _worst((r["status"] for r in rows), finished=finished), detail,
            )
        venues = m.select(target, active_only=False)
        total = sum(per.get(v.pk, 0) for v in venues)
        detail = {"by_venue": {v.pk: per.get(v.pk, 0) for v in venues if per.get(v.pk, 0)}}
        if fraction is not None:
            detail["expected_so_far"] = _dec(value * fraction)
        return Result(
            target, indicator, Decimal(total), _status(Decimal(total), value, finished=finished, fraction=fraction),
            detail,
        )

    return Result(target, indicator, None, Status.NO_DATA, {"reason": "unknown_indicator"})


def _now_for(today: dt.date | None) -> tuple[dt.date, dt.datetime]:
    if today is None:
        now = timezone.now()
        return timezone.localdate(now), now
    return today, local_datetime(today + dt.timedelta(days=1), dt.time())


def _measures_for(target: Target, year: int, today, now, within: AdminUnit | None) -> _Measures:
    if target.venue_id:
        return _Measures(unit=None, venue_id=target.venue_id, year=year, today=today, now=now)
    return _Measures(unit=within or target.admin_unit, venue_id=None, year=year, today=today, now=now)


def evaluate(target: Target, *, today: dt.date | None = None, within: AdminUnit | None = None) -> Result:
    """The result of one target, over its set (narrowed to `within` when given)."""
    today, now = _now_for(today)
    m = _measures_for(target, target.year, today, now, within)
    return _evaluate(target, m, today=today)


def unit_results(unit: AdminUnit, year: int, *, today: dt.date | None = None) -> list[Result]:
    """Results of every target of `unit` and `year` (targets_for_unit), measured from
    venue-level totals read once per place: 3 queries for the targets; per place the venues,
    visits and QR admissions (VisitMonth, plus VisitCount for this month's and last year's
    same days in the current year), and the year's dates by category (held dates for lifelong
    learning and ACTIVITIES, registrations taken for digital use); one more per ACTIVITIES
    target with commemorative days — whatever the number of venues (bench.national times it)."""
    return results_for_targets(unit_targets(unit, year), unit=unit, today=today)


def unit_targets(unit: AdminUnit, year: int) -> list[Target]:
    """`targets_for_unit` with what evaluating them needs prefetched (3 queries)."""
    return list(
        targets_for_unit(unit, year).prefetch_related(
            "commemorative_days",
            Prefetch(
                "manual_values",
                queryset=ManualValue.objects.filter(superseded_at__isnull=True),
                to_attr="current_manual_values",
            ),
        )
    )


def results_for_targets(targets: Iterable[Target], *, unit: AdminUnit, today: dt.date | None = None) -> list[Result]:
    """Results of `targets` (saved or unsaved copies, of any years) shown for `unit`, sharing the
    venue-level totals between targets of the same place and year (see `unit_results`)."""
    today, now = _now_for(today)
    measures: dict[tuple, _Measures] = {}
    results = []
    for target in targets:
        # A province's target shown for one of its communes is measured over that commune.
        within = unit if (
            unit.level == AdminUnit.Level.COMMUNE and target.admin_unit_id not in (None, unit.pk)
        ) else None
        place = ("venue", target.venue_id) if target.venue_id else ("unit", (within or target.admin_unit).pk)
        key = (*place, target.year)
        if key not in measures:
            measures[key] = _measures_for(target, target.year, today, now, within)
        results.append(_evaluate(target, measures[key], today=today))
    return results


@dataclass
class VenueYear:
    """What the indicators measured of one venue in a year (for the report's venue sheets)."""

    lifelong_learning_dates: int  # held dates of the lifelong-learning categories
    programmes_held: int  # distinct programmes with a date held, any category
    digital: bool  # took registrations through the system or admitted by QR


def venue_year_measures(unit: AdminUnit, year: int, *, today: dt.date | None = None) -> dict[int, VenueYear]:
    """{venue id: VenueYear} for every venue of `unit`, measured exactly as the
    LIFELONG_LEARNING_SHARE, ACTIVITIES and DIGITAL_SHARE indicators measure them,
    in the same few grouped queries whatever the number of venues."""
    today, now = _now_for(today)
    m = _Measures(unit=unit, venue_id=None, year=year, today=today, now=now)
    lifelong, digital = m.lifelong_learning(), m.digital()
    programmes: dict[int, int] = defaultdict(int)
    for by_venue in m.held().values():
        for venue_id, (_dates, held) in by_venue.items():
            programmes[venue_id] += held  # a programme has one category: the sum is distinct programmes
    return {
        v.pk: VenueYear(lifelong.get(v.pk, 0), programmes.get(v.pk, 0), v.pk in digital) for v in m.venues()
    }


# A per-venue target of the smallest set containing the venue applies first.
_UNIT_LEVEL_RANK = {AdminUnit.Level.COMMUNE: 0, AdminUnit.Level.GROUP: 1, AdminUnit.Level.PROVINCE: 2}


def venue_visits_targets(venues: Iterable[Venue], year: int) -> dict[int, Target]:
    """{venue id: the visits target applying to it}, in two queries for any number of venues.

    A venue's own target (the newest) comes first; else the per-venue VISITS target of
    the smallest set containing it (commune, reporting group, then province), one naming
    both kind and tier before one naming fewer, the newest last. Venues need `admin_unit`
    loaded (select_related) to avoid a query each."""
    venues = list(venues)
    if not venues:
        return {}
    units = {v.admin_unit_id for v in venues}
    parents = {v.admin_unit.parent_id for v in venues if v.admin_unit.parent_id}
    groups: dict[int, set[int]] = defaultdict(set)  # commune id -> ids of the reporting groups listing it
    for group_id, commune_id in AdminUnit.members.through.objects.filter(to_adminunit_id__in=units).values_list(
        "from_adminunit_id", "to_adminunit_id"
    ):
        groups[commune_id].add(group_id)
    candidates = (
        Target.objects.filter(year=year, indicator=Indicator.VISITS)
        .filter(
            Q(venue_id__in=[v.pk for v in venues])
            | Q(venue__isnull=True, per_venue=True, admin_unit_id__in=units | parents | set().union(*groups.values()))
        )
        .select_related("admin_unit")
        .order_by("-pk")
    )
    own: dict[int, Target] = {}
    sets: list[Target] = []
    for target in candidates:
        if target.venue_id:
            own.setdefault(target.venue_id, target)
        else:
            sets.append(target)
    found: dict[int, Target] = {}
    for venue in venues:
        if venue.pk in own:
            found[venue.pk] = own[venue.pk]
            continue
        scope = {venue.admin_unit_id, venue.admin_unit.parent_id} | groups.get(venue.admin_unit_id, set())
        applying = [
            t for t in sets
            if t.admin_unit_id in scope and t.venue_kind in ("", venue.kind) and t.venue_tier in ("", venue.tier)
        ]
        if applying:
            found[venue.pk] = min(
                applying,
                key=lambda t: (_UNIT_LEVEL_RANK.get(t.admin_unit.level, 3), not (t.venue_kind and t.venue_tier), -t.pk),
            )
    return found


def venue_visits_target(venue: Venue, year: int) -> Target | None:
    """The visits target applying to one venue (see `venue_visits_targets`)."""
    return venue_visits_targets([venue], year).get(venue.pk)


# -- reads for dashboards and the report -------------------------------------------------------


def _visit_filter(unit_or_venue_ids) -> Q:
    if isinstance(unit_or_venue_ids, Q):
        return unit_or_venue_ids
    if isinstance(unit_or_venue_ids, AdminUnit):
        return Q(venue__in=Venue.objects.filter(venues_in_unit_q(unit_or_venue_ids)).values("pk"))
    return Q(venue_id__in=list(unit_or_venue_ids))


def _same_day(day: dt.date, year: int) -> dt.date:
    """`day` moved to `year` (29/2 becomes 28/2)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_split(first: dt.date, last: dt.date) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """Days `first`..`last` (inclusive) as whole months — (first month, month after the last),
    half-open on VisitMonth.month, or None — and the days left over, at most two spans at
    the edges (inclusive, on VisitCount.day)."""
    if last < first:
        return None, []
    start = first if first.day == 1 else _next_month(first)  # first whole month
    after = last + dt.timedelta(days=1)
    stop = after if after.day == 1 else after.replace(day=1)  # month after the last whole one
    if start >= stop:
        return None, [(first, last)]
    days = []
    if first < start:
        days.append((first, start - dt.timedelta(days=1)))
    if stop <= last:
        days.append((stop, last))
    return (start, stop), days


def _ranges_visits(
    where: Q, ranges: list[tuple[dt.date, dt.date]], keys: list[str], *, checked_in: bool = False
) -> list[dict[tuple, int]] | tuple[list[dict[tuple, int]], list[dict[tuple, int]]]:
    """Visits within each (first, last) date range, grouped by `keys` (fields present on both
    VisitMonth and VisitCount, e.g. "venue", "category", "audience"): whole months are read
    from VisitMonth, the days of months not wholly inside a range (the current month of the
    current year, the same days a year before) from VisitCount, one query per span of days.
    A range of whole months (a finished year) reads no VisitCount row. With `checked_in`, also
    the visitors admitted by QR within each range, from the same rows: (visits, checked_in)."""
    found: list[dict[tuple, int]] = [defaultdict(int) for _ in ranges]
    scanned: list[dict[tuple, int]] = [defaultdict(int) for _ in ranges]
    months, days, hull = [], [], None
    for index, (first, last) in enumerate(ranges):
        whole, rest = month_split(first, last)
        if whole:
            months.append((index, Q(month__gte=whole[0], month__lt=whole[1])))
            hull = (min(hull[0], whole[0]), max(hull[1], whole[1])) if hull else whole
        days.extend((index, Q(day__gte=a, day__lte=b)) for a, b in rest)
    # Months: one query, a conditional sum per range (a venue has a few rows a month). Days:
    # one query per span, so that each is an index range on (venue, day) — an OR of two
    # spans made PostgreSQL read every day of each venue.
    queries = [(VisitMonth, months)] if months else []
    queries += [(VisitCount, [part]) for part in days]
    for model, parts in queries:
        span = Q()
        for _index, q in parts:
            span |= q
        if model is VisitMonth and len(parts) > 1:
            # All the ranges' months as one span too: an index range on (venue, month), where
            # the OR alone made PostgreSQL read every month of each venue.
            span &= Q(month__gte=hull[0], month__lt=hull[1])
        sums = {f"n{i}": Sum(_VISITS, filter=q) for i, (_index, q) in enumerate(parts)}
        if checked_in:
            sums.update({f"c{i}": Sum("checked_in", filter=q) for i, (_index, q) in enumerate(parts)})
        qs = model.objects.filter(where, span)
        rows = qs.values(*keys).annotate(**sums).order_by() if keys else [qs.aggregate(**sums)]
        for row in rows:
            key = tuple(row[k] for k in keys)
            for i, (index, _q) in enumerate(parts):
                found[index][key] += row[f"n{i}"] or 0
                if checked_in:
                    scanned[index][key] += row[f"c{i}"] or 0
    if checked_in:
        return [dict(f) for f in found], [dict(c) for c in scanned]
    return [dict(f) for f in found]


def _year_months(year: int) -> Q:
    return Q(month__gte=dt.date(year, 1, 1), month__lte=dt.date(year, 12, 1))


def venue_year_visits(venue_ids: Iterable[int], year: int) -> dict[int, int]:
    """{venue_id: visits in `year`} in one query on VisitMonth; venues without visits are absent."""
    rows = (
        VisitMonth.objects.filter(_year_months(year), venue_id__in=list(venue_ids))
        .values("venue")
        .annotate(n=Sum(_VISITS))
        .order_by()
    )
    return {r["venue"]: r["n"] or 0 for r in rows}


def unit_year_visits(unit_or_venue_ids, year: int, *, until: dt.date | None = None) -> int:
    """Total visits in `year` (up to `until` inclusive) at a unit's venues or the given venues:
    one VisitMonth query, plus one on VisitCount for the days of a month `until` cuts."""
    last = dt.date(year, 12, 31) if until is None else min(until, dt.date(year, 12, 31))
    (totals,) = _ranges_visits(_visit_filter(unit_or_venue_ids), [(dt.date(year, 1, 1), last)], [])
    return totals.get((), 0)


def unit_visits_by_month(unit_or_venue_ids, year: int) -> list[int]:
    """Visits of each month (January first) of `year` at a unit's venues or the given venues
    (one query on VisitMonth)."""
    months = [0] * 12
    rows = (
        VisitMonth.objects.filter(_visit_filter(unit_or_venue_ids), _year_months(year))
        .values("month")
        .annotate(n=Sum(_VISITS))
        .order_by()
    )
    for r in rows:
        months[r["month"].month - 1] += r["n"] or 0
    return months


def visits_by_category(unit_or_venue_ids, year: int) -> dict[str, int]:
    """Visits of `year` by activity category ("" for visits not tied to a date), one query on
    VisitMonth."""
    rows = (
        VisitMonth.objects.filter(_visit_filter(unit_or_venue_ids), _year_months(year))
        .values("category")
        .annotate(n=Sum(_VISITS))
        .order_by()
    )
    found: dict[str, int] = defaultdict(int)
    for r in rows:
        found[r["category"]] += r["n"] or 0
    return dict(found)
