"""The read API: public venues and upcoming occurrences, and the token-scoped
list of programmes a staff user may view."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from common.timeutil import to_local
from events.models import Programme
from events.services import occurrence_cancel
from tests.factories import make_programme, make_venue


def token_headers(user) -> dict:
    token, _created = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


def results(response) -> list:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def soon():
    return timezone.localdate() + dt.timedelta(days=3)


@pytest.fixture
def talk(venue, soon):
    return make_programme(venue=venue, title="Nói chuyện chuyên đề", day=soon, category="talk")


@pytest.fixture
def exhibition(other_venue, soon):
    return make_programme(
        venue=other_venue, title="Triển lãm di sản", day=soon + dt.timedelta(days=10), category="exhibition"
    )


# --- venues -----------------------------------------------------------------


def test_venues_are_public(client, venue, other_venue, province):
    # given an inactive venue besides the two active ones
    make_venue(admin_unit=province, name="Thư viện đã đóng", is_active=False)

    # when anyone lists venues
    response = client.get("/api/venues/")

    # then the active ones are listed with their unit and province
    rows = results(response)
    assert [r["slug"] for r in rows] == [other_venue.slug, venue.slug]
    by_slug = {r["slug"]: r for r in rows}
    assert by_slug[venue.slug]["admin_unit"]["name"] == "Phường Phố Hiến"
    assert by_slug[venue.slug]["province"]["name"] == "Tỉnh Hưng Yên"


def test_venues_filter_by_province_and_kind(client, venue, other_venue, province):
    # when filtered by the province's code (which includes its communes), then by kind
    in_province = results(client.get("/api/venues/", {"unit": province.code}))
    museums = results(client.get("/api/venues/", {"kind": "museum"}))

    # then each filter keeps only the matching venue
    assert [r["slug"] for r in in_province] == [venue.slug]
    assert [r["slug"] for r in museums] == [other_venue.slug]


@pytest.mark.parametrize("params", [{"kind": "zoo"}, {"unit": "no-such-code"}])
def test_venues_bad_filter_is_400(client, venue, params):
    # when a filter has an unknown value
    response = client.get("/api/venues/", params)

    # then the client is told which parameter is wrong
    assert response.status_code == 400
    assert list(response.json()) == list(params)


def test_venue_detail_by_slug(client, venue):
    # when one venue is read by its slug
    response = client.get(f"/api/venues/{venue.slug}/")

    # then it is returned with a link to its public page
    assert response.status_code == 200
    assert response.json()["name"] == venue.name
    assert response.json()["url"].endswith(venue.get_absolute_url())


# --- public occurrences -----------------------------------------------------


def test_only_upcoming_published_dates_are_listed(client, venue, talk, exhibition, soon):
    # given a draft and a past programme besides two published upcoming ones
    make_programme(venue=venue, title="Bản nháp", day=soon, status=Programme.Status.DRAFT)
    make_programme(venue=venue, title="Đã qua", day=timezone.localdate() - dt.timedelta(days=3))

    # when anyone lists occurrences
    rows = results(client.get("/api/occurrences/"))

    # then only the published upcoming dates are there, soonest first
    assert [r["programme"]["title"] for r in rows] == ["Nói chuyện chuyên đề", "Triển lãm di sản"]
    first = rows[0]
    assert first["venue"] == {"slug": venue.slug, "name": venue.name}
    assert first["cancelled"] is False
    assert first["url"].endswith(f"/events/{first['id']}/")
    assert first["ics_url"].endswith(f"/calendar/occurrence/{first['id']}.ics")
    assert dt.datetime.fromisoformat(first["start"]) == talk.occurrences.get().start


def test_filter_by_venue_and_category(client, venue, other_venue, talk, exhibition):
    # when filtered by venue, then by category
    at_venue = results(client.get("/api/occurrences/", {"venue": venue.slug}))
    exhibitions = results(client.get("/api/occurrences/", {"category": "exhibition"}))

    # then each keeps its own programme
    assert [r["programme"]["id"] for r in at_venue] == [talk.pk]
    assert [r["programme"]["id"] for r in exhibitions] == [exhibition.pk]


def test_filter_by_local_date_range(client, talk, exhibition, soon):
    # when filtered to the talk's day only (dates are local days, both ends included)
    rows = results(client.get("/api/occurrences/", {"date_from": soon.isoformat(), "date_to": soon.isoformat()}))
    later = results(client.get("/api/occurrences/", {"date_from": (soon + dt.timedelta(days=1)).isoformat()}))

    # then only that day's date is listed
    assert [r["programme"]["id"] for r in rows] == [talk.pk]
    assert [r["programme"]["id"] for r in later] == [exhibition.pk]


def test_cancelled_dates_only_on_request(client, talk):
    # given the talk's date is cancelled
    occurrence_cancel(occurrence=talk.occurrences.get())

    # when listing with and without include_cancelled
    default = results(client.get("/api/occurrences/"))
    included = results(client.get("/api/occurrences/", {"include_cancelled": "true"}))

    # then it appears, flagged, only when asked for
    assert default == []
    assert [r["cancelled"] for r in included] == [True]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"date_from": "21/04/2026"}, "date_from"),
        ({"category": "party"}, "category"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
    ],
)
def test_bad_occurrence_filter_is_400(client, params, field, db):
    # when a filter is malformed
    response = client.get("/api/occurrences/", params)

    # then a 400 names the parameter
    assert response.status_code == 400
    assert field in response.json()


def test_a_draft_occurrence_is_not_found(client, venue, soon):
    # given a draft programme
    draft = make_programme(venue=venue, day=soon, status=Programme.Status.DRAFT)

    # when its date is read directly
    response = client.get(f"/api/occurrences/{draft.occurrences.get().pk}/")

    # then it does not exist for the public
    assert response.status_code == 404


def test_listing_costs_a_fixed_number_of_queries(client, venue, soon):
    # given one programme, then many
    make_programme(venue=venue, day=soon)
    with CaptureQueriesContext(connection) as one:
        results(client.get("/api/occurrences/"))
    for n in range(5):
        make_programme(venue=venue, day=soon + dt.timedelta(days=n + 1), title=f"Buổi {n}")

    # when listing again
    with CaptureQueriesContext(connection) as many:
        rows = results(client.get("/api/occurrences/"))

    # then the query count did not grow
    assert len(rows) == 6
    assert len(many) == len(one)


# --- staff programmes (token-scoped) ----------------------------------------


def test_owner_token_sees_own_venue_programmes_only(client, owner, talk, exhibition, venue):
    # given a draft at the owner's venue too
    draft = make_programme(venue=venue, title="Bản nháp", status=Programme.Status.DRAFT)

    # when the owner lists programmes with their token
    rows = results(client.get("/api/staff/programmes/", headers=token_headers(owner)))

    # then every programme of their venue (drafts included) and nothing else
    assert sorted(r["id"] for r in rows) == sorted([talk.pk, draft.pk])
    assert {r["venue"] for r in rows} == {venue.slug}
    by_id = {r["id"]: r for r in rows}
    assert by_id[draft.pk]["status"] == "draft"
    assert by_id[talk.pk]["title"] == "Nói chuyện chuyên đề"
    assert to_local(dt.datetime.fromisoformat(by_id[talk.pk]["start"])).time() == dt.time(9, 0)


def test_owner_cannot_read_another_venues_programme(client, owner, exhibition):
    # when the owner asks for a programme of another venue
    response = client.get(f"/api/staff/programmes/{exhibition.pk}/", headers=token_headers(owner))

    # then it is not found
    assert response.status_code == 404


def test_officer_token_sees_the_provinces_programmes(client, officer, talk, exhibition):
    # when the province's officer lists programmes
    rows = results(client.get("/api/staff/programmes/", headers=token_headers(officer)))

    # then they see the venue in their province, not the other province's
    assert [r["id"] for r in rows] == [talk.pk]


def test_staff_programmes_filter_by_status(client, owner, talk, venue):
    # given a draft besides the published talk
    make_programme(venue=venue, title="Bản nháp", status=Programme.Status.DRAFT)

    # when filtered to published ones
    rows = results(client.get("/api/staff/programmes/", {"status": "published"}, headers=token_headers(owner)))

    # then only the talk is listed
    assert [r["id"] for r in rows] == [talk.pk]


def test_staff_programmes_need_a_staff_user(client, citizen, talk):
    # when an anonymous client, a bad token and a user without a role ask
    anonymous = client.get("/api/staff/programmes/")
    bad_token = client.get("/api/staff/programmes/", headers={"Authorization": "Token not-a-token"})
    no_role = client.get("/api/staff/programmes/", headers=token_headers(citizen))

    # then all are refused
    assert anonymous.status_code in (401, 403)
    assert bad_token.status_code in (401, 403)
    assert no_role.status_code == 403


def test_public_endpoints_are_read_only(client, owner, venue):
    # when even a staff user tries to write
    response = client.post("/api/venues/", {"name": "x"}, headers=token_headers(owner))

    # then the method is not allowed
    assert response.status_code == 405


def test_schema_is_served(client, db):
    # when the OpenAPI schema is requested
    response = client.get("/api/schema/")

    # then it lists the three endpoints
    assert response.status_code == 200
    body = response.content.decode()
    for path in ("/api/venues/", "/api/occurrences/", "/api/staff/programmes/"):
        assert path in body


def test_schema_generates_without_warnings(db):
    # when the schema is generated strictly (warnings are errors)
    from django.core.management import call_command

    # then it does not raise
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_every_door_endpoint_takes_the_same_token_or_the_session(client, db):
    # when the OpenAPI schema is requested as JSON
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    # then the scan, like the door's other endpoints, accepts one token scheme or the session
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    for path in ("/api/door/scan", "/api/door/undo", "/api/door/sync"):
        assert schema["paths"][path]["post"]["security"] == [{"tokenAuth": []}, {"cookieAuth": []}], path
