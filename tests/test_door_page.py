"""The scanner page at the door and its venue picker: who may open them, and
what the page carries to work offline (vendored scripts only, today's dates,
the texts of every answer, a service worker under /door/)."""

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from attendance.texts import SCAN_MESSAGES
from attendance.views_door import QR_WORKER, STATIC_FILES
from events.models import Occurrence
from tests.access import assert_login_redirect, login_as
from tests.attendance_helpers import make_occurrence
from tests.factories import make_user
from venues.models import StaffRole

ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]


def door_config(response) -> dict:
    match = re.search(r'<script id="door-config" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert match, "the page carries its configuration"
    return json.loads(match.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_the_scanner_page_is_for_the_venues_managers_and_door_staff(client, request, venue, role):
    # given a user in some role
    login_as(client, request, role)

    # when they open the scanner of the venue
    response = client.get(reverse("door:scanner", args=[venue.slug]))

    # then only its manager and door staff get it; the others as on staff pages
    expected = {"owner": 200, "teammate": 200, "outsider": 404, "officer": 403, "citizen": 403}
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ROLES)
def test_the_venue_picker_lists_the_venues_where_the_user_works_the_door(client, request, venue, other_venue, role):
    login_as(client, request, role)

    response = client.get(reverse("door:venues"))

    if role == "anonymous":
        assert_login_redirect(response)
    elif role in ("officer", "citizen"):
        assert response.status_code == 403
    else:
        own = other_venue if role == "outsider" else venue
        assert response.status_code == 200
        assert [v.slug for v in response.context["venues"]] == [own.slug]
        assert reverse("door:scanner", args=[own.slug]) in response.content.decode()


def test_the_venue_picker_lists_every_venue_of_door_staff_of_two(client, venue, other_venue):
    # given door staff of two venues
    user = make_user(username="both", role=StaffRole.Role.DOOR, venue=venue)
    StaffRole.objects.create(user=user, role=StaffRole.Role.DOOR, venue=other_venue)
    client.force_login(user)

    response = client.get(reverse("door:venues"))

    assert response.status_code == 200
    assert [v.slug for v in response.context["venues"]] == [other_venue.slug, venue.slug]
    for v in (venue, other_venue):
        assert reverse("door:scanner", args=[v.slug]) in response.content.decode()


def test_the_page_uses_only_vendored_scripts(client, venue, teammate):
    client.force_login(teammate)
    html = client.get(reverse("door:scanner", args=[venue.slug])).content.decode()

    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert "/static/vendor/qr-scanner/qr-scanner.umd.min.js" in sources
    assert "/static/door/scanner.js" in sources
    assert not [src for src in sources if "http" in src or src.startswith("//")]
    assert not re.search(r'<link[^>]+href="(https?:)?//', html)


def test_the_page_has_a_focused_wedge_field_the_dates_of_today_and_the_answers(client, venue, teammate):
    # given a date today at the venue and one another day
    today = make_occurrence(venue=venue, days_ahead=1, title="Giờ đọc truyện")
    start = timezone.now() - dt.timedelta(minutes=5)
    Occurrence.objects.filter(pk=today.pk).update(start=start, end=start + dt.timedelta(hours=1))
    make_occurrence(venue=venue, days_ahead=2, title="Ngày khác")
    client.force_login(teammate)

    response = client.get(reverse("door:scanner", args=[venue.slug]))

    html = response.content.decode()
    assert re.search(r'<input id="door-code"[^>]*\sautofocus', html)
    assert f'<option value="{today.pk}">' in html and "Giờ đọc truyện" in html
    assert "Ngày khác" not in html
    config = door_config(response)
    assert config["venue"] == venue.slug
    assert set(config["messages"]) == {str(code) for code in SCAN_MESSAGES}
    assert config["colours"]["ok"] == "green" and config["colours"]["unknown"] == "red"
    assert config["urls"]["scan"] == "/api/door/scan" and config["urls"]["sync"] == "/api/door/sync"
    assert config["urls"]["sw"] == "/door/sw.js" and config["urls"]["sw_scope"] == "/door/"
    assert config["csrf_token"] and config["csrf_cookie"] in response.cookies
    assert config["counts"] == {"checked_in": 0, "expected": 0, "walk_ins": 0}
    assert "/static/vendor/qr-scanner/qr-scanner-worker.min.js" in config["precache"]
    assert reverse("door:scanner", args=[venue.slug]) in config["precache"]


def test_the_page_speaks_vietnamese_by_default(client, venue, teammate):
    client.force_login(teammate)
    response = client.get(reverse("door:scanner", args=[venue.slug]))
    assert response.status_code == 200
    assert '<html lang="vi">' in response.content.decode()


def test_the_service_worker_is_served_under_door_with_its_scope(client):
    response = client.get(reverse("door:sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/door/"
    assert "no-cache" in response["Cache-Control"]
    assert "precache" in response.content.decode()


def test_the_vendored_files_are_there_with_their_licence():
    for path in [*STATIC_FILES, QR_WORKER, "door/sw.js", "vendor/qr-scanner/LICENSE"]:
        assert finders.find(path), path
    with open(finders.find("vendor/qr-scanner/LICENSE"), encoding="utf-8") as licence:
        assert "MIT License" in licence.read()
