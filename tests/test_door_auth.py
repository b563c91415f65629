"""A scanner's token is remembered between scans, and forgotten as soon as what it
grants changes: the token, its user, their roles or their venue."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, register
from venues.models import StaffRole


@pytest.fixture
def door(venue):
    occurrence = make_occurrence(venue=venue, capacity=60, days_ahead=1)
    tickets = [register(occurrence, phone=f"09120000{i:02d}").registration.ticket for i in range(4)]
    start = timezone.now() - dt.timedelta(minutes=5)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    return tickets


@pytest.fixture
def scanner(teammate):
    token, _ = Token.objects.get_or_create(user=teammate)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def scan(client, venue_slug, ticket):
    return client.post(
        "/api/door/scan", {"code": ticket.secret, "scan_id": uuid.uuid4().hex, "venue": venue_slug}, format="json"
    )


def tables_read(queries) -> str:
    return " ".join(q["sql"] for q in queries)


def test_a_second_scan_reads_neither_the_token_nor_the_roles(venue, door, scanner):
    # given a scanner that has scanned once
    assert scan(scanner, venue.slug, door[0]).status_code == 200

    # when it scans again
    with CaptureQueriesContext(connection) as queries:
        response = scan(scanner, venue.slug, door[1])

    # then it is admitted without reading the token or the door roles again
    assert response.status_code == 200 and response.json()["result"] == "ok"
    assert "authtoken_token" not in tables_read(queries)
    assert "venues_staffrole" not in tables_read(queries)


def test_with_the_cache_off_every_scan_reads_the_token(venue, door, scanner, settings):
    settings.DOOR_TOKEN_CACHE_SECONDS = 0
    scan(scanner, venue.slug, door[0])
    with CaptureQueriesContext(connection) as queries:
        assert scan(scanner, venue.slug, door[1]).status_code == 200
    assert "authtoken_token" in tables_read(queries)


def test_a_removed_door_role_closes_the_door_at_once(venue, door, scanner, teammate):
    # given a scanner whose token is remembered
    assert scan(scanner, venue.slug, door[0]).status_code == 200

    # when the person's door role is removed
    StaffRole.objects.get(user=teammate).delete()

    # then the next scan is refused
    response = scan(scanner, venue.slug, door[1])
    assert response.status_code == 403 and response.json()["code"] == "not_door_staff"


def test_a_deactivated_user_or_deleted_token_is_refused_at_once(venue, door, scanner, teammate):
    assert scan(scanner, venue.slug, door[0]).status_code == 200

    teammate.is_active = False
    teammate.save()
    assert scan(scanner, venue.slug, door[1]).status_code == 401

    teammate.is_active = True
    teammate.save()
    assert scan(scanner, venue.slug, door[1]).status_code == 200

    Token.objects.filter(user=teammate).get().delete()
    assert scan(scanner, venue.slug, door[2]).status_code == 401


def test_a_role_at_a_second_venue_opens_its_door_at_once(venue, other_venue, door, scanner, teammate):
    # given a remembered scanner of one venue
    assert scan(scanner, venue.slug, door[0]).status_code == 200
    assert scan(scanner, other_venue.slug, door[1]).status_code == 403

    # when the person is given the door of another venue
    StaffRole.objects.create(user=teammate, role=StaffRole.Role.DOOR, venue=other_venue)

    # then that door opens to them (the ticket is of the first venue: a wrong-venue answer)
    response = scan(scanner, other_venue.slug, door[1])
    assert response.status_code == 200 and response.json()["result"] == "wrong_venue"


def test_a_renamed_venue_is_known_by_its_new_address_at_once(venue, door, scanner):
    assert scan(scanner, venue.slug, door[0]).status_code == 200
    old_slug = venue.slug

    venue.slug = "thu-vien-moi"
    venue.save()

    assert scan(scanner, "thu-vien-moi", door[1]).json()["result"] == "ok"
    assert scan(scanner, old_slug, door[2]).json()["code"] == "unknown_venue"


class BrokenCache:
    """A cache whose server is down: every call fails as django-redis / RedisCache would."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        return fail


def test_with_the_cache_down_the_door_still_scans_and_roles_still_change(venue, door, scanner, teammate, monkeypatch):
    # given the cache server down
    from attendance import door_auth

    monkeypatch.setattr(door_auth, "cache", BrokenCache())

    # when a scanner scans, then it is admitted (its token and roles read from the database)
    assert scan(scanner, venue.slug, door[0]).json()["result"] == "ok"

    # and when the person's role is removed, the change is saved and the next scan refused
    StaffRole.objects.get(user=teammate).delete()
    assert scan(scanner, venue.slug, door[1]).status_code == 403


def test_with_the_cache_down_registration_is_not_refused_by_the_rate_limit(monkeypatch):
    from common import throttle

    monkeypatch.setattr(throttle, "cache", BrokenCache())
    assert all(throttle.throttle_hit("register_ip", "198.51.100.7", limit=1, window=600) for _ in range(3))
