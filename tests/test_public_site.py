"""The public site: the listing of upcoming events with its filters, the pages of
an occurrence, a programme and a venue, and the language they speak."""

import datetime as dt
from html.parser import HTMLParser

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.timeutil import local_datetime
from events import selectors
from events.forms_public import PlainSelect
from events.models import Occurrence, Programme
from events.services import (
    occurrence_cancel,
    occurrence_move,
    occurrences_materialise,
    programme_cancel,
    programme_update,
)
from tests.factories import make_commune, make_programme, make_venue

LIST_URL = reverse("public:occurrence_list")


def in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def listing_parts(client, **params) -> tuple[list[str], list[str]]:
    """Titles under "happening now" and on the page of upcoming dates, in order."""
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    ongoing = [occurrence.programme.title for occurrence in response.context["ongoing"]]
    upcoming = [occurrence.programme.title for occurrence in response.context["page"].object_list]
    return ongoing, upcoming


def listed(client, **params) -> list[str]:
    """Every title the listing shows for these GET parameters, in order."""
    ongoing, upcoming = listing_parts(client, **params)
    return ongoing + upcoming


def started_ago(*, hours: float) -> dict:
    """make_programme arguments for a start `hours` ago (local time)."""
    start = timezone.localtime() - dt.timedelta(hours=hours)
    return {"day": start.date(), "start_time": start.time().replace(microsecond=0)}


def first_occurrence(programme: Programme) -> Occurrence:
    return programme.occurrences.order_by("start").first()


# --- what the listing shows ---------------------------------------------------------


def test_listing_shows_only_public_upcoming_rows_in_start_order(client, venue):
    # given: what a visitor may see, and everything they may not
    make_programme(venue=venue, title="Later talk", day=in_days(9))
    make_programme(venue=venue, title="Sooner talk", day=in_days(2))
    make_programme(venue=venue, title="Draft talk", day=in_days(3), status=Programme.Status.DRAFT)
    programme_cancel(programme=make_programme(venue=venue, title="Cancelled programme", day=in_days(3)))
    occurrence_cancel(occurrence=first_occurrence(make_programme(venue=venue, title="Cancelled date", day=in_days(3))))
    make_programme(venue=venue, title="Past talk", day=in_days(-3))
    closed = make_venue(admin_unit=venue.admin_unit, is_active=False)
    make_programme(venue=closed, title="At a closed venue", day=in_days(3))

    # when
    titles = listed(client)

    # then
    assert titles == ["Sooner talk", "Later talk"]


def test_an_occurrence_running_now_is_still_listed(client, venue):
    # given: an exhibition that opened an hour ago and closes in an hour
    make_programme(venue=venue, title="Running now", minutes=120, **started_ago(hours=1))

    # then: under "happening now", not among the upcoming dates
    assert listing_parts(client) == (["Running now"], [])


def test_happening_now_shows_a_multi_day_exhibition_that_opened_a_week_ago(client, venue):
    # given: a two-week exhibition, half-way through
    make_programme(venue=venue, title="Exhibition", category="exhibition", minutes=14 * 24 * 60, **started_ago(hours=7 * 24))
    make_programme(venue=venue, title="Next talk", day=in_days(2))

    # when
    response = client.get(LIST_URL)

    # then
    assert [o.programme.title for o in response.context["ongoing"]] == ["Exhibition"]
    assert [o.programme.title for o in response.context["page"].object_list] == ["Next talk"]
    html = response.content.decode()
    assert "Đang diễn ra" in html
    assert html.index("Exhibition") < html.index("Next talk")


def test_happening_now_shows_a_talk_that_started_two_hours_ago(client, venue):
    # given: a three-hour talk that began two hours ago
    make_programme(venue=venue, title="Long talk", category="talk", minutes=180, **started_ago(hours=2))

    # then
    assert listing_parts(client) == (["Long talk"], [])


def test_a_talk_that_has_ended_is_in_neither_part(client, venue):
    # given: an hour-long talk that began three hours ago, a long one that ended yesterday
    make_programme(venue=venue, title="Over", category="talk", minutes=60, **started_ago(hours=3))
    make_programme(venue=venue, title="Over yesterday", minutes=3 * 24 * 60, **started_ago(hours=4 * 24))

    # then
    assert listing_parts(client) == ([], [])


def test_happening_now_leaves_out_cancelled_dates_and_obeys_the_filters(client, venue, other_venue):
    # given
    occurrence_cancel(occurrence=first_occurrence(
        make_programme(venue=venue, title="Cancelled now", minutes=120, **started_ago(hours=1))
    ))
    make_programme(venue=venue, title="Club now", category="club", minutes=120, **started_ago(hours=1))
    make_programme(venue=other_venue, title="Exhibition now", category="exhibition", minutes=120, **started_ago(hours=1))

    # then
    assert listing_parts(client) == (["Club now", "Exhibition now"], [])
    assert listing_parts(client, category="exhibition") == (["Exhibition now"], [])
    assert listing_parts(client, venue=venue.slug) == (["Club now"], [])
    assert listing_parts(client, q="khong co") == ([], [])


def test_happening_now_is_bounded_and_says_when_there_are_more(client, venue, monkeypatch):
    # given: three dates under way, room for two
    monkeypatch.setattr(selectors, "ONGOING_LIMIT", 2)
    for n in range(3):
        make_programme(venue=venue, title=f"Now {n}", minutes=120, **started_ago(hours=1.5 - n * 0.25))

    # when
    response = client.get(LIST_URL, HTTP_COOKIE="django_language=en")

    # then
    assert [o.programme.title for o in response.context["ongoing"]] == ["Now 0", "Now 1"]
    assert "More events are under way than shown here" in response.content.decode()


def test_happening_now_is_on_the_first_page_only(client, venue):
    # given: something under way and 25 daily dates ahead
    make_programme(venue=venue, title="Running now", minutes=120, **started_ago(hours=1))
    make_programme(venue=venue, title="Daily", day=in_days(1), recurrence="daily", repeat_until=in_days(25))

    # then
    first, second = client.get(LIST_URL), client.get(LIST_URL, {"page": 2})
    assert [o.programme.title for o in first.context["ongoing"]] == ["Running now"]
    assert second.context["ongoing"] == []
    assert len(first.context["page"].object_list) == 20 and len(second.context["page"].object_list) == 5


def test_listing_cards_show_date_venue_and_seats(client, venue):
    # given
    programme = make_programme(venue=venue, title="Đọc sách cùng bé", day=in_days(5), start_time=dt.time(9, 30), capacity=30)
    Occurrence.objects.filter(programme=programme).update(seats_taken=12)

    # when
    html = client.get(LIST_URL).content.decode()

    # then
    assert in_days(5).strftime("%d/%m/%Y") + " 09:30" in html
    assert "Thư viện tỉnh Hưng Yên" in html
    assert "Còn 18 chỗ" in html
    assert first_occurrence(programme).get_absolute_url() in html


# --- each filter includes and excludes the right rows -----------------------------


def test_province_filter_includes_venues_in_its_communes(client, province, commune, venue, other_venue):
    # given: one venue in a commune of the province, one at province level, one elsewhere
    at_province = make_venue(admin_unit=province, name="Bảo tàng tỉnh Hưng Yên")
    make_programme(venue=venue, title="In a commune", day=in_days(2))
    make_programme(venue=at_province, title="At province level", day=in_days(3))
    make_programme(venue=other_venue, title="Other province", day=in_days(4))

    # then
    assert listed(client, province=province.code) == ["In a commune", "At province level"]
    assert listed(client, province=other_venue.admin_unit.code) == ["Other province"]


def test_commune_filter_keeps_only_that_commune(client, province, commune, venue):
    # given
    other_commune = make_commune(province=province, name="Xã Tân Hưng")
    make_programme(venue=venue, title="In Phố Hiến", day=in_days(2))
    make_programme(venue=make_venue(admin_unit=other_commune), title="In Tân Hưng", day=in_days(3))
    make_programme(venue=make_venue(admin_unit=province), title="At province level", day=in_days(4))

    # then
    assert listed(client, province=province.code, commune=commune.code) == ["In Phố Hiến"]
    assert listed(client, province=province.code, commune=other_commune.code) == ["In Tân Hưng"]


def test_commune_code_alone_infers_its_province(client, province, commune, venue, other_venue):
    # given
    make_programme(venue=venue, title="In Phố Hiến", day=in_days(2))
    make_programme(venue=other_venue, title="Elsewhere", day=in_days(3))

    # when
    response = client.get(LIST_URL, {"commune": commune.code})

    # then: filtered, and the form shows the province and its communes
    assert [o.programme.title for o in response.context["page"].object_list] == ["In Phố Hiến"]
    html = response.content.decode()
    assert f'<option value="{province.code}" selected>' in html
    assert f'<option value="{commune.code}" selected>' in html


def test_commune_of_another_province_is_dropped_when_the_province_changes(client, province, commune, venue, other_venue):
    # given: the visitor had chosen a commune, then picked another province (no JavaScript)
    make_programme(venue=venue, title="In Phố Hiến", day=in_days(2))
    make_programme(venue=other_venue, title="In Bắc Ninh", day=in_days(3))

    # when
    response = client.get(LIST_URL, {"province": other_venue.admin_unit.code, "commune": commune.code})

    # then: the new province wins, no error
    assert [o.programme.title for o in response.context["page"].object_list] == ["In Bắc Ninh"]
    assert not response.context["form"].errors


def test_commune_select_appears_only_once_a_province_is_chosen(client, province, commune):
    # when
    before = client.get(LIST_URL).content.decode()
    after = client.get(LIST_URL, {"province": province.code}).content.decode()

    # then
    assert 'name="commune"' not in before
    assert 'name="commune"' in after and commune.name in after


def test_venue_filter(client, venue, other_venue):
    # given
    make_programme(venue=venue, title="Library talk", day=in_days(2))
    make_programme(venue=other_venue, title="Museum talk", day=in_days(3))

    # then: by slug alone (the link on a venue page) and together with its province
    assert listed(client, venue=venue.slug) == ["Library talk"]
    assert listed(client, venue=other_venue.slug, province=other_venue.admin_unit.code) == ["Museum talk"]


def test_unknown_venue_is_an_error_not_a_crash(client, venue):
    # when
    response = client.get(LIST_URL, {"venue": "no-such-venue"}, HTTP_COOKIE="django_language=en")

    # then
    assert response.status_code == 200
    assert "Unknown venue." in response.content.decode()


def test_kind_filter(client, venue, other_venue):
    # given: a library and a museum
    make_programme(venue=venue, title="Library talk", day=in_days(2))
    make_programme(venue=other_venue, title="Museum talk", day=in_days(3))

    # then
    assert listed(client, kind="museum") == ["Museum talk"]
    assert listed(client, kind="library") == ["Library talk"]


def test_category_filter(client, venue):
    # given
    make_programme(venue=venue, title="Exhibition", category="exhibition", day=in_days(2))
    make_programme(venue=venue, title="Club", category="club", day=in_days(3))

    # then
    assert listed(client, category="exhibition") == ["Exhibition"]
    assert listed(client, category="club") == ["Club"]


def test_audience_filter(client, venue):
    # given
    make_programme(venue=venue, title="For children", audiences=["children", "families"], day=in_days(2))
    make_programme(venue=venue, title="For the elderly", audiences=["elderly"], day=in_days(3))
    make_programme(venue=venue, title="For no one in particular", day=in_days(4))

    # then
    assert listed(client, audience="children") == ["For children"]
    assert listed(client, audience="elderly") == ["For the elderly"]


def test_date_range_filter_is_inclusive_and_in_vietnam_time(client, venue):
    # given: 06:00 in Hà Nội is still the previous day in UTC
    day = in_days(10)
    make_programme(venue=venue, title="Early morning", day=day, start_time=dt.time(6, 0), minutes=60)
    make_programme(venue=venue, title="Next day", day=day + dt.timedelta(days=1))

    # then: both input formats, bounds included
    assert listed(client, date_from=day.strftime("%d/%m/%Y"), date_to=day.strftime("%d/%m/%Y")) == ["Early morning"]
    assert listed(client, date_from=day.isoformat(), date_to=day.isoformat()) == ["Early morning"]
    assert listed(client, date_to=(day - dt.timedelta(days=1)).strftime("%d/%m/%Y")) == []
    assert listed(client, date_from=(day + dt.timedelta(days=1)).strftime("%d/%m/%Y")) == ["Next day"]


def test_date_from_keeps_a_multi_day_occurrence_that_is_still_running(client, venue):
    # given: an exhibition over three days, and a talk on its second day
    make_programme(venue=venue, title="Three-day fair", day=in_days(5), start_time=dt.time(8, 0), minutes=3 * 24 * 60 - 60)
    make_programme(venue=venue, title="Talk", day=in_days(6), start_time=dt.time(10, 0))

    # when: asking from its second day
    response = client.get(LIST_URL, {"date_from": in_days(6).strftime("%d/%m/%Y")})

    # then: it is under way on that day, and the heading says so
    assert [o.programme.title for o in response.context["ongoing"]] == ["Three-day fair"]
    assert [o.programme.title for o in response.context["page"].object_list] == ["Talk"]
    assert f"Đang diễn ra vào ngày {in_days(6):%d/%m/%Y}" in response.content.decode()
    assert listed(client, date_from=in_days(9).strftime("%d/%m/%Y")) == []
    # and a range that ends before it opened leaves it out
    assert listed(client, date_from=in_days(3).strftime("%d/%m/%Y"), date_to=in_days(4).strftime("%d/%m/%Y")) == []


def test_free_text_ignores_accents_and_case(client, venue, other_venue):
    # given
    make_programme(venue=venue, title="Ngày hội đọc sách", description="Giao lưu với tác giả", day=in_days(2))
    make_programme(venue=other_venue, title="Triển lãm cổ vật", day=in_days(3))

    # then: "thu vien" finds "Thư viện" (venue name), accents and capitals both work
    assert listed(client, q="thu vien") == ["Ngày hội đọc sách"]
    assert listed(client, q="ĐỌC SÁCH") == ["Ngày hội đọc sách"]
    assert listed(client, q="tac gia") == ["Ngày hội đọc sách"]
    assert listed(client, q="trien lam") == ["Triển lãm cổ vật"]
    # every word must match
    assert listed(client, q="trien lam thu vien") == []


def test_commemorative_day_filter(client, venue):
    # given
    make_programme(venue=venue, title="Book day", commemorative_day_id="book-reading-day", day=in_days(2))
    make_programme(venue=venue, title="Museum day", commemorative_day_id="museum-day", day=in_days(3))
    make_programme(venue=venue, title="Ordinary day", day=in_days(4))

    # then
    assert listed(client, day="book-reading-day") == ["Book day"]
    assert listed(client, day="museum-day") == ["Museum day"]


def test_free_seats_filter(client, venue):
    # given: a full date, a date with room, a date with no limit
    full = make_programme(venue=venue, title="Full", capacity=10, day=in_days(2))
    Occurrence.objects.filter(programme=full).update(seats_taken=10)
    room = make_programme(venue=venue, title="Room left", capacity=10, day=in_days(3))
    Occurrence.objects.filter(programme=room).update(seats_taken=9)
    make_programme(venue=venue, title="No limit", capacity=None, day=in_days(4))

    # then
    assert listed(client, free_seats="on") == ["Room left", "No limit"]
    assert listed(client) == ["Full", "Room left", "No limit"]


def test_filters_combine(client, venue, other_venue):
    # given
    make_programme(venue=venue, title="Children at the library", audiences=["children"], day=in_days(2))
    make_programme(venue=venue, title="Adults at the library", audiences=["adults"], day=in_days(3))
    make_programme(venue=other_venue, title="Children at the museum", audiences=["children"], day=in_days(4))

    # then
    assert listed(client, audience="children", kind="library") == ["Children at the library"]


# --- invalid filters ------------------------------------------------------------------


def test_bad_date_is_a_form_error_in_vietnamese_by_default(client, venue):
    # given
    make_programme(venue=venue, title="Still listed", day=in_days(2))

    # when
    response = client.get(LIST_URL, {"date_from": "32/13/2025"})

    # then: 200, the error is shown (Django's own Vietnamese message), other filters still apply
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nhập một ngày hợp lệ." in html
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert [o.programme.title for o in response.context["page"].object_list] == ["Still listed"]


def test_bad_date_error_in_english_when_asked(client, venue):
    # when
    response = client.get(LIST_URL, {"date_from": "tomorrow"}, HTTP_COOKIE="django_language=en")

    # then
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"date_from": "31/12/9999"}, "Enter a date between 2000 and 2100."),
        ({"date_from": "10/05/2026", "date_to": "01/05/2026"}, "The end date is before the start date."),
        ({"province": "nowhere"}, "Choose a province from the list."),
        ({"commune": "nowhere"}, "Unknown commune or ward."),
        ({"category": "nonsense"}, "Choose a category from the list."),
        ({"audience": "aliens"}, "Choose an audience from the list."),
        ({"kind": "zoo"}, "Choose a kind of venue from the list."),
        ({"day": "christmas"}, "Choose a commemorative day from the list."),
        ({"q": "x" * 500}, "Ensure this value has at most 100 characters"),
        ({"page": "abc"}, None),
        ({"page": "999"}, None),
    ],
)
def test_invalid_filters_never_crash(client, db, params, message):
    # when
    response = client.get(LIST_URL, params, HTTP_COOKIE="django_language=en")

    # then
    assert response.status_code == 200
    if message:
        assert message in response.content.decode()


# --- pagination and cost ----------------------------------------------------------


def test_pagination_keeps_the_filters(client, venue):
    # given: 25 daily dates of one programme
    make_programme(
        venue=venue, title="Daily reading", day=in_days(1), recurrence="daily", repeat_until=in_days(25), category="reading"
    )

    # when
    first = client.get(LIST_URL, {"category": "reading"})
    second = client.get(LIST_URL, {"category": "reading", "page": 2})

    # then
    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5
    assert first.context["page"].object_list[0].start < second.context["page"].object_list[0].start
    assert "?category=reading&amp;page=2" in first.content.decode()
    assert "25 sự kiện sắp diễn ra" in first.content.decode()
    assert "Trang 2 / 2" in second.content.decode()


def test_the_count_is_capped_and_says_so(client, venue, monkeypatch):
    # given: five dates ahead, a cap of three
    monkeypatch.setattr(selectors, "LISTING_COUNT_CAP", 3)
    for n in range(5):
        make_programme(venue=venue, title=f"Talk {n}", day=in_days(n + 1))

    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)

    # then: "3+", a hint to narrow the filters, a count that stopped after cap + 1 rows
    html = response.content.decode()
    assert "3+ sự kiện sắp diễn ra" in html
    assert "hãy thu hẹp bộ lọc" in html
    assert response.context["page"].paginator.capped
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1 and "LIMIT 4" in counts[0]
    # and paging stops at the cap
    assert len(response.context["page"].object_list) == 3


def test_the_count_is_exact_under_the_cap(client, venue, monkeypatch):
    # given
    monkeypatch.setattr(selectors, "LISTING_COUNT_CAP", 3)
    for n in range(3):
        make_programme(venue=venue, title=f"Talk {n}", day=in_days(n + 1))

    # when
    response = client.get(LIST_URL, HTTP_COOKIE="django_language=en")

    # then
    html = response.content.decode()
    assert "3 upcoming events" in html and "3+" not in html
    assert not response.context["page"].paginator.capped


def _add_programmes(count: int, venues: list, *, offset: int = 0) -> None:
    for i in range(count):
        make_programme(
            venue=venues[i % len(venues)],
            title=f"Đọc sách {offset + i}",
            day=in_days(1 + offset + i),
            audiences=["children", "families"][: 1 + i % 2],
            commemorative_day_id="book-reading-day" if i % 3 == 0 else None,
            capacity=20,
        )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"province": "PROVINCE", "audience": "children", "q": "doc sach"},
        {"province": "PROVINCE", "commune": "COMMUNE", "venue": "VENUE", "free_seats": "on", "date_from": "01/01/2020"},
    ],
    ids=["no-filter", "some-filters", "narrow-filters"],
)
def test_listing_costs_the_same_queries_for_2_and_20_rows(client, province, commune, venue, params):
    # given: two dates, then twenty, spread over several venues and programmes
    params = {
        key: {"PROVINCE": province.code, "COMMUNE": commune.code, "VENUE": venue.slug}.get(value, value)
        for key, value in params.items()
    }
    venues = [venue] + [make_venue(admin_unit=commune) for _ in range(3)]
    narrow = "venue" in params
    _add_programmes(2, [venue] if narrow else venues)

    with CaptureQueriesContext(connection) as two:
        response = client.get(LIST_URL, params)
    assert len(response.context["page"].object_list) == 2

    assert response.context["ongoing"] == []

    # when: eighteen more, and one under way
    _add_programmes(18, [venue] if narrow else venues, offset=2)
    make_programme(
        venue=venue, title="Đọc sách đang diễn ra", audiences=["children"], capacity=20, minutes=120,
        **started_ago(hours=1),
    )
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(LIST_URL, params)
    assert len(response.context["page"].object_list) == 20
    assert len(response.context["ongoing"]) == 1

    # then
    assert len(two) == len(twenty), [q["sql"] for q in twenty.captured_queries]
    assert len(twenty) <= 10


# --- spans_days: what lets "happening now" skip the past ------------------------------


def test_materialise_sets_spans_days_on_new_and_changed_dates(venue):
    # given: a two-day fair and a 90-minute talk
    fair = make_programme(venue=venue, title="Fair", day=in_days(3), minutes=2 * 24 * 60)
    talk = make_programme(venue=venue, title="Talk", day=in_days(3))

    # then
    assert first_occurrence(fair).spans_days is True
    assert first_occurrence(talk).spans_days is False

    # when: the talk becomes a three-day event and the fair a one-day one
    start = local_datetime(in_days(3), dt.time(9, 0))
    programme_update(programme=talk, end=start + dt.timedelta(days=3))
    programme_update(programme=fair, end=start + dt.timedelta(hours=8))

    # then: the rows were updated in place
    assert first_occurrence(talk).spans_days is True
    assert first_occurrence(fair).spans_days is False


def test_materialise_repairs_a_stale_spans_days(venue):
    # given: a fair whose flag was lost
    fair = make_programme(venue=venue, title="Fair", day=in_days(3), minutes=2 * 24 * 60)
    Occurrence.objects.filter(programme=fair).update(spans_days=False)

    # when
    occurrences_materialise(programme=fair, since=first_occurrence(fair).start)

    # then
    assert first_occurrence(fair).spans_days is True


def test_occurrence_move_sets_spans_days(venue):
    # given
    occurrence = first_occurrence(make_programme(venue=venue, day=in_days(3)))
    start = local_datetime(in_days(4), dt.time(8, 0))

    # when: stretched over three days, then back to an hour
    occurrence_move(occurrence=occurrence, start=start, end=start + dt.timedelta(days=3))
    stretched = Occurrence.objects.get(pk=occurrence.pk).spans_days
    occurrence_move(occurrence=occurrence, start=start, end=start + dt.timedelta(hours=1))

    # then
    assert stretched is True
    assert Occurrence.objects.get(pk=occurrence.pk).spans_days is False


def test_a_moved_date_stretched_over_days_is_happening_now(client, venue):
    # given: a one-hour date moved to a week-long one that began three days ago
    occurrence = first_occurrence(make_programme(venue=venue, title="Stretched", day=in_days(3)))
    start = timezone.now() - dt.timedelta(days=3)
    occurrence_move(occurrence=occurrence, start=start, end=start + dt.timedelta(days=7))

    # then
    assert listing_parts(client) == (["Stretched"], [])


def test_the_migration_flags_existing_multi_day_dates(venue):
    # given: rows written before the flag existed
    import importlib

    from django.apps import apps

    migration = importlib.import_module("events.migrations.0004_occurrence_spans_days")
    fair = make_programme(venue=venue, title="Fair", day=in_days(3), minutes=2 * 24 * 60)
    day_long = make_programme(venue=venue, title="A day", day=in_days(3), minutes=24 * 60)
    Occurrence.objects.update(spans_days=False)

    # when
    migration.set_spans_days(apps, None)

    # then: more than a day is flagged, a day exactly is not
    assert first_occurrence(fair).spans_days is True
    assert first_occurrence(day_long).spans_days is False


# --- the filter form's <select>s --------------------------------------------------------


def test_plain_select_renders_what_djangos_select_template_renders():
    # given: values and labels that need escaping, a selected one, boolean attributes
    choices = [("", "Any"), ("a&b", "<Tom & Jerry>"), ("x", "X \"quoted\""), ("Group", [("g1", "One"), ("g2", "Two")])]
    attrs = {"id": "id_f", "aria-invalid": True, "disabled": False, "data-x": "1<2"}

    # then
    for value in ("", "a&b", "g2", None):
        ours = PlainSelect(choices=choices).render("f", value, attrs=dict(attrs))
        django = forms.Select(choices=choices).render("f", value, attrs=dict(attrs))
        assert ours == django


# --- occurrence page --------------------------------------------------------------


def test_occurrence_page_shows_when_where_seats_and_calendar_links(client, venue):
    # given
    venue.latitude, venue.longitude = 20.6464, 106.0511
    venue.save()
    venue.refresh_from_db()
    programme = make_programme(
        venue=venue, title="Giờ kể chuyện", day=in_days(4), start_time=dt.time(14, 0), minutes=90, capacity=25,
        description="Kể chuyện cho thiếu nhi.",
    )
    occurrence = first_occurrence(programme)

    # when
    response = client.get(occurrence.get_absolute_url())

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{in_days(4):%d/%m/%Y} 14:00" in html and "15:30" in html
    assert venue.address in html
    assert venue.map_url.replace("&", "&amp;") in html
    assert "Còn 25 chỗ" in html
    assert reverse("feeds:occurrence", args=[occurrence.pk]) in html
    assert "https://calendar.google.com/calendar/render?" in html
    assert "Kể chuyện cho thiếu nhi." in html


def test_occurrence_page_says_full(client, venue):
    # given
    programme = make_programme(venue=venue, capacity=5, day=in_days(4))
    Occurrence.objects.filter(programme=programme).update(seats_taken=5)

    # then
    assert "Hết chỗ" in client.get(first_occurrence(programme).get_absolute_url()).content.decode()


def test_cancelled_date_of_a_published_programme_says_cancelled(client, venue):
    # given
    occurrence = first_occurrence(make_programme(venue=venue, day=in_days(4)))
    occurrence_cancel(occurrence=occurrence)

    # when
    response = client.get(occurrence.get_absolute_url())

    # then: still a page, with the notice, and no "add to calendar"
    html = response.content.decode()
    assert response.status_code == 200
    assert "Buổi này đã bị hủy." in html
    assert "calendar.google.com" not in html


def test_moved_date_says_moved_and_from_when(client, venue):
    # given
    occurrence = first_occurrence(make_programme(venue=venue, day=in_days(4), start_time=dt.time(9, 0)))
    new_start = local_datetime(in_days(5), dt.time(15, 0))
    occurrence_move(occurrence=occurrence, start=new_start, end=new_start + dt.timedelta(hours=1))

    # when
    html = client.get(occurrence.get_absolute_url()).content.decode()

    # then
    assert "Buổi này đã được dời lịch." in html
    assert f"{in_days(4):%d/%m/%Y} 09:00" in html  # planned
    assert f"{in_days(5):%d/%m/%Y} 15:00" in html  # now


@pytest.mark.parametrize("status", [Programme.Status.DRAFT, Programme.Status.CANCELLED])
def test_occurrence_and_programme_pages_404_unless_published(client, venue, status):
    # given
    programme = make_programme(venue=venue, day=in_days(4), status=status)
    occurrence = first_occurrence(programme)

    # then
    assert client.get(occurrence.get_absolute_url()).status_code == 404
    assert client.get(programme.get_absolute_url()).status_code == 404


def test_pages_of_an_inactive_venue_404(client, venue):
    # given
    programme = make_programme(venue=venue, day=in_days(4))
    venue.is_active = False
    venue.save()

    # then
    assert client.get(venue.get_absolute_url()).status_code == 404
    assert client.get(programme.get_absolute_url()).status_code == 404
    assert client.get(first_occurrence(programme).get_absolute_url()).status_code == 404


def test_unknown_pages_404(client, db):
    assert client.get(reverse("public:occurrence_detail", args=[999999])).status_code == 404
    assert client.get(reverse("public:programme_detail", args=[999999])).status_code == 404
    assert client.get(reverse("public:venue_detail", args=["nowhere"])).status_code == 404


# --- programme page ------------------------------------------------------------------


def test_programme_page_lists_a_bounded_number_of_next_dates(client, venue):
    # given: a daily programme with 15 dates ahead, one of them cancelled
    programme = make_programme(
        venue=venue, title="Lớp kỹ năng số", category="digital", day=in_days(1), recurrence="daily",
        repeat_until=in_days(15), audiences=["elderly"], description="Dùng điện thoại thông minh.",
    )
    occurrence_cancel(occurrence=first_occurrence(programme))

    # when
    response = client.get(programme.get_absolute_url(), HTTP_COOKIE="django_language=en")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["next_occurrences"]) == 10
    assert "Showing the next 10 dates." in html
    assert "Cancelled" in html
    assert "Digital skills" in html and "Elderly people" in html
    assert "Dùng điện thoại thông minh." in html
    assert f"webcal://testserver{reverse('feeds:venue', args=[venue.slug])}" in html


# --- venue pages ---------------------------------------------------------------------


def test_venue_page_shows_details_upcoming_dates_and_subscription(client, venue):
    # given
    venue.opening_hours = "Thứ 2 – Thứ 6: 7:30–17:00"
    venue.accessibility = "Lối đi cho xe lăn ở cổng phụ"
    venue.save()
    make_programme(venue=venue, title="Câu lạc bộ thơ", day=in_days(3))
    make_programme(venue=venue, title="Đã qua", day=in_days(-3))

    # when
    response = client.get(venue.get_absolute_url())

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Thứ 2 – Thứ 6: 7:30–17:00" in html
    assert "Lối đi cho xe lăn ở cổng phụ" in html
    assert "Câu lạc bộ thơ" in html and "Đã qua" not in html
    assert f"webcal://testserver{reverse('feeds:venue', args=[venue.slug])}" in html
    assert f"{LIST_URL}?venue={venue.slug}" in html


def test_venue_list_filters_by_province_and_kind(client, province, venue, other_venue):
    # given
    museum_here = make_venue(admin_unit=province, name="Bảo tàng Hưng Yên", kind="museum")
    make_venue(admin_unit=province, name="Nhà văn hóa đóng cửa", is_active=False)
    url = reverse("public:venue_list")

    def names(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [v.name for v in response.context["page"].object_list]

    # then
    assert names() == ["Bảo tàng Hưng Yên", "Bảo tàng tỉnh Bắc Ninh", "Thư viện tỉnh Hưng Yên"]
    assert names(province=province.code) == [museum_here.name, venue.name]
    assert names(kind="museum") == [museum_here.name, other_venue.name]
    assert names(province=province.code, kind="library") == [venue.name]
    assert names(province="nowhere") == sorted(names())  # an error, not a crash


# --- language and accessibility ----------------------------------------------------------


def test_default_language_is_vietnamese(client, venue):
    # given: a date on a Saturday
    saturday = in_days((5 - timezone.localdate().weekday()) % 7 + 7)
    make_programme(venue=venue, day=saturday)

    # when
    response = client.get(LIST_URL)

    # then
    html = response.content.decode()
    assert '<html lang="vi">' in html
    assert "Thứ 7" in html


def test_a_browser_in_english_still_gets_vietnamese_pages(client, venue):
    # given a phone whose system language is English
    saturday = in_days((5 - timezone.localdate().weekday()) % 7 + 7)
    make_programme(venue=venue, day=saturday)

    # when
    html = client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then the page is Vietnamese until its owner switches
    assert '<html lang="vi">' in html
    assert "Thứ 7" in html


def test_the_switcher_sets_english(client, db):
    # when the visitor chooses English in the switcher
    response = client.post("/i18n/setlang/", {"language": "en", "next": LIST_URL})

    # then the next pages are English
    assert response.status_code == 302
    assert '<html lang="en">' in client.get(LIST_URL).content.decode()


def test_language_cookie_en_gives_english(client, db):
    # given
    client.cookies["django_language"] = "en"

    # when
    html = client.get(LIST_URL, HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    # then
    assert '<html lang="en">' in html


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.headings = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs.get("id"))
        if tag == "label":
            self.labels.add(attrs.get("for"))
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append(int(tag[1]))


@pytest.mark.parametrize(
    "url_name, params",
    [
        ("public:occurrence_list", {}),
        ("public:occurrence_list", {"province": "PROVINCE", "date_from": "bad"}),
        ("public:venue_list", {}),
    ],
)
def test_every_control_has_a_label_and_headings_are_in_order(client, province, commune, venue, url_name, params):
    # given: something under way and something ahead, so both parts of the listing show
    make_programme(venue=venue, day=in_days(3))
    make_programme(venue=venue, title="Under way", minutes=120, **started_ago(hours=1))
    params = {key: province.code if value == "PROVINCE" else value for key, value in params.items()}

    # when
    markup = _Markup()
    markup.feed(client.get(reverse(url_name), params).content.decode())

    # then
    assert markup.controls and all(control in markup.labels for control in markup.controls), markup.controls
    assert markup.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(markup.headings, markup.headings[1:])), markup.headings


def test_pages_work_without_javascript(client, venue):
    # given
    programme = make_programme(venue=venue, day=in_days(3))

    # then: no script is needed (or sent) by any public page
    for url in (LIST_URL, reverse("public:venue_list"), venue.get_absolute_url(), programme.get_absolute_url(),
                first_occurrence(programme).get_absolute_url()):
        assert "<script" not in client.get(url).content.decode()
