"""Year, month and category figures are read from the monthly kept totals (VisitMonth), not from
every day of every venue (VisitCount): the province dashboard and the indicators read
VisitCount only for the days of a month not over yet (the current month of the current year
and the same days a year before)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attendance.models import VisitCount, VisitMonth
from attendance.totals import visits_add
from targets import dashboards, indicators, report, views
from targets.indicators import Status, month_split
from targets.models import Indicator, Target
from tests.factories import make_venue

TODAY = dt.date(2025, 7, 2)  # the current year in these tests: July has begun


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(views, "_today", lambda: TODAY)


def target(unit, **fields):
    fields.setdefault("source_document", "Kế hoạch thử nghiệm")
    return Target.objects.create(admin_unit=unit, **fields)


@pytest.fixture
def known(province, commune, venue):
    """Two venues of the province with visits in 2023–2025, and its targets for 2024 and 2025."""
    museum = make_venue(admin_unit=commune, name="Bảo tàng tỉnh", kind="museum")
    for year in (2023, 2024):
        visits_add(venue_id=venue.pk, day=dt.date(year, 1, 15), walk_ins=100)
        visits_add(venue_id=venue.pk, day=dt.date(year, 7, 1), checked_in=10)  # before 2/7: like for like
        visits_add(venue_id=venue.pk, day=dt.date(year, 7, 3), walk_ins=40)  # after 2/7
        visits_add(venue_id=museum.pk, day=dt.date(year, 12, 31), audience="adults", manual=50)
    visits_add(venue_id=venue.pk, day=dt.date(2024, 3, 1), walk_ins=25)  # 2024 only
    visits_add(venue_id=venue.pk, day=dt.date(2025, 2, 10), walk_ins=200)
    visits_add(venue_id=venue.pk, day=dt.date(2025, 7, 2), walk_ins=30)  # today
    visits_add(venue_id=museum.pk, day=dt.date(2025, 7, 1), checked_in=5)
    for year in (2024, 2025):
        target(province, year=year, indicator=Indicator.VISITS, value=400)
        target(province, year=year, indicator=Indicator.VISITS_GROWTH, value=10)
        target(province, year=year, indicator=Indicator.DIGITAL_SHARE, value=50)
    return {"library": venue, "museum": museum}


def by_indicator(results):
    return {r.indicator: r for r in results}


def month_split_cases():
    return [
        # a whole year: twelve months, no day
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), (dt.date(2025, 1, 1), dt.date(2026, 1, 1)), []),
        # the current year up to 2/7: January–June, then 1–2 July
        (dt.date(2025, 1, 1), dt.date(2025, 7, 2), (dt.date(2025, 1, 1), dt.date(2025, 7, 1)),
         [(dt.date(2025, 7, 1), dt.date(2025, 7, 2))]),
        # up to the last day of a month: whole months only
        (dt.date(2024, 1, 1), dt.date(2024, 2, 29), (dt.date(2024, 1, 1), dt.date(2024, 3, 1)), []),
        # within one month
        (dt.date(2025, 7, 1), dt.date(2025, 7, 2), None, [(dt.date(2025, 7, 1), dt.date(2025, 7, 2))]),
        # both edges cut
        (dt.date(2025, 1, 5), dt.date(2025, 3, 10), (dt.date(2025, 2, 1), dt.date(2025, 3, 1)),
         [(dt.date(2025, 1, 5), dt.date(2025, 1, 31)), (dt.date(2025, 3, 1), dt.date(2025, 3, 10))]),
        # empty
        (dt.date(2025, 1, 2), dt.date(2025, 1, 1), None, []),
    ]


@pytest.mark.parametrize(("first", "last", "months", "days"), month_split_cases())
def test_month_split(first, last, months, days):
    """Given a date range, when it is split, then whole months go to VisitMonth and exactly the
    other days to VisitCount."""
    assert month_split(first, last) == (months, days)


@pytest.mark.django_db
def test_finished_year_reads_no_day_rows(client, officer, province, known):
    """Given a finished year (2024), when the province page (with the previous year) and
    unit_results are computed, then no query reads VisitCount, and the figures are the known ones."""
    client.force_login(officer)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": 2024, "compare": 1})
        results = by_indicator(indicators.unit_results(province, 2024, today=TODAY))
    assert response.status_code == 200
    assert not [q["sql"] for q in ctx.captured_queries if "attendance_visitcount" in q["sql"]]
    d = response.context["d"]
    assert (d.visits, d.previous_visits) == (225, 200)  # 100 + 10 + 40 + 50 + 25; 2023: 200
    assert [m["visits"] for m in d.months][:3] == [100, 0, 25]
    assert {row.venue.pk: row.visits for row in d.venues} == {known["library"].pk: 175, known["museum"].pk: 50}
    assert results[Indicator.VISITS].value == 225 and results[Indicator.VISITS].status == Status.NOT_MET  # < 400
    assert results[Indicator.VISITS_GROWTH].value == Decimal("12.50")
    assert results[Indicator.DIGITAL_SHARE].value == Decimal("50.00")  # the library scanned tickets


@pytest.mark.django_db
def test_current_year_reads_day_rows_of_the_current_month_only(client, officer, province, known):
    """Given the current year (today 2/7/2025), when the province page and unit_results are
    computed, then VisitCount is read only for July's days (this year's and last year's), and
    growth compares 1/1–2/7 with 1/1–2/7/2024, leaving out 3/7/2024."""
    client.force_login(officer)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("targets:unit_dashboard", args=[province.code]), {"compare": 1})
        results = by_indicator(indicators.unit_results(province, 2025, today=TODAY))
    assert response.status_code == 200
    day_queries = [q["sql"] for q in ctx.captured_queries if "attendance_visitcount" in q["sql"]]
    assert day_queries
    for sql in day_queries:
        assert "2025-07-01" in sql or "2024-07-01" in sql, sql
        assert "2025-06" not in sql and "2025-01-01" not in sql, sql
    growth = results[Indicator.VISITS_GROWTH]
    # 2025 so far: 200 + 30 + 5 = 235; 2024 to 2/7: 100 + 25 + 10 = 135
    assert (growth.detail["visits"], growth.detail["previous_visits"]) == (235, 135)
    assert growth.value == Decimal("74.07")
    assert results[Indicator.DIGITAL_SHARE].detail["venue_ids"] == [known["museum"].pk]  # scanned on 1/7
    assert response.context["d"].visits == 235


@pytest.mark.django_db
def test_whole_months_come_from_month_rows(province, known):
    """Given the day rows of every month before July deleted (their month rows kept), when the
    figures are read again, then they are unchanged: whole months are read from VisitMonth."""
    library, museum = known["library"], known["museum"]

    def figures():
        return {
            "results": [(r.indicator, r.value, r.status) for r in indicators.unit_results(province, 2025, today=TODAY)],
            "previous": [(r.indicator, r.value, r.status) for r in indicators.unit_results(province, 2024, today=TODAY)],
            "by_month": indicators.unit_visits_by_month(province, 2024),
            "by_category": indicators.visits_by_category(province, 2024),
            "venues": indicators.venue_year_visits([library.pk, museum.pk], 2024),
            "until": indicators.unit_year_visits(province, 2024, until=dt.date(2024, 7, 2)),
            "totals": report.unit_visit_totals(province, 2024),
            "venue_page": dashboards.venue_dashboard(library, 2025, today=TODAY).forecast.value,
        }

    before = figures()
    assert before["venues"] == {library.pk: 175, museum.pk: 50}
    assert before["until"] == 135
    VisitCount.objects.exclude(day__month=7).delete()
    assert VisitMonth.objects.filter(month__month__lt=7).exists()
    assert figures() == before


@pytest.mark.django_db
def test_province_page_queries_do_not_grow_with_venues(client, officer, province, commune, known):
    """Given the province page with the previous year, when ten more venues with visits are added,
    then it costs the same number of queries."""
    client.force_login(officer)
    url = reverse("targets:unit_dashboard", args=[province.code])
    with CaptureQueriesContext(connection) as first:
        client.get(url, {"compare": 1})
    for n in range(10):
        extra = make_venue(admin_unit=commune, name=f"Nhà văn hoá {n}", kind="culture_centre")
        visits_add(venue_id=extra.pk, day=dt.date(2025, 3, 1), walk_ins=n + 1)
    with CaptureQueriesContext(connection) as second:
        client.get(url, {"compare": 1})
    assert len(second.captured_queries) == len(first.captured_queries)
