"""What the staff dashboards show, computed from kept totals.

Reads `attendance.VisitMonth` (visits by venue, month, category and audience) for
every year and month figure, `attendance.VisitCount` (by day and date) only where
one venue's days or dates are needed (its top programmes, no-shows, audiences, the
previous year's days of the current month for the forecast), `events.Occurrence`
(seats taken) and `targets.indicators` (targets and their results); never raw
check-in rows. Every query is an aggregate grouped by
venue and/or month, so a page costs a fixed number of queries whatever the
number of venues in the unit.

Forecast to 31/12 (current year only):
- *same period last year* when the venue recorded visits from January of the
  previous year on: this year so far × (last year's total ÷ last year's visits
  up to the same day). This follows the venue's own seasons (Tết, school holidays).
- otherwise *linear*: visits so far ÷ days elapsed × days in the year.
The forecast against the target is on track at ≥ 100 %, at risk at ≥ 85 %,
behind below that: the pace thresholds of `targets.indicators`, so the venue page
and the unit page speak alike.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Min, Sum
from django.urls import reverse
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from attendance.models import VisitCount, VisitMonth, WalkIn
from common.numbers import number_text
from common.timeutil import local_datetime
from events.models import Audience, Occurrence, Programme
from targets import indicators
from targets.indicators import Status
from targets.models import PERCENT_INDICATORS, Indicator, Target
from targets.texts import no_data_reason, status_label
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

# Forecast ÷ target at or above which the year is on track / at risk; below: behind.
ON_TRACK_RATIO = float(indicators.PACE_ON_TRACK)
AT_RISK_RATIO = float(indicators.PACE_AT_RISK)
TOP_PROGRAMMES = 10
# Audience key for visits whose audience nobody recorded.
NOT_RECORDED = ""

VISITS = F("checked_in") + F("walk_ins") + F("manual")

STATUS_CLASSES = {
    Status.MET: "ok",
    Status.ON_TRACK: "ok",
    Status.AT_RISK: "warn",
    Status.NOT_MET: "bad",
    Status.BEHIND: "bad",
    Status.NO_DATA: "",
}


# -- formatting (common.numbers: 15.000 in Vietnamese) ----------


def fmt_percent(value, decimals: int = 0) -> str:
    return "—" if value is None else f"{number_text(value, decimals)} %"


# -- years and days ------------------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """1 January of `year` and of the next year (half-open)."""
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def days_in_year(year: int) -> int:
    start, end = year_bounds(year)
    return (end - start).days


def same_day_in(year: int, day: dt.date) -> dt.date:
    """`day` moved to `year` (29/2 becomes 28/2)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def month_label(month: int) -> str:
    return str(MONTHS[month])


# -- visits targets of many venues at once ------------------------------------------------

# -- forecast ------------------------------------------------------------------------


@dataclass
class Forecast:
    value: int | None  # visits expected by 31/12 (the final count for a finished year)
    method: str  # "previous_year", "linear", "actual" or "" (year not started)
    status: str | None  # a Status, or None without a target
    ratio: float | None  # forecast ÷ target
    needed: int | None  # visits still needed to reach the target
    needed_per_week: int | None
    remaining_days: int

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES.get(self.status, "")

    @property
    def value_display(self) -> str:
        return number_text(self.value)

    @property
    def ratio_display(self) -> str:
        return fmt_percent(100 * self.ratio if self.ratio is not None else None)

    @property
    def needed_display(self) -> str:
        return number_text(self.needed)

    @property
    def needed_per_week_display(self) -> str:
        return number_text(self.needed_per_week)

    @property
    def remaining_weeks_display(self) -> str:
        return number_text(self.remaining_days / 7, 1)


def classify(ratio: float) -> str:
    if ratio >= ON_TRACK_RATIO:
        return Status.ON_TRACK
    if ratio >= AT_RISK_RATIO:
        return Status.AT_RISK
    return Status.BEHIND


def forecast_year(
    *,
    year: int,
    today: dt.date,
    so_far: int,
    target: Decimal | int | None,
    previous_total: int = 0,
    previous_to_date: int = 0,
    previous_from_january: bool = False,
) -> Forecast:
    """Visits expected by 31/12 and the status against `target` (see the module docstring)."""
    start, end = year_bounds(year)
    target_value = float(target) if target is not None else None
    if today < start:
        return Forecast(None, "", Status.NO_DATA if target_value else None, None, None, None, days_in_year(year))
    if today >= end:
        # The year is over: the count is final.
        status = None
        if target_value:
            status = Status.MET if so_far >= target_value else Status.NOT_MET
        ratio = so_far / target_value if target_value else None
        needed = max(math.ceil(target_value - so_far), 0) if target_value else None
        return Forecast(so_far, "actual", status, ratio, needed, None, 0)
    elapsed = (today - start).days + 1  # today's visits are already counted
    remaining = days_in_year(year) - elapsed
    if previous_from_january and previous_to_date > 0 and previous_total > 0:
        value, method = so_far * previous_total / previous_to_date, "previous_year"
    else:
        value, method = so_far * days_in_year(year) / elapsed, "linear"
    value = int(round(value))
    if not target_value:
        return Forecast(value, method, None, None, None, None, remaining)
    ratio = value / target_value
    needed = max(math.ceil(target_value - so_far), 0)
    per_week = math.ceil(needed / (remaining / 7)) if remaining > 0 else None
    if remaining > 0 and remaining < 7:
        per_week = needed  # less than a week left: all of it this week
    return Forecast(value, method, classify(ratio), ratio, needed, per_week, remaining)


# -- venue dashboard -----------------------------------------------------------------


@dataclass
class MonthRow:
    month: int
    visits: int
    pace: float | None  # the target spread over the year by days
    cumulative: int
    cumulative_pace: float | None
    previous: int  # same month of the previous year

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def visits_display(self) -> str:
        return number_text(self.visits)

    @property
    def pace_display(self) -> str:
        return number_text(self.pace)

    @property
    def cumulative_display(self) -> str:
        return number_text(self.cumulative)

    @property
    def cumulative_pace_display(self) -> str:
        return number_text(self.cumulative_pace)

    @property
    def previous_display(self) -> str:
        return number_text(self.previous)


class VisitsAgainstTarget:
    """Visits and the visits target they are measured against, as shown (a venue's page, a row
    of a unit's ranking). Needs `visits` and `target` (a Target or None)."""

    @property
    def percent(self) -> float | None:
        if not self.target or not self.target.value:
            return None
        return 100 * self.visits / float(self.target.value)

    @property
    def percent_display(self) -> str:
        return fmt_percent(self.percent, 1)

    @property
    def visits_display(self) -> str:
        return number_text(self.visits)

    @property
    def target_display(self) -> str:
        if not self.target:
            return "—"
        return value_display(self.target.indicator, self.target.value, self.target.value_max)


@dataclass
class VenueDashboard(VisitsAgainstTarget):
    venue: Venue
    year: int
    today: dt.date
    target: Target | None
    visits: int
    previous_visits: int
    months: list[MonthRow]
    forecast: Forecast
    no_show: dict
    programmes: list[dict]
    audiences: list[dict] = field(default_factory=list)
    audience_unrecorded_walkins: int = 0
    audience_unrecorded_tickets: int = 0

    @property
    def target_value(self) -> Decimal | None:
        return self.target.value if self.target else None

    @property
    def progress_bar_value(self) -> int:
        return min(int(self.percent or 0), 100)

    @property
    def previous_visits_display(self) -> str:
        return number_text(self.previous_visits)

    @property
    def is_current(self) -> bool:
        return self.year == self.today.year

    @property
    def chart(self) -> dict:
        """Data for static/targets/charts.js (passed through json_script)."""
        datasets = [{"type": "bar", "label": str(_("Visits")), "data": [m.visits for m in self.months]}]
        if self.target:
            datasets.append(
                {"type": "line", "label": str(_("Target pace")), "data": [round(m.pace or 0) for m in self.months]}
            )
        if self.previous_visits:
            datasets.append(
                {"type": "line", "label": str(_("Previous year")), "data": [m.previous for m in self.months],
                 "dashed": True}
            )
        return {"labels": [m.label for m in self.months], "datasets": datasets}


def _monthly(venue_ids, year: int, *, by_venue: bool = False, previous: bool = True):
    """Visits per (venue,) year and month over `year` (and the year before, with
    `previous`), in one grouped query on VisitMonth (a few rows per venue and month)."""
    keys = ["venue_id", "month"] if by_venue else ["month"]
    rows = (
        VisitMonth.objects.filter(
            venue_id__in=venue_ids, month__gte=dt.date(year - 1 if previous else year, 1, 1),
            month__lte=dt.date(year, 12, 1),
        )
        .values(*keys)
        .annotate(n=Sum(VISITS))
        .order_by()
    )
    for row in rows:
        row["y"], row["m"] = row["month"].year, row["month"].month
        yield row


def venue_dashboard(venue: Venue, year: int, *, today: dt.date) -> VenueDashboard:
    """Everything the venue dashboard shows, in a fixed number of queries."""
    target = indicators.venue_visits_target(venue, year)
    start, end = year_bounds(year)

    this_year = defaultdict(int)
    last_year = defaultdict(int)
    for row in _monthly([venue.pk], year):
        (this_year if row["y"] == year else last_year)[row["m"]] += row["n"] or 0
    # The previous year's visits up to the same day (for the forecast): its whole months
    # from VisitMonth, the days of the month that day falls in from VisitCount.
    previous_to_date = 0
    if start <= today < end:
        previous_to_date = indicators.unit_year_visits([venue.pk], year - 1, until=same_day_in(year - 1, today))
    visits = sum(this_year.values())
    previous_visits = sum(last_year.values())

    target_value = float(target.value) if target else None
    months, cumulative, cumulative_pace = [], 0, 0.0
    for month in range(1, 13):
        month_days = ((dt.date(year + (month == 12), month % 12 + 1, 1)) - dt.date(year, month, 1)).days
        pace = target_value * month_days / days_in_year(year) if target_value else None
        cumulative += this_year[month]
        cumulative_pace += pace or 0
        months.append(
            MonthRow(month, this_year[month], pace, cumulative, cumulative_pace if pace is not None else None,
                     last_year[month])
        )

    forecast = forecast_year(
        year=year, today=today, so_far=visits, target=target.value if target else None,
        previous_total=previous_visits, previous_to_date=previous_to_date,
        previous_from_january=last_year[1] > 0,
    )
    return VenueDashboard(
        venue=venue, year=year, today=today, target=target, visits=visits, previous_visits=previous_visits,
        months=months, forecast=forecast, no_show=no_show(venue, year, today=today),
        programmes=top_programmes(venue, start, end, total=visits),
        **_audiences_into({}, venue, start, end, total=visits),
    )


def no_show(venue: Venue, year: int, *, today: dt.date) -> dict:
    """Seats taken on the year's past, not cancelled dates against the tickets checked in
    for those dates (walk-ins and hand-entered attendance are not tickets)."""
    start, end = year_bounds(year)
    now = local_datetime(today, dt.time(0, 0)) if today < end else local_datetime(end, dt.time(0, 0))
    past = Occurrence.objects.filter(
        venue=venue, cancelled=False, start__gte=local_datetime(start, dt.time(0, 0)),
        start__lt=local_datetime(end, dt.time(0, 0)), end__lt=now, seats_taken__gt=0,
    )
    seats = past.aggregate(seats=Sum("seats_taken"), dates=Count("pk"))
    checked_in = (
        VisitCount.objects.filter(occurrence__in=past.values("pk")).aggregate(n=Sum("checked_in"))["n"] or 0
    )
    taken = seats["seats"] or 0
    rate = max(0.0, 100 * (taken - checked_in) / taken) if taken else None
    return {
        "dates": seats["dates"] or 0, "seats": taken, "checked_in": checked_in, "rate": rate,
        "dates_display": number_text(seats["dates"] or 0), "seats_display": number_text(taken),
        "checked_in_display": number_text(checked_in), "rate_display": fmt_percent(rate, 1),
    }


def top_programmes(venue: Venue, start: dt.date, end: dt.date, *, total: int) -> list[dict]:
    rows = list(
        VisitCount.objects.filter(venue=venue, day__gte=start, day__lt=end, programme__isnull=False)
        .values("programme_id")
        .annotate(visits=Sum(VISITS))
        .filter(visits__gt=0)
        .order_by("-visits", "programme_id")[:TOP_PROGRAMMES]
    )
    programmes = Programme.objects.select_related("event").in_bulk([r["programme_id"] for r in rows])
    return [
        {
            "programme": programmes[r["programme_id"]],
            "visits": r["visits"],
            "visits_display": number_text(r["visits"]),
            "share_display": fmt_percent(100 * r["visits"] / total if total else None, 1),
        }
        for r in rows
        if r["programme_id"] in programmes
    ]


def _audience_labels() -> dict[str, str]:
    labels = {code: str(label) for code, label in Audience.Code.choices}
    for code, label in WalkIn.Audience.choices:
        labels.setdefault(code, str(label))
    return labels


def _audiences_into(context: dict, venue: Venue, start: dt.date, end: dt.date, *, total: int) -> dict:
    """Visits by audience.

    Walk-ins and hand-entered attendance carry the audience the door chose (or none).
    A ticket records no audience, so checked-in visits count for the programme's
    audience when the programme has exactly one; otherwise they are "not recorded".
    """
    rows = list(
        VisitCount.objects.filter(venue=venue, day__gte=start, day__lt=end)
        .values("audience", "programme_id")
        .annotate(tickets=Sum("checked_in"), other=Sum(F("walk_ins") + F("manual")))
        .order_by()
    )
    ticket_programmes = {r["programme_id"] for r in rows if not r["audience"] and r["programme_id"] and r["tickets"]}
    single = {}
    if ticket_programmes:
        single = {
            r["programme_id"]: r["code"]
            for r in Programme.audiences.through.objects.filter(programme_id__in=ticket_programmes)
            .values("programme_id")
            .annotate(n=Count("audience_id"), code=Min("audience_id"))
            .filter(n=1)
        }
    by_audience = defaultdict(int)
    unrecorded_walkins = unrecorded_tickets = 0
    for r in rows:
        tickets, other = r["tickets"] or 0, r["other"] or 0
        if r["audience"]:
            by_audience[r["audience"]] += tickets + other
            continue
        unrecorded_walkins += other
        code = single.get(r["programme_id"])
        if code:
            by_audience[code] += tickets
        else:
            unrecorded_tickets += tickets
    labels = _audience_labels()
    def row(code, label, n):
        return {"code": code, "label": label, "visits": n, "visits_display": number_text(n),
                "share_display": fmt_percent(100 * n / total if total else None, 1)}

    audiences = [
        row(code, labels.get(code, code), n)
        for code, n in sorted(by_audience.items(), key=lambda item: (-item[1], item[0]))
        if n
    ]
    unrecorded = unrecorded_walkins + unrecorded_tickets
    if unrecorded:
        audiences.append(row(NOT_RECORDED, str(_("Not recorded")), unrecorded))
    context.update(
        audiences=audiences, audience_unrecorded_walkins=unrecorded_walkins,
        audience_unrecorded_tickets=unrecorded_tickets,
    )
    return context


# -- unit dashboard ------------------------------------------------------------------


@dataclass
class VenueRow(VisitsAgainstTarget):
    venue: Venue
    visits: int
    previous: int
    target: Target | None
    url: str = ""
    kind_label: str = ""
    tier_label: str = ""

    @property
    def previous_display(self) -> str:
        return number_text(self.previous)


@dataclass
class ResultRow:
    result: object  # indicators.Result
    previous: object | None  # the previous year's Result for the same indicator and scope

    @property
    def target(self) -> Target:
        return self.result.target

    @property
    def label(self) -> str:
        return self.target.indicator_label

    @property
    def status_label(self) -> str:
        return status_label(self.result.status)

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES.get(self.result.status, "")

    @property
    def target_display(self) -> str:
        return value_display(self.target.indicator, self.target.value, self.target.value_max)

    @property
    def value_display(self) -> str:
        return _result_display(self.result)

    @property
    def reason_display(self) -> str:
        return no_data_reason(self.result)

    @property
    def count_display(self) -> str:
        """"3 / 6 venues" for shares and per-venue targets."""
        detail = self.result.detail
        if "numerator" in detail and detail.get("denominator"):
            return str(_("%(part)s / %(whole)s venues") % {
                "part": number_text(detail["numerator"]), "whole": number_text(detail["denominator"]),
            })
        return ""

    @property
    def previous_display(self) -> str:
        return _result_display(self.previous) if self.previous else "—"


def _result_display(result) -> str:
    if result.value is None:
        return "—"
    if result.is_percent:
        return fmt_percent(result.value, 1 if Decimal(result.value) % 1 else 0)
    return number_text(result.value)


def value_display(indicator: str, value, value_max=None) -> str:
    percent = indicator in PERCENT_INDICATORS
    decimals = 1 if percent and value is not None and Decimal(value) % 1 else 0
    show = fmt_percent if percent else number_text
    if value_max is not None and value_max != value:
        return f"{number_text(value, decimals)}–{show(value_max, decimals)}"
    return show(value, decimals)


@dataclass
class ResultGroup:
    label: str
    rows: list[ResultRow] = field(default_factory=list)


@dataclass
class UnitDashboard:
    unit: AdminUnit
    year: int
    today: dt.date
    compare: bool
    groups: list[ResultGroup]
    venues: list[VenueRow]
    months: list[dict]
    visits: int
    previous_visits: int

    @property
    def growth(self) -> float | None:
        if not self.previous_visits:
            return None
        return 100 * (self.visits - self.previous_visits) / self.previous_visits

    @property
    def growth_display(self) -> str:
        growth = self.growth
        return "—" if growth is None else ("+" if growth > 0 else "") + fmt_percent(growth, 1)

    @property
    def visits_display(self) -> str:
        return number_text(self.visits)

    @property
    def previous_visits_display(self) -> str:
        return number_text(self.previous_visits)

    @property
    def chart(self) -> dict:
        datasets = [{"type": "bar", "label": str(self.year), "data": [m["visits"] for m in self.months]}]
        if self.compare:
            datasets.append(
                {"type": "line", "label": str(self.year - 1), "data": [m["previous"] for m in self.months],
                 "dashed": True}
            )
        return {"labels": [m["label"] for m in self.months], "datasets": datasets}


def _result_key(target: Target) -> tuple:
    return (
        target.indicator, target.venue_id, target.admin_unit_id, target.venue_kind, target.venue_tier,
        target.per_venue, target.category, target.label, target.base_year,
    )


def _previous_results(unit: AdminUnit, results, *, today: dt.date) -> dict[tuple, object]:
    """The previous year's result of each indicator shown: that year's target with the same
    scope when there was one, else the same target measured over the previous year."""
    if not results:
        return {}
    year = results[0].target.year - 1
    saved = indicators.unit_targets(unit, year)
    keys = {_result_key(t) for t in saved}
    copies = {}
    for result in results:
        target = result.target
        key = _result_key(target)
        if key in keys or key in copies or target.indicator == Indicator.MANUAL:
            continue  # a hand-entered value belongs to its own year's target
        if target.indicator == Indicator.ACTIVITIES and target.commemorative_days.all():
            continue  # its days are a relation of the saved target: not measurable on a copy
        copies[key] = Target(
            venue=target.venue, admin_unit=target.admin_unit, venue_kind=target.venue_kind,
            venue_tier=target.venue_tier, year=year, indicator=target.indicator, value=target.value,
            value_max=target.value_max, per_venue=target.per_venue, category=target.category, label=target.label,
            base_year=target.base_year if target.base_year and target.base_year < year else None,
        )
    # The year's own targets and the copies share each place's totals: a handful of queries
    # whatever their number.
    measured = indicators.results_for_targets([*saved, *copies.values()], unit=unit, today=today)
    found = {_result_key(r.target): r for r in measured[: len(saved)]}
    found.update(zip(copies.keys(), measured[len(saved):]))
    return found


def _group_results(results, previous: dict[tuple, object]) -> list[ResultGroup]:
    tier_order = {code: i for i, (code, _label) in enumerate(Venue.Tier.choices)}
    groups: dict[tuple, ResultGroup] = {}
    for result in results:
        target = result.target
        if target.venue_id:
            key, label = (2, 0), str(_("Single venues"))
        elif target.venue_tier:
            key, label = (1, tier_order.get(target.venue_tier, 99)), str(target.get_venue_tier_display())
        else:
            key, label = (0, 0), str(_("All tiers"))
        group = groups.setdefault(key, ResultGroup(label))
        group.rows.append(ResultRow(result, previous.get(_result_key(target))))
    return [groups[k] for k in sorted(groups)]


def unit_venues(unit: AdminUnit):
    return Venue.objects.filter(venues_in_unit_q(unit)).select_related("admin_unit").distinct().order_by("name")


def unit_dashboard(unit: AdminUnit, year: int, *, today: dt.date, compare: bool = False) -> UnitDashboard:
    """Everything the unit dashboard shows. The number of queries does not grow with
    the number of venues: one grouped query for visits by venue and month, three for
    the venues' targets, plus what `unit_results` costs."""
    venues = list(unit_venues(unit))
    ids = [v.pk for v in venues]
    this_year = defaultdict(int)  # venue -> visits
    last_year = defaultdict(int)
    month_this = defaultdict(int)
    month_last = defaultdict(int)
    if ids:
        for row in _monthly(ids, year, by_venue=True, previous=compare):
            n = row["n"] or 0
            if row["y"] == year:
                this_year[row["venue_id"]] += n
                month_this[row["m"]] += n
            else:
                last_year[row["venue_id"]] += n
                month_last[row["m"]] += n
    targets = indicators.venue_visits_targets(venues, year)
    # Labels translated once, not once per row (get_FOO_display hashes every choice).
    kinds, tiers = dict(Venue.Kind.choices), dict(Venue.Tier.choices)
    rows = [
        VenueRow(
            v, this_year[v.pk], last_year[v.pk], targets.get(v.pk),
            url=reverse("targets:venue_dashboard", args=[v.slug]),
            kind_label=kinds.get(v.kind, v.kind), tier_label=tiers.get(v.tier, v.tier),
        )
        for v in venues
        if v.is_active or this_year[v.pk] or last_year[v.pk]
    ]
    rows.sort(key=lambda r: (-r.visits, r.venue.name))

    results = indicators.unit_results(unit, year, today=today)
    previous = _previous_results(unit, results, today=today) if compare else {}
    groups = _group_results(results, previous)

    months = []
    for m in range(1, 13):
        change = (100 * (month_this[m] - month_last[m]) / month_last[m]) if month_last[m] else None
        months.append({
            "month": m, "label": month_label(m), "visits": month_this[m], "previous": month_last[m],
            "visits_display": number_text(month_this[m]), "previous_display": number_text(month_last[m]),
            "change_display": "—" if change is None else ("+" if change > 0 else "") + fmt_percent(change, 1),
        })
    return UnitDashboard(
        unit=unit, year=year, today=today, compare=compare, groups=groups, venues=rows, months=months,
        visits=sum(month_this.values()), previous_visits=sum(month_last.values()),
    )
