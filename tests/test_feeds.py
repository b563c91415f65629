"""iCalendar feeds: every kind of feed, expanded by an independent parser
(recurring-ical-events), must yield exactly the dates the site lists."""

import datetime as dt
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import recurring_ical_events
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from common.timeutil import local_datetime
from events.models import Occurrence, Programme
from events.services import occurrence_cancel, occurrence_move, programme_cancel, programme_update
from tests.factories import make_programme, make_venue
from venues.selectors import venues_in_unit_q

WINDOW_DAYS = 120
HOST = urlsplit(settings.SITE_URL).hostname


def _nth(programme, n) -> Occurrence:
    return Occurrence.objects.filter(programme=programme).order_by("original_start")[n]


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def catalogue(venue, other_venue, today):
    """Programmes of every shape at `venue` (category club unless said), with a
    cancelled and a moved date, plus what feeds must leave out."""
    weekly = make_programme(
        venue=venue, title="Câu lạc bộ đọc sách", day=today + dt.timedelta(days=1),
        recurrence="weekly", weekdays=["MO", "WE", "FR"], repeat_until=today + dt.timedelta(days=100),
    )
    monthly = make_programme(
        venue=venue, title="Tọa đàm thứ Ba tuần thứ hai", day=today, start_time=dt.time(14, 0),
        recurrence="monthly_nth", weekdays=["TU"], nth=2, repeat_until=today + dt.timedelta(days=300),
    )
    daily = make_programme(
        venue=venue, title="Giờ đọc buổi tối", day=today + dt.timedelta(days=2), start_time=dt.time(18, 0),
        minutes=60, recurrence="daily", repeat_until=today + dt.timedelta(days=30),
    )
    one_off = make_programme(venue=venue, title="Triển lãm sách cổ", day=today + dt.timedelta(days=10))
    cancelled_one_off = make_programme(venue=venue, title="Buổi đã hủy", day=today + dt.timedelta(days=12))
    talk = make_programme(venue=venue, title="Nói chuyện chuyên đề", category="talk", day=today + dt.timedelta(days=5))
    elsewhere = make_programme(
        venue=other_venue, title="Bảo tàng với học đường", category="talk", day=today + dt.timedelta(days=3),
        recurrence="weekly", weekdays=["TU", "TH"], repeat_until=today + dt.timedelta(days=60),
    )
    draft = make_programme(
        venue=venue, title="Bản nháp", status=Programme.Status.DRAFT, day=today + dt.timedelta(days=4),
        recurrence="weekly", weekdays=["SA"], repeat_until=today + dt.timedelta(days=60),
    )

    cancelled_weekly = occurrence_cancel(occurrence=_nth(weekly, 2))
    occurrence_cancel(occurrence=_nth(daily, 4))
    occurrence_cancel(occurrence=_nth(cancelled_one_off, 0))
    to_move = _nth(weekly, 4)
    moved_weekly = occurrence_move(
        occurrence=to_move,
        start=to_move.start + dt.timedelta(days=1, hours=6),
        end=to_move.end + dt.timedelta(days=1, hours=6, minutes=30),
    )
    to_move = _nth(monthly, 1)
    moved_monthly = occurrence_move(
        occurrence=to_move, start=to_move.start + dt.timedelta(days=2), end=to_move.end + dt.timedelta(days=2)
    )
    to_move = _nth(one_off, 0)
    moved_one_off = occurrence_move(
        occurrence=to_move, start=to_move.start + dt.timedelta(hours=2), end=to_move.end + dt.timedelta(hours=2)
    )
    return SimpleNamespace(
        weekly=weekly, monthly=monthly, daily=daily, one_off=one_off, cancelled_one_off=cancelled_one_off,
        talk=talk, elsewhere=elsewhere, draft=draft, cancelled_weekly=cancelled_weekly,
        moved_weekly=moved_weekly, moved_monthly=moved_monthly, moved_one_off=moved_one_off,
    )


def _window(today):
    start = local_datetime(today, dt.time(0, 0))
    return start, start + dt.timedelta(days=WINDOW_DAYS)


def _listed_instants(occurrence_q: Q, window) -> set:
    """What the site lists: the public, non-cancelled occurrences in the window."""
    start, end = window
    rows = Occurrence.objects.public().filter(occurrence_q, cancelled=False, start__lt=end, end__gt=start)
    return {(row.start, row.end) for row in rows}


def _expanded_instants(response, window) -> set:
    calendar = Calendar.from_ical(response.content)
    events = recurring_ical_events.of(calendar).between(*window)
    return {(e["DTSTART"].dt.astimezone(dt.UTC), e["DTEND"].dt.astimezone(dt.UTC)) for e in events}


def _uids(response) -> list[str]:
    return [str(e["UID"]) for e in Calendar.from_ical(response.content).walk("VEVENT")]


FEEDS = {
    # kind -> (url name, url args, filter on Occurrence for the same scope)
    "site": lambda ctx: ("feeds:site", [], Q()),
    "venue": lambda ctx: ("feeds:venue", [ctx.venue.slug], Q(venue=ctx.venue)),
    "province": lambda ctx: ("feeds:unit", [ctx.province.code], venues_in_unit_q(ctx.province, prefix="venue__")),
    "commune": lambda ctx: ("feeds:unit", [ctx.commune.code], venues_in_unit_q(ctx.commune, prefix="venue__")),
    "category": lambda ctx: ("feeds:category", ["club"], Q(programme__category="club")),
}


@pytest.fixture
def ctx(province, commune, venue, other_venue):
    return SimpleNamespace(province=province, commune=commune, venue=venue, other_venue=other_venue)


@pytest.mark.parametrize("kind", FEEDS)
def test_expanded_feed_equals_listed_occurrences(client, ctx, catalogue, today, kind):
    # given every shape of programme, a cancelled and a moved date, and programmes out of scope
    url_name, args, occurrence_q = FEEDS[kind](ctx)
    window = _window(today)
    listed = _listed_instants(occurrence_q, window)

    # when an independent parser expands the feed over the same window
    response = client.get(reverse(url_name, args=args))

    # then it yields exactly the dates the site lists
    assert response.status_code == 200
    assert _expanded_instants(response, window) == listed
    # and the listing was not trivially small: moves are in, cancellations out
    assert (catalogue.moved_weekly.start, catalogue.moved_weekly.end) in listed
    assert (catalogue.moved_monthly.start, catalogue.moved_monthly.end) in listed
    assert (catalogue.moved_one_off.start, catalogue.moved_one_off.end) in listed
    assert catalogue.cancelled_weekly.start not in {start for start, _end in listed}
    uids = set(_uids(response))
    assert f"programme-{catalogue.draft.pk}@{HOST}" not in uids
    assert f"programme-{catalogue.cancelled_one_off.pk}@{HOST}" not in uids
    expect_elsewhere = kind == "site"
    assert (f"programme-{catalogue.elsewhere.pk}@{HOST}" in uids) is expect_elsewhere
    expect_talk = kind != "category"
    assert (f"programme-{catalogue.talk.pk}@{HOST}" in uids) is expect_talk


def test_series_is_one_vevent_with_rrule_exdate_and_recurrence_id(client, venue, catalogue):
    # given a weekly series with a cancelled and a moved date
    venue.latitude, venue.longitude = 20.646, 106.051
    venue.save()

    # when the venue feed is read
    response = client.get(reverse("feeds:venue", args=[venue.slug]))

    # then the series is one VEVENT with RRULE and EXDATE, plus one RECURRENCE-ID VEVENT
    calendar = Calendar.from_ical(response.content)
    uid = f"programme-{catalogue.weekly.pk}@{HOST}"
    components = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid]
    series = [e for e in components if "RECURRENCE-ID" not in e]
    moved = [e for e in components if "RECURRENCE-ID" in e]
    assert len(series) == 1 and len(moved) == 1
    series = series[0]
    rrule = series["RRULE"]
    assert rrule["FREQ"] == ["WEEKLY"]
    assert rrule["BYDAY"] == ["MO", "WE", "FR"]
    assert rrule["UNTIL"][0].utcoffset() == dt.timedelta(0)
    assert series["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert series["DTEND"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert series["EXDATE"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert [d.dt for d in series["EXDATE"].dts] == [catalogue.cancelled_weekly.original_start]
    assert moved[0]["RECURRENCE-ID"].dt == catalogue.moved_weekly.original_start
    assert moved[0]["DTSTART"].dt == catalogue.moved_weekly.start
    # and the monthly series says "second Tuesday" the iCalendar way
    monthly = next(
        e for e in calendar.walk("VEVENT")
        if str(e["UID"]) == f"programme-{catalogue.monthly.pk}@{HOST}" and "RECURRENCE-ID" not in e
    )
    assert monthly["RRULE"]["FREQ"] == ["MONTHLY"]
    assert monthly["RRULE"]["BYDAY"] == ["TU"]
    assert monthly["RRULE"]["BYSETPOS"] == [2]
    # and the shared properties are there
    assert str(series["SUMMARY"]) == "Câu lạc bộ đọc sách"
    assert str(series["URL"]) == settings.SITE_URL + catalogue.weekly.get_absolute_url()
    assert str(series["LOCATION"]) == f"{venue.name}, {venue.address}"
    assert (series["GEO"].latitude, series["GEO"].longitude) == (20.646, 106.051)
    updated_at = Programme.objects.get(pk=catalogue.weekly.pk).updated_at
    assert series["DTSTAMP"].dt == updated_at.replace(microsecond=0)
    assert series["LAST-MODIFIED"].dt == series["DTSTAMP"].dt
    # and the calendar itself
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == venue.name


def test_response_headers_and_stable_uids(client, venue, catalogue):
    # given a venue feed
    url = reverse("feeds:venue", args=[venue.slug])

    # when it is read twice
    first, second = client.get(url), client.get(url)

    # then it is served as an inline calendar, identically, with stable UIDs
    assert first["Content-Type"] == "text/calendar; charset=utf-8"
    assert first["Content-Disposition"] == f'inline; filename="venue-{venue.slug}.ics"'
    assert _uids(first) == _uids(second)
    assert f"programme-{catalogue.weekly.pk}@{HOST}" in _uids(first)
    assert first.content == second.content


@pytest.mark.parametrize("kind", FEEDS)
def test_conditional_get_returns_304_until_something_changes(client, ctx, catalogue, kind):
    # given a feed read once
    url_name, args, _q = FEEDS[kind](ctx)
    url = reverse(url_name, args=args)
    response = client.get(url)
    etag, last_modified = response["ETag"], response["Last-Modified"]

    # when it is asked again with the validators
    by_etag = client.get(url, HTTP_IF_NONE_MATCH=etag)
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)

    # then nothing is sent again
    assert by_etag.status_code == 304
    assert by_date.status_code == 304

    # when a date is cancelled
    occurrence_cancel(occurrence=_nth(catalogue.weekly, 6))
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)

    # then the feed is sent again, with a new ETag
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_unpublishing_changes_the_etag(client, venue, catalogue):
    # given a venue feed read once
    url = reverse("feeds:venue", args=[venue.slug])
    etag = client.get(url)["ETag"]

    # when a programme is withdrawn
    programme_cancel(programme=catalogue.one_off)
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    # then the feed is sent again without it
    assert response.status_code == 200
    assert f"programme-{catalogue.one_off.pk}@{HOST}" not in _uids(response)


def test_edited_title_shows_in_the_feed(client, venue, catalogue):
    # given a venue feed read once
    url = reverse("feeds:venue", args=[venue.slug])
    etag = client.get(url)["ETag"]

    # when a title changes
    programme_update(programme=catalogue.daily, title="Giờ đọc buổi tối (mới)")
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    # then the feed is sent again with it
    assert response.status_code == 200
    assert "Giờ đọc buổi tối (mới)" in response.content.decode()


def test_series_ended_long_ago_leaves_the_feed(client, venue, today):
    # given a series that ended 40 days ago and one that ended 10 days ago
    long_ago = make_programme(
        venue=venue, day=today - dt.timedelta(days=100), recurrence="weekly", weekdays=["MO"],
        repeat_until=today - dt.timedelta(days=40),
    )
    recently = make_programme(
        venue=venue, day=today - dt.timedelta(days=100), recurrence="weekly", weekdays=["MO"],
        repeat_until=today - dt.timedelta(days=10),
    )
    one_off_long_ago = make_programme(venue=venue, day=today - dt.timedelta(days=40))

    # when the venue feed is read
    uids = _uids(client.get(reverse("feeds:venue", args=[venue.slug])))

    # then only the recent one is still there
    assert f"programme-{recently.pk}@{HOST}" in uids
    assert f"programme-{long_ago.pk}@{HOST}" not in uids
    assert f"programme-{one_off_long_ago.pk}@{HOST}" not in uids


def test_inactive_venue_programmes_leave_area_feeds(client, province, venue, catalogue):
    # given a venue that closed
    venue.is_active = False
    venue.save()

    # when the province feed is read
    response = client.get(reverse("feeds:unit", args=[province.code]))

    # then none of its programmes are in it, and its own feed is gone
    assert _uids(response) == []
    assert client.get(reverse("feeds:venue", args=[venue.slug])).status_code == 404


def _feed_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_feed_costs_a_fixed_number_of_queries(client, commune, today):
    # given one venue with one series and another with ten, each with a cancelled and a moved date
    small = make_venue(admin_unit=commune)
    large = make_venue(admin_unit=commune)
    for venue, count in ((small, 1), (large, 10)):
        for n in range(count):
            programme = make_programme(
                venue=venue, day=today + dt.timedelta(days=1 + n), recurrence="weekly", weekdays=["MO", "TH"],
                repeat_until=today + dt.timedelta(days=90),
            )
            occurrence_cancel(occurrence=_nth(programme, 1))
            to_move = _nth(programme, 2)
            occurrence_move(
                occurrence=to_move, start=to_move.start + dt.timedelta(hours=3), end=to_move.end + dt.timedelta(hours=3)
            )

    # when both feeds are read
    small_queries = _feed_queries(client, reverse("feeds:venue", args=[small.slug]))
    large_queries = _feed_queries(client, reverse("feeds:venue", args=[large.slug]))

    # then they cost the same: venue, aggregate, programmes, exceptional dates
    assert small_queries == large_queries == 4


def test_conditional_hit_costs_two_queries(client, venue, catalogue):
    # given a venue feed read once
    url = reverse("feeds:venue", args=[venue.slug])
    etag = client.get(url)["ETag"]

    # when it is asked again unchanged
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    # then only the venue and the aggregate were read
    assert response.status_code == 304
    assert len(queries) == 2


def test_occurrence_ics_is_the_single_instance(client, catalogue):
    # given a moved date of a weekly series
    occurrence = catalogue.moved_weekly

    # when its .ics is read
    response = client.get(reverse("feeds:occurrence", args=[occurrence.pk]))

    # then it expands to that one instant and nothing else
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'inline; filename="occurrence-{occurrence.pk}.ics"'
    calendar = Calendar.from_ical(response.content)
    events = recurring_ical_events.of(calendar).between(
        occurrence.start - dt.timedelta(days=365), occurrence.start + dt.timedelta(days=365)
    )
    assert [(e["DTSTART"].dt, e["DTEND"].dt) for e in events] == [(occurrence.start, occurrence.end)]
    assert _uids(response) == [f"occurrence-{occurrence.pk}@{HOST}"]
    assert "STATUS" not in events[0]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    assert response["ETag"] and response["Last-Modified"]
    again = client.get(reverse("feeds:occurrence", args=[occurrence.pk]), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_cancelled_occurrence_ics_says_cancelled(client, catalogue):
    # given a cancelled date and the date of a cancelled one-off
    for occurrence in (catalogue.cancelled_weekly, _nth(catalogue.cancelled_one_off, 0)):
        # when its .ics is read
        response = client.get(reverse("feeds:occurrence", args=[occurrence.pk]))

        # then it is served with STATUS:CANCELLED
        assert response.status_code == 200
        (vevent,) = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(vevent["STATUS"]) == "CANCELLED"


def test_cancelled_programme_occurrence_ics_says_cancelled(client, catalogue):
    # given a whole programme cancelled
    programme_cancel(programme=catalogue.one_off)

    # when the .ics of its date is read
    response = client.get(reverse("feeds:occurrence", args=[_nth(catalogue.one_off, 0).pk]))

    # then it says so
    (vevent,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize(
    "url_name, args",
    [
        ("feeds:venue", ["no-such-venue"]),
        ("feeds:unit", ["NO-SUCH-UNIT"]),
        ("feeds:category", ["no-such-category"]),
        ("feeds:occurrence", [999999]),
    ],
)
def test_unknown_scope_is_404(client, db, url_name, args):
    # when a feed of something that does not exist is asked for
    response = client.get(reverse(url_name, args=args))

    # then it is not found
    assert response.status_code == 404


def test_draft_occurrence_ics_is_404(client, catalogue):
    # when the .ics of a draft programme's date is asked for
    response = client.get(reverse("feeds:occurrence", args=[_nth(catalogue.draft, 0).pk]))

    # then it is not found
    assert response.status_code == 404


def test_feeds_refuse_writes(client, venue):
    # when a feed is posted to
    response = client.post(reverse("feeds:venue", args=[venue.slug]))

    # then the method is not allowed
    assert response.status_code == 405
