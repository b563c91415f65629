"""Staff dashboards: who may see them, the numbers they show, the year filter and
their cost in queries.

Known numbers are kept totals (VisitCount and VisitMonth rows, through visits_add), on a fixed
"today" (2 July 2025), so every expected figure below can be worked out by hand.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attendance.totals import visits_add
from common.timeutil import local_datetime
from events.models import Occurrence
from targets import dashboards, views
from targets.indicators import Status
from targets.models import Indicator, Target
from tests.access import login_as
from tests.factories import make_commune, make_programme, make_user, make_venue
from venues.models import StaffRole, Venue

TODAY = dt.date(2025, 7, 2)  # day 183 of 365; 182 days (26 weeks) left
YEAR = 2025
ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(views, "_today", lambda: TODAY)


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def visits(venue, day, *, occurrence=None, audience="", checked_in=0, walk_ins=0, manual=0):
    """Kept totals as the services write them: the day row and its month row."""
    visits_add(
        venue_id=venue.pk, day=day, occurrence=occurrence, audience=audience,
        checked_in=checked_in, walk_ins=walk_ins, manual=manual,
    )


def dated(venue, *, title, start, seats, audiences=(), cancelled=False):
    """A programme with one date at `start` (moved there after creation) and `seats` taken."""
    programme = make_programme(venue=venue, title=title, capacity=500)
    programme.audiences.set(audiences)
    occurrence = programme.occurrences.get()
    Occurrence.objects.filter(pk=occurrence.pk).update(
        start=start, end=start + dt.timedelta(hours=1), seats_taken=seats, cancelled=cancelled
    )
    occurrence.refresh_from_db()
    return occurrence


def visits_target(*, value, venue=None, admin_unit=None, year=YEAR, **fields):
    return Target.objects.create(
        venue=venue, admin_unit=admin_unit, year=year, indicator=Indicator.VISITS, value=value,
        source_document="Kế hoạch 123/KH-UBND", **fields,
    )


@pytest.fixture
def season(venue):
    """2025 so far: 2,000 visits (1,900 at the door on 10/1, 35 on date A, 65 on date B);
    2024: 4,000, of which 2,000 by 2 July. Target 10,000."""
    visits(venue, dt.date(2024, 1, 15), walk_ins=1000)
    visits(venue, dt.date(2024, 6, 15), walk_ins=1000)
    visits(venue, dt.date(2024, 10, 15), walk_ins=2000)
    visits(venue, dt.date(2025, 1, 10), audience="children", walk_ins=1500)
    visits(venue, dt.date(2025, 1, 10), walk_ins=400)
    a = dated(venue, title="Đọc sách cùng ông bà", start=local_datetime(dt.date(2025, 3, 5), dt.time(9)), seats=40,
              audiences=["elderly"])
    b = dated(venue, title="Ngày hội đọc sách", start=local_datetime(dt.date(2025, 4, 10), dt.time(9)), seats=100,
              audiences=["children", "adults"])
    visits(venue, dt.date(2025, 3, 5), occurrence=a, checked_in=30)
    visits(venue, dt.date(2025, 3, 5), occurrence=a, audience="adults", walk_ins=5)
    visits(venue, dt.date(2025, 4, 10), occurrence=b, checked_in=65)
    # Not counted for no-shows: a date still to come and a cancelled one.
    dated(venue, title="Sắp tới", start=local_datetime(dt.date(2025, 8, 1), dt.time(9)), seats=50)
    dated(venue, title="Đã huỷ", start=local_datetime(dt.date(2025, 2, 1), dt.time(9)), seats=10, cancelled=True)
    visits_target(venue=venue, value=10000)
    return {"a": a, "b": b}


# -- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected", [("anonymous", 302), ("owner", 200), ("teammate", 403), ("outsider", 404),
                       ("officer", 200), ("citizen", 403)],
)
def test_venue_dashboard_access(client, request, venue, role, expected):
    """Given each kind of user, when they open the venue's dashboard, then managers and the
    officer see it, door staff are refused, another venue's manager is told it does not exist."""
    for name in ROLES[1:]:
        request.getfixturevalue(name)
    response = login_as(client, request, role).get(reverse("targets:venue_dashboard", args=[venue.slug]))
    assert response.status_code == expected
    if expected == 302:
        assert reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "role, expected", [("anonymous", 302), ("owner", 403), ("teammate", 403), ("outsider", 403),
                       ("officer", 200), ("citizen", 403)],
)
def test_unit_dashboard_access(client, request, province, venue, role, expected):
    """Given each kind of user, when they open the province's dashboard, then only its officer sees it."""
    for name in ROLES[1:]:
        request.getfixturevalue(name)
    response = login_as(client, request, role).get(reverse("targets:unit_dashboard", args=[province.code]))
    assert response.status_code == expected


def test_officer_sees_communes_of_the_province_not_other_provinces(client, officer, commune, other_province):
    """Given a province officer, when they open one of its communes and another province,
    then the commune's dashboard shows and the other province is refused."""
    client.force_login(officer)
    assert client.get(reverse("targets:unit_dashboard", args=[commune.code])).status_code == 200
    assert client.get(reverse("targets:unit_dashboard", args=[other_province.code])).status_code == 403


def test_superuser_sees_every_dashboard(client, venue, other_province):
    """Given a superuser, when they open any venue or unit dashboard, then it shows."""
    client.force_login(make_user(username="root", is_superuser=True, is_staff=True))
    assert client.get(reverse("targets:venue_dashboard", args=[venue.slug])).status_code == 200
    assert client.get(reverse("targets:unit_dashboard", args=[other_province.code])).status_code == 200
    home = client.get(reverse("targets:home"))
    assert home.status_code == 200
    assert reverse("targets:unit_dashboard", args=[other_province.code]) in home.content.decode()


def test_unknown_venue_and_unit_are_404(client, officer):
    """Given an officer, when they ask for a venue or unit that does not exist, then 404."""
    client.force_login(officer)
    assert client.get(reverse("targets:venue_dashboard", args=["khong-co"])).status_code == 404
    assert client.get(reverse("targets:unit_dashboard", args=["NOPE"])).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_home_picks_the_dashboard(client, request, venue, province, other_venue, role):
    """Given each kind of user, when they open the dashboards' home, then a manager of one venue
    lands on it, the officer on their province, door staff get a page saying there is none for them."""
    for name in ROLES[1:]:
        request.getfixturevalue(name)
    response = login_as(client, request, role).get(reverse("targets:home"))
    if role == "anonymous":
        assert response.status_code == 302 and reverse("login") in response["Location"]
    elif role == "citizen":
        assert response.status_code == 403
    elif role == "owner":
        assert response["Location"] == reverse("targets:venue_dashboard", args=[venue.slug])
    elif role == "outsider":
        assert response["Location"] == reverse("targets:venue_dashboard", args=[other_venue.slug])
    elif role == "officer":
        assert response["Location"] == reverse("targets:unit_dashboard", args=[province.code])
    else:
        assert response.status_code == 200
        assert "targets:venue_dashboard" not in response.content.decode()
        assert reverse("targets:venue_dashboard", args=[venue.slug]) not in response.content.decode()


def test_home_lists_several_venues(client, venue, commune):
    """Given a manager of two venues, when they open the home, then both are listed to choose from."""
    second = make_venue(admin_unit=commune, name="Bảo tàng Phố Hiến")
    user = make_user(username="two", role=StaffRole.Role.MANAGER, venue=venue)
    StaffRole.objects.create(user=user, role=StaffRole.Role.MANAGER, venue=second)
    client.force_login(user)
    body = client.get(reverse("targets:home")).content.decode()
    assert reverse("targets:venue_dashboard", args=[venue.slug]) in body
    assert reverse("targets:venue_dashboard", args=[second.slug]) in body


# -- the venue dashboard's numbers -------------------------------------------------------


def test_venue_dashboard_numbers(en_client, owner, season):
    """Given 2,000 visits so far against 10,000 and a previous year that had half its visits
    by 2 July, when the owner opens the dashboard, then it shows visits, target, 20 % progress,
    a forecast of 4,000 (behind), 308 a week still needed and a 32.1 % no-show rate."""
    en_client.force_login(owner)
    response = en_client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug]))
    body = response.content.decode()
    d = response.context["d"]
    assert (d.visits, d.previous_visits) == (2000, 4000)
    assert re.search(r'data-testid="visits">2,000<', body)
    assert "10,000" in re.search(r'data-testid="target">[^<]*', body).group(0)
    assert "20.0 % of the target" in body
    forecast = re.search(r'data-testid="forecast">(.*?)</dd>', body, re.S).group(1)
    assert "4,000" in forecast and "Behind" in forecast and "last year" in forecast
    assert d.forecast.method == "previous_year"
    assert "8,000 visits: 308 a week" in body  # ceil(8,000 / 26)
    assert re.search(r'data-testid="no-show">32.1 %<', body)  # (140 − 95) / 140
    assert d.no_show["seats"] == 140 and d.no_show["checked_in"] == 95
    # Month by month: January 1,900; March 35; April 65; running total 2,000 from April on.
    assert [m.visits for m in d.months][:4] == [1900, 0, 35, 65]
    assert d.months[11].cumulative == 2000
    assert round(d.months[11].cumulative_pace) == 10000
    # The chart's data is on the page for charts.js, the table without JavaScript.
    assert 'id="venue-months" type="application/json"' in body
    assert "chart.umd.min.js" in body


def test_venue_dashboard_ranks_programmes_and_audiences(en_client, owner, season):
    """Given visits on two programmes and at the door, when the owner opens the dashboard, then
    programmes are ranked by visits and audiences are counted by the rules stated on the page."""
    en_client.force_login(owner)
    response = en_client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug]))
    body = response.content.decode()
    ranking = re.search(r'data-testid="programmes">(.*?)</table>', body, re.S).group(1)
    assert ranking.index("Ngày hội đọc sách") < ranking.index("Đọc sách cùng ông bà")
    audiences = {row["code"]: row["visits"] for row in response.context["d"].audiences}
    # Tickets of the one-audience programme count for the elderly; those of the two-audience
    # programme (65) and the walk-ins without an audience (400) are not recorded.
    assert audiences == {"children": 1500, "elderly": 30, "adults": 5, dashboards.NOT_RECORDED: 465}
    assert "Not recorded" in body


def test_venue_dashboard_finished_year_is_met_or_not(en_client, owner, season):
    """Given 2024's 4,000 visits against a 3,000 target, when the owner looks at 2024, then the
    result is final and met."""
    venue = owner.staff_roles.get().venue
    visits_target(venue=venue, value=3000, year=2024)
    en_client.force_login(owner)
    response = en_client.get(reverse("targets:venue_dashboard", args=[venue.slug]), {"year": "2024"})
    d = response.context["d"]
    assert d.visits == 4000 and d.forecast.method == "actual" and d.forecast.status == Status.MET
    assert "Met" in re.search(r'data-testid="forecast">(.*?)</dd>', response.content.decode(), re.S).group(1)


def test_venue_dashboard_without_target_or_visits(en_client, owner):
    """Given a venue with nothing recorded and no target, when the owner opens it, then it says so."""
    en_client.force_login(owner)
    body = en_client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug])).content.decode()
    assert "No visits target is set for this venue and year." in body
    assert "No past date of this year had registrations." in body


@pytest.mark.parametrize("year", ["abc", "1800", "99999", "2025.5"])
def test_bad_year_falls_back_with_a_message(en_client, owner, officer, province, year):
    """Given a year that is not one, when either dashboard is asked for it, then this year is
    shown with a message saying why, never an error."""
    en_client.force_login(owner)
    response = en_client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug]),
                             {"year": year})
    assert response.status_code == 200 and response.context["year"] == 2025
    assert "is not a year between 2000 and 2026" in response.content.decode()
    en_client.force_login(officer)
    response = en_client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": year})
    assert response.status_code == 200 and response.context["year"] == 2025
    assert "is not a year between" in response.content.decode()


def test_year_filter_changes_the_year(en_client, owner, season):
    """Given visits in 2024 and 2025, when the owner picks 2024, then 2024's numbers show."""
    en_client.force_login(owner)
    response = en_client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug]),
                             {"year": "2024"})
    assert response.context["d"].visits == 4000
    assert '<option value="2024" selected>' in response.content.decode()


# -- forecast rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "so_far, target, expected",
    [(5100, 10000, Status.ON_TRACK), (4400, 10000, Status.AT_RISK), (4000, 10000, Status.BEHIND)],
)
def test_linear_forecast_classifies_by_pace(so_far, target, expected):
    """Given no previous year, when the forecast is made on 2 July (183 of 365 days), then it is
    linear and classified at 100 % / 85 % of the target."""
    forecast = dashboards.forecast_year(year=YEAR, today=TODAY, so_far=so_far, target=target)
    assert forecast.method == "linear"
    assert forecast.value == round(so_far * 365 / 183)
    assert forecast.status == expected


def test_previous_year_forecast_needs_a_full_previous_year():
    """Given a previous year that started in March (no January visits), when forecasting, then
    the linear rule is used instead of the same-period share."""
    forecast = dashboards.forecast_year(
        year=YEAR, today=TODAY, so_far=1000, target=2000, previous_total=4000, previous_to_date=100,
        previous_from_january=False,
    )
    assert forecast.method == "linear"


def test_forecast_future_year_and_last_week():
    """Given a year not started, then no forecast; given 30 December, then all that is missing is
    needed this week."""
    assert dashboards.forecast_year(year=2026, today=TODAY, so_far=0, target=100).value is None
    late = dashboards.forecast_year(year=YEAR, today=dt.date(2025, 12, 30), so_far=900, target=1000)
    assert late.needed == 100 and late.needed_per_week == 100


# -- the unit dashboard ------------------------------------------------------------------


@pytest.fixture
def province_data(province, commune, venue):
    """Three venues of the province with 2025 visits 700 (venue), 1,200 (museum), 300
    (commune library); a per-venue target of 1,000 for libraries and the museum's own 2,000."""
    museum = make_venue(admin_unit=province, name="Bảo tàng tỉnh", kind=Venue.Kind.MUSEUM)
    small = make_venue(admin_unit=make_commune(province=province, name="Xã An Vĩ"), name="Thư viện xã An Vĩ",
                       tier=Venue.Tier.COMMUNE)
    for v, n in ((venue, 700), (museum, 1200), (small, 300)):
        visits(v, dt.date(2025, 2, 3), walk_ins=n)
        visits(v, dt.date(2024, 2, 3), walk_ins=n // 2)
    visits_target(admin_unit=province, venue_kind=Venue.Kind.LIBRARY, per_venue=True, value=1000)
    visits_target(venue=museum, value=2000)
    visits_target(admin_unit=province, value=5000)
    return {"venue": venue, "museum": museum, "small": small}


def test_unit_dashboard_ranks_venues_with_targets(en_client, officer, province, province_data):
    """Given three venues, when the officer opens the province, then they are ranked by visits with
    their own target and % of it, each linking to its dashboard."""
    en_client.force_login(officer)
    response = en_client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": "2025"})
    rows = response.context["d"].venues
    assert [r.venue.name for r in rows] == ["Bảo tàng tỉnh", "Thư viện tỉnh Hưng Yên", "Thư viện xã An Vĩ"]
    assert [int(r.target.value) for r in rows] == [2000, 1000, 1000]
    assert [round(r.percent) for r in rows] == [60, 70, 30]
    body = response.content.decode()
    ranking = re.search(r'data-testid="ranking">(.*?)</table>', body, re.S).group(1)
    assert reverse("targets:venue_dashboard", args=[province_data["museum"].slug]) + "?year=2025" in ranking
    assert "1,200" in ranking and "60.0 %" in ranking


def test_unit_dashboard_shows_indicators_and_previous_year(en_client, officer, province, province_data):
    """Given the province's visits target of 5,000 and 2,200 visits, when the officer compares with
    2024, then the indicator shows target, result, status and 2024's result (1,100), and the
    months compare this year with last."""
    en_client.force_login(officer)
    response = en_client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": "2025", "compare": "1"})
    body = response.content.decode()
    d = response.context["d"]
    rows = [row for group in d.groups for row in group.rows]
    total = next(r for r in rows if r.target.indicator == Indicator.VISITS and not r.target.per_venue
                 and not r.target.venue_id)
    assert total.result.value == 2200 and total.previous.value == 1100
    assert total.status_label == dashboards.status_label(total.result.status)
    assert "5,000" in body and "2,200" in body and "1,100" in body
    assert d.months[1]["visits"] == 2200 and d.months[1]["previous"] == 1100
    assert d.growth == 100
    assert [g.label for g in d.groups][0] == "All tiers"


def test_unit_dashboard_shows_an_average_growth_with_its_base_year(en_client, officer, province, province_data):
    """Given 1,100 visits in the first half of 2023 and 2,200 in 2025's, when the officer opens
    2025 against "on average 30 % a year since 2023" and compares with 2024, then the row says
    since when, shows 41.4 % a year, and 2024's result is measured since 2023 too (1,100 both
    years: 0 %)."""
    for v, n in ((province_data["venue"], 350), (province_data["museum"], 600), (province_data["small"], 150)):
        visits(v, dt.date(2023, 2, 3), walk_ins=n)
    Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS_GROWTH, value=30, base_year=2023,
        source_document="Kế hoạch 66/KH-UBND",
    )
    en_client.force_login(officer)

    response = en_client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": "2025", "compare": "1"})

    row = next(r for g in response.context["d"].groups for r in g.rows if r.target.indicator == Indicator.VISITS_GROWTH)
    assert row.label == "Average yearly growth of visits since 2023 (%)"
    assert str(row.result.value) == "41.42" and row.previous.value == 0
    assert row.previous.target.base_year == 2023
    assert "Average yearly growth of visits since 2023" in response.content.decode()


def test_unit_dashboard_says_why_a_result_is_missing(en_client, officer, province, province_data):
    """Given an average growth since 2020, a year without visits, when the officer opens 2025, then
    the row has no result and says there is nothing to compare with."""
    Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS_GROWTH, value=8, base_year=2020,
        source_document="Kế hoạch 66/KH-UBND",
    )
    en_client.force_login(officer)

    response = en_client.get(reverse("targets:unit_dashboard", args=[province.code]), {"year": "2025"})

    row = next(r for g in response.context["d"].groups for r in g.rows if r.target.indicator == Indicator.VISITS_GROWTH)
    assert row.result.value is None and row.status_label == "No data"
    assert row.reason_display == "No visits recorded in 2020 to compare with."
    assert "No visits recorded in 2020 to compare with." in response.content.decode()


def _unit_queries(client, province, n_venues) -> int:
    commune = make_commune(province=province, name=f"Xã {n_venues}")
    for i in range(n_venues):
        v = make_venue(admin_unit=commune)
        visits(v, dt.date(2025, 1 + i % 12, 5), walk_ins=10 + i)
        visits(v, dt.date(2024, 1 + i % 12, 5), walk_ins=5 + i)
        if i % 2:
            visits_target(venue=v, value=100)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("targets:unit_dashboard", args=[province.code]), {"compare": "1"})
    assert response.status_code == 200
    return len(queries)


def test_unit_dashboard_queries_do_not_grow_with_venues(client, officer, province, django_assert_max_num_queries):
    """Given a province with 2 venues, then 8 more, when the officer opens its dashboard, then the
    number of queries is the same, and small."""
    visits_target(admin_unit=province, value=5000)
    visits_target(admin_unit=province, venue_kind=Venue.Kind.LIBRARY, per_venue=True, value=50)
    client.force_login(officer)
    few = _unit_queries(client, province, 2)
    many = _unit_queries(client, province, 8)
    assert many == few
    with django_assert_max_num_queries(25):
        client.get(reverse("targets:unit_dashboard", args=[province.code]), {"compare": "1"})


def test_unit_dashboard_figures_are_live(en_client, officer, province, province_data):
    """Given the province's dashboard just computed, when a visit is recorded and the page is asked
    again, then it shows the new visit at once (no cache), reading day totals only for the days
    of the current month, and says nothing about figures being refreshed every few minutes."""
    en_client.force_login(officer)
    url = reverse("targets:unit_dashboard", args=[province.code])
    en_client.get(url, {"year": "2025"})
    visits(province_data["venue"], dt.date(2025, 3, 1), walk_ins=1)
    with CaptureQueriesContext(connection) as queries:
        response = en_client.get(url, {"year": "2025"})
    assert response.context["d"].visits == 2201
    day_reads = [q["sql"] for q in queries.captured_queries if "attendance_visitcount" in q["sql"]]
    assert all("-07-01" in sql for sql in day_reads)  # only 1–2 July (this year's and last year's)
    assert "Figures as of" not in response.content.decode()


def test_venue_dashboard_queries_are_bounded(client, owner, season, django_assert_max_num_queries):
    """Given a venue with a season of visits, when the owner opens its dashboard, then a fixed,
    small number of queries answers."""
    client.force_login(owner)
    # 22: months from VisitMonth, plus the previous year's days of the current month up to the
    # same day (for the forecast) from VisitCount; the visits target in two (the same
    # chooser as for a whole province: group memberships, then the candidates).
    with django_assert_max_num_queries(22):
        assert client.get(reverse("targets:venue_dashboard", args=[owner.staff_roles.get().venue.slug])).status_code == 200
