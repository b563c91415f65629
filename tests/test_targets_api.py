"""The public targets API for a provincial portal: visit totals and indicator
progress of a unit and year, its schema, its errors and its throttle."""

import datetime as dt

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from attendance.totals import visits_add
from targets.models import Indicator, Target
from tests.factories import make_programme, make_venue
from venues.models import Venue

YEAR = 2024


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def figures(province, commune, venue, other_venue):
    """Given: the provincial library with 6,000 walk-ins in March and 100 children
    scanned at a reading date in April, a museum with 3,000 adults in May, a visit in
    another province and one in another year (neither counted), and a target."""
    museum = make_venue(admin_unit=commune, name="Bảo tàng tỉnh Hưng Yên", kind=Venue.Kind.MUSEUM, slug="bao-tang-hy")
    occurrence = make_programme(venue=venue, day=dt.date(YEAR, 4, 21), category="reading").occurrences.get()
    visits_add(venue_id=venue.pk, day=dt.date(YEAR, 3, 5), walk_ins=6000)
    visits_add(venue_id=venue.pk, day=dt.date(YEAR, 4, 21), occurrence=occurrence, audience="children", checked_in=100)
    visits_add(venue_id=museum.pk, day=dt.date(YEAR, 5, 18), walk_ins=3000, audience="adults")
    visits_add(venue_id=other_venue.pk, day=dt.date(YEAR, 5, 18), walk_ins=777)
    visits_add(venue_id=venue.pk, day=dt.date(YEAR + 1, 1, 1), walk_ins=999)
    target = Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS, value=10000, value_max=12000,
        source_document="KH 45/KH-UBND",
    )
    return {"museum": museum, "target": target}


def test_totals_by_venue_month_category_and_audience(api, province, venue, figures):
    """Given the figures, when a portal asks for the province's totals of 2024,
    anonymously, then visits are summed by venue and month, by category and by
    audience, without the other province's or year's visits."""
    response = api.get("/api/targets/totals", {"unit": province.code, "year": YEAR})

    assert response.status_code == 200
    data = response.json()
    assert data["unit"] == {"code": province.code, "name": "Tỉnh Hưng Yên", "level": "province"}
    assert data["visits"] == 9100
    assert data["months"] == [0, 0, 6000, 100, 3000, 0, 0, 0, 0, 0, 0, 0]
    by_venue = {row["slug"]: row for row in data["by_venue"]}
    assert set(by_venue) == {venue.slug, "bao-tang-hy"}
    assert by_venue[venue.slug]["visits"] == 6100
    assert by_venue[venue.slug]["months"][2:4] == [6000, 100]
    assert {row["category"]: row["visits"] for row in data["by_category"]} == {"": 9000, "reading": 100}
    assert {row["audience"]: row["visits"] for row in data["by_audience"]} == {"": 6000, "adults": 3000, "children": 100}


def test_indicator_progress(api, province, venue, figures):
    """Given a 10,000–12,000 visits target, when the progress is read, then it lists
    the target with its range, the result 9,100 and the status not met, as numbers."""
    response = api.get("/api/targets/progress", {"unit": province.code, "year": YEAR}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["indicator"] == "visits" and result["year"] == YEAR and result["base_year"] is None
    assert (result["target"], result["value_max"], result["result"]) == (10000, 12000, 9100)
    assert (result["status"], result["status_label"]) == ("not_met", "Not met")
    assert result["source"] == "KH 45/KH-UBND" and result["scope"] == "Tỉnh Hưng Yên"


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"unit": "NOPE", "year": YEAR}, 404, "unknown_unit", "unit"),
        ({"year": YEAR}, 400, "required", "unit"),
        ({"unit": "{unit}", "year": "abc"}, 400, "invalid", "year"),
        ({"unit": "{unit}"}, 400, "invalid", "year"),
        ({"unit": "{unit}", "year": 1800}, 400, "invalid", "year"),
    ],
)
@pytest.mark.parametrize("path", ["/api/targets/totals", "/api/targets/progress"])
def test_bad_parameters_get_a_json_error(api, province, path, params, status, code, field):
    """Given a bad unit or year, when either endpoint is asked, then the answer is a
    400 or 404 with {code, message, field}, never a 500."""
    params = {k: (v.format(unit=province.code) if isinstance(v, str) else v) for k, v in params.items()}

    response = api.get(path, params, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == status
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]


def test_error_messages_follow_accept_language(api, province):
    """Given the same bad request in Vietnamese and in English, then the messages
    differ as the languages do (the unknown unit message is translated already)."""
    vietnamese = api.get("/api/targets/totals", {"unit": "NOPE", "year": YEAR}, HTTP_ACCEPT_LANGUAGE="vi").json()
    english = api.get("/api/targets/totals", {"unit": "NOPE", "year": YEAR}, HTTP_ACCEPT_LANGUAGE="en").json()

    assert english["message"] == "Unknown administrative unit: NOPE."
    assert vietnamese["message"] != english["message"] and "NOPE" in vietnamese["message"]


def test_the_endpoints_are_in_the_openapi_schema(api):
    """Given the schema, then both paths are documented with their parameters."""
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = response.json()
    for path in ("/api/targets/totals", "/api/targets/progress"):
        operation = schema["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"unit", "year"}
        assert {"200", "400", "404"} <= set(operation["responses"])


def test_clients_are_throttled(api, province, settings):
    """Given a rate of 3 requests a minute, when one client asks a fourth time, then
    it gets 429 with Retry-After."""
    settings.TARGETS_API_RATE = "3/min"

    answers = [api.get("/api/targets/totals", {"unit": province.code, "year": YEAR}).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert api.get("/api/targets/totals", {"unit": province.code, "year": YEAR}).has_header("Retry-After")
