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

from attendance.models import CheckIn
from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, register
from tests.factories import make_user
from venues.models import StaffRole, Venue


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


class CacheSpy:
    """The cache, with every call counted."""

    def __init__(self, cache):
        self.cache, self.calls = cache, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.cache, name)


def test_a_second_scan_asks_the_cache_nothing_and_confirms_the_token_in_its_locking_read(
    venue, door, scanner, monkeypatch
):
    from attendance import door_auth

    # given a scanner that has scanned once
    assert scan(scanner, venue.slug, door[0]).status_code == 200
    spy = CacheSpy(door_auth.cache)
    monkeypatch.setattr(door_auth, "cache", spy)

    # when it scans again
    with CaptureQueriesContext(connection) as queries:
        response = scan(scanner, venue.slug, door[1])

    # then it is admitted with its token remembered by this process, not asked of the cache,
    # and the token and door roles are read only inside the statement that locks the ticket
    assert response.status_code == 200 and response.json()["result"] == "ok"
    assert spy.calls == []
    reading = [q["sql"] for q in queries if "authtoken_token" in q["sql"] or "venues_staffrole" in q["sql"]]
    assert len(reading) == 1 and 'FROM "attendance_ticket" t INNER JOIN' in reading[0]


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


# Changes made by another process (or by queryset.update()) send no signal that reaches
# this process's memory: the scan itself must find out, and record nothing.


def remembered_scanner(venue, door, scanner):
    assert scan(scanner, venue.slug, door[0]).json()["result"] == "ok"
    assert scan(scanner, venue.slug, door[1]).json()["result"] == "ok"  # answered from memory


def nothing_recorded(ticket, before: int) -> bool:
    ticket.refresh_from_db()
    return CheckIn.objects.count() == before and ticket.admitted == 0


def without_signals(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_door_role_removed_without_signals_refuses_the_next_scan_and_records_nothing(
    venue, door, scanner, teammate
):
    # given a scanner whose token this process remembers
    remembered_scanner(venue, door, scanner)
    before = CheckIn.objects.count()

    # when another process removes the person's door role
    without_signals("DELETE FROM venues_staffrole WHERE user_id = %s", [teammate.pk])

    # then the next scan is refused as the database now says, and nothing is recorded
    response = scan(scanner, venue.slug, door[2])
    assert response.status_code == 403 and response.json()["code"] == "not_door_staff"
    assert nothing_recorded(door[2], before)


def test_a_user_deactivated_without_signals_is_refused_at_the_next_scan(venue, door, scanner, teammate):
    remembered_scanner(venue, door, scanner)
    before = CheckIn.objects.count()

    type(teammate).objects.filter(pk=teammate.pk).update(is_active=False)

    response = scan(scanner, venue.slug, door[2])
    assert response.status_code == 401 and response.has_header("WWW-Authenticate")
    assert nothing_recorded(door[2], before)


def test_a_token_deleted_without_signals_is_refused_even_for_an_unknown_code(venue, door, scanner, teammate):
    remembered_scanner(venue, door, scanner)
    before = CheckIn.objects.count()

    without_signals("DELETE FROM authtoken_token WHERE user_id = %s", [teammate.pk])

    # then neither a ticket nor a code that matches no ticket is judged or recorded
    unknown = scanner.post(
        "/api/door/scan", {"code": "no-such-ticket", "scan_id": uuid.uuid4().hex, "venue": venue.slug}, format="json"
    )
    assert unknown.status_code == 401
    assert scan(scanner, venue.slug, door[2]).status_code == 401
    assert nothing_recorded(door[2], before)


def test_a_venue_renamed_without_signals_is_known_only_by_its_new_address(venue, door, scanner):
    remembered_scanner(venue, door, scanner)

    Venue.objects.filter(pk=venue.pk).update(slug="thu-vien-moi")

    assert scan(scanner, venue.slug, door[2]).json()["code"] == "unknown_venue"
    assert scan(scanner, "thu-vien-moi", door[2]).json()["result"] == "ok"


def test_a_door_given_without_signals_opens_at_the_next_scan(venue, other_venue, door, scanner, teammate):
    remembered_scanner(venue, door, scanner)

    StaffRole.objects.bulk_create([StaffRole(user=teammate, role=StaffRole.Role.DOOR, venue=other_venue)])

    response = scan(scanner, other_venue.slug, door[2])
    assert response.status_code == 200 and response.json()["result"] == "wrong_venue"


def test_the_scans_confirmation_gives_each_door_to_whom_the_door_roles_give_it(
    venue, other_venue, owner, teammate, outsider, officer
):
    from attendance.door_auth import grant_read
    from common.sql import read_together
    from venues.selectors import DOOR, venues_by_slug_for_user

    # given people with every kind of role, a superuser and a deactivated door keeper
    people = [owner, teammate, outsider, officer, make_user(username="root", is_superuser=True)]
    people.append(make_user(username="gone", role=StaffRole.Role.DOOR, venue=venue, is_active=False))
    for person in people:
        token, _ = Token.objects.get_or_create(user=person)
        for place in (venue, other_venue):
            # when the scan's confirmation is read for their token at each venue
            (confirmed,) = read_together([grant_read(token, place)])

            # then it agrees with the venues the door roles give them (None: every venue)
            doors = venues_by_slug_for_user(person, DOOR)
            assert bool(confirmed) == (doors is None or place.slug in doors), (person.username, place.slug)


def test_this_process_remembers_a_bounded_number_of_tokens(venue, door, teammate, owner, monkeypatch):
    from attendance import door_auth

    # given room for two tokens
    monkeypatch.setattr(door_auth, "REMEMBERED_MAX", 2)
    monkeypatch.setattr(door_auth, "_remembered", {})
    keys = [Token.objects.create(user=user).key for user in (teammate, owner)]
    keys.append(Token.objects.create(user=make_user(username="third", role=StaffRole.Role.DOOR, venue=venue)).key)

    # when three scanners authenticate in turn
    for key in keys:
        door_auth.RememberedTokenAuthentication().authenticate_credentials(key)

    # then the two most recent are remembered
    assert set(door_auth._remembered) == {door_auth._cache_key(k) for k in keys[1:]}


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
    assert all(throttle.throttle_hits([("register_ip", "198.51.100.7", 1, 600)]) == [True] for _ in range(3))
