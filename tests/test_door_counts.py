"""The live counters a scan answers (checked in, expected, walk-ins) are read in
the scan's own write, and are what a fresh read gives once the scan is done."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attendance.models import CheckIn
from attendance.selectors import venue_day_counts
from attendance.services import ticket_redeem, walkin_record
from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, minutes_ago_today, register
from tests.test_door_api import counts, new_id, open_door, post

CASES = ["ok", "group_part", "already", "unknown", "wrong_venue", "counted_by_hand", "offline_takeover", "replay"]


@pytest.fixture
def api(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@dataclass
class Door:
    today: Occurrence
    parties: list  # tickets of parties of 2, not yet scanned
    group: object  # the ticket of a group of 30


@pytest.fixture
def door(api, venue, teammate):
    """A venue's day already under way: one party of 4 admitted, 3 walk-ins, and
    tickets not yet scanned (registration closes when a date starts, so they are
    made first), so every counter has something in it before the scan."""
    today = make_occurrence(venue=venue, capacity=60, days_ahead=1, group_bookings=True)
    earlier = register(today, party_size=4).registration.ticket
    parties = [register(today, party_size=2).registration.ticket for _ in range(2)]
    group = register(today, kind="group", organisation="Trường THCS Lê Lợi", party_size=30).registration.ticket
    open_door(today)
    ticket_redeem(code=earlier.secret, venue=venue, scan_id=new_id(), user=teammate)
    walkin_record(venue=venue, client_id=new_id(), count=3)
    api.force_login(teammate)
    return Door(today, parties, group)


def _scan(api, venue, code, **fields):
    return post(api, "/api/door/scan", {"code": code, "scan_id": new_id(), "venue": venue.slug, **fields})


def _prepare(case, api, venue, other_venue, door):
    """The scan request of each case, with what it needs on record."""
    if case == "unknown":
        return {"code": "not a ticket"}
    if case in ("wrong_venue", "counted_by_hand"):
        other = make_occurrence(venue=other_venue if case == "wrong_venue" else venue, capacity=10, days_ahead=1)
        ticket = register(other, party_size=2).registration.ticket
        open_door(other)
        Occurrence.objects.filter(pk=other.pk).update(counted_by_hand=case == "counted_by_hand")
        return {"code": ticket.secret}
    if case == "group_part":
        return {"code": door.group.secret, "headcount": 27}
    ticket = door.parties[0]
    if case == "already":
        assert _scan(api, venue, ticket.secret).json()["result"] == "ok"
    if case == "offline_takeover":
        # device B admitted the party offline a minute ago; device A, also offline, two minutes earlier
        later = minutes_ago_today(1)
        assert _scan(api, venue, ticket.secret, offline=True, scanned_at=later.isoformat()).json()["result"] == "ok"
        return {"code": ticket.secret, "offline": True, "scanned_at": minutes_ago_today(3).isoformat()}
    if case == "replay":
        scan_id = new_id()
        first = post(api, "/api/door/scan", {"code": ticket.secret, "scan_id": scan_id, "venue": venue.slug})
        assert first.json()["result"] == "ok"
        return {"code": ticket.secret, "scan_id": scan_id}
    return {"code": ticket.secret}


@pytest.mark.parametrize("case", CASES)
def test_the_counts_a_scan_answers_are_those_read_after_it(case, api, venue, other_venue, door):
    # given a day under way and a scan of each kind
    request = _prepare(case, api, venue, other_venue, door)

    # when it is scanned
    response = post(api, "/api/door/scan", {"scan_id": new_id(), "venue": venue.slug, **request})

    # then its counters are exactly what a fresh read gives afterwards
    assert response.status_code == 200, response.content
    assert response.json()["counts"] == counts(api, venue)


def test_a_fresh_scan_counts_its_party_with_what_was_there(api, venue, door):
    # given 4 admitted and 3 walk-ins, and 4 + 2 + 2 + 30 expected
    # when a party of 2 is admitted
    body = _scan(api, venue, door.parties[0].secret).json()

    # then the door shows 6 in of 38 expected, and the 3 walk-ins
    assert body["result"] == "ok"
    assert body["counts"] == {"checked_in": 6, "expected": 38, "walk_ins": 3}


def test_the_counts_are_read_in_the_scans_own_write(api, venue, door):
    # when a ticket is scanned
    with CaptureQueriesContext(connection) as queries:
        body = _scan(api, venue, door.parties[0].secret).json()

    # then the counters were read once, and on PostgreSQL by the statement that
    # records the scan (elsewhere just before it, in the same transaction)
    assert body["result"] == "ok"
    reads = [i for i, q in enumerate(queries.captured_queries) if "dc_o.seats_taken" in q["sql"]]
    inserts = [i for i, q in enumerate(queries.captured_queries) if 'INSERT INTO "attendance_checkin"' in q["sql"]]
    assert len(reads) == 1 and len(inserts) == 1
    if connection.vendor == "postgresql":
        assert reads == inserts
    else:
        assert reads[0] < inserts[0]


def test_an_offline_scan_of_an_earlier_day_leaves_todays_count(venue, teammate):
    # given a date from 23:30 to 01:30, scanned offline at 23:50 and uploaded at 00:30
    occurrence = make_occurrence(venue=venue, capacity=10, days_ahead=3)
    ticket = register(occurrence, party_size=3).registration.ticket
    tz = timezone.get_current_timezone()
    evening = dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(23, 30), tzinfo=tz)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=evening, end=evening + dt.timedelta(hours=2))
    upload = evening + dt.timedelta(hours=1)

    # when the upload is judged
    outcome = ticket_redeem(
        code=ticket.secret, venue=venue, scan_id=new_id(), user=teammate, offline=True,
        scanned_at=evening + dt.timedelta(minutes=20), now=upload, with_counts=True,
    )

    # then the party counts on the evening's day, not on the day of the upload
    assert outcome.result == CheckIn.Result.OK
    assert outcome.counts == venue_day_counts(venue=venue, day=timezone.localdate(upload))
    assert outcome.counts["checked_in"] == 0
    assert venue_day_counts(venue=venue, day=timezone.localdate(evening))["checked_in"] == 3


def test_without_asking_a_scan_reads_no_counts(venue, door, teammate):
    with CaptureQueriesContext(connection) as queries:
        outcome = ticket_redeem(code=door.parties[0].secret, venue=venue, scan_id=new_id(), user=teammate)
    assert outcome.result == CheckIn.Result.OK and outcome.counts is None
    assert not any("dc_o.seats_taken" in q["sql"] for q in queries.captured_queries)
