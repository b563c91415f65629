"""Redeeming tickets at the door: reason codes, idempotent scans, groups, walk-ins."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from attendance.models import CheckIn, Ticket
from attendance.selectors import occurrence_counts, tickets_for_day
from attendance.services import (
    ScanError,
    ScanNotConfirmed,
    WalkInError,
    checkin_undo,
    registration_cancel,
    ticket_redeem,
    walkin_record,
    walkin_undo,
)
from events.models import Occurrence
from events.services import occurrence_cancel
from tests.attendance_helpers import make_occurrence, minutes_ago_today, register

R = CheckIn.Result


def scan_id():
    return uuid.uuid4().hex


@pytest.fixture
def now_occurrence(venue):
    """A date starting in 10 minutes at the venue."""
    occurrence = make_occurrence(venue=venue, capacity=50, days_ahead=1)
    start = timezone.now() + dt.timedelta(minutes=10)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    occurrence.refresh_from_db()
    return occurrence


def ticket_for(occurrence, **kwargs) -> Ticket:
    return register(occurrence, **kwargs).registration.ticket


def redeem(ticket_or_code, venue, **kwargs):
    code = ticket_or_code.secret if isinstance(ticket_or_code, Ticket) else ticket_or_code
    kwargs.setdefault("scan_id", scan_id())
    return ticket_redeem(code=code, venue=venue, **kwargs)


def visits(occurrence):
    counts = occurrence_counts(occurrence=occurrence)
    return counts["checked_in"] + counts["walk_ins"]


def test_a_valid_ticket_is_admitted_with_its_party(now_occurrence, venue):
    ticket = ticket_for(now_occurrence, party_size=3, full_name="Trần Thị Bình")
    outcome = redeem(ticket, venue)
    assert outcome.result == R.OK
    assert outcome.details["name"] == "Trần Thị Bình" and outcome.details["party_size"] == 3
    assert visits(now_occurrence) == 3


def test_a_double_scan_is_already_checked_in_with_when_who_and_device(now_occurrence, venue, owner):
    ticket = ticket_for(now_occurrence)
    redeem(ticket, venue, user=owner, device="phone-A")
    second = redeem(ticket, venue, device="phone-B")
    assert second.result == R.ALREADY
    assert second.details["first_checked_in_by"] == "owner"
    assert second.details["first_device"] == "phone-A"
    assert "first_checked_in_at" in second.details
    assert visits(now_occurrence) == 1
    assert CheckIn.objects.count() == 2  # the denied scan is on the door log too


def test_the_same_scan_uploaded_again_is_a_no_op(now_occurrence, venue):
    ticket = ticket_for(now_occurrence, party_size=2)
    sid = scan_id()
    first = redeem(ticket, venue, scan_id=sid)
    for _ in range(3):
        again = redeem(ticket, venue, scan_id=sid)
        assert again.result == R.OK and again.checkin.pk == first.checkin.pk
    assert CheckIn.objects.count() == 1
    assert visits(now_occurrence) == 2


def test_unknown_code_is_recorded(venue, now_occurrence):
    outcome = redeem("not-a-ticket", venue)
    assert outcome.result == R.UNKNOWN
    assert CheckIn.objects.get().result == R.UNKNOWN


def test_wrong_venue(now_occurrence, other_venue):
    assert redeem(ticket_for(now_occurrence), other_venue).result == R.WRONG_VENUE


def test_wrong_occurrence_tells_the_right_date(now_occurrence, venue):
    other = make_occurrence(venue=venue, days_ahead=2, title="Another")
    outcome = redeem(ticket_for(now_occurrence), venue, occurrence_id=other.pk)
    assert outcome.result == R.WRONG_OCCURRENCE
    assert outcome.details["occurrence_id"] == now_occurrence.pk
    assert outcome.details["occurrence_start"]



@pytest.mark.parametrize("whose", ["ticket's own date", "another date"])
def test_a_chosen_date_of_another_venue_is_refused_and_nothing_is_recorded(now_occurrence, venue, other_venue, whose):
    # given a scanner at `other_venue` that chose `venue`'s date
    ticket = ticket_for(now_occurrence)
    chosen = now_occurrence if whose == "ticket's own date" else make_occurrence(venue=venue, days_ahead=3)

    # when it scans a ticket
    with pytest.raises(ScanError) as refused:
        redeem(ticket, other_venue, occurrence_id=chosen.pk)

    # then the scan is refused as a bad request, no scan is logged and nobody admitted
    assert (refused.value.code, refused.value.field) == ("unknown_occurrence", "occurrence_id")
    assert not CheckIn.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).admitted == 0


def test_a_ticket_scanned_for_its_own_date_needs_no_extra_lookup(now_occurrence, venue, django_assert_num_queries):
    # given a ticket of the date the scanner chose
    ticket = ticket_for(now_occurrence)

    # when it is scanned, in a savepoint: the lock, then admitted, day and month totals
    # and the scan's record (one statement on PostgreSQL)
    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 7):
        outcome = redeem(ticket, venue, occurrence_id=now_occurrence.pk)

    # then it is admitted without asking where the chosen date is
    assert outcome.result == R.OK

@pytest.mark.parametrize("code", ["ticket", "no-such-ticket", ""])
def test_a_scan_whose_confirmation_fails_is_neither_judged_nor_recorded(now_occurrence, venue, code):
    # given a ticket, a code that matches none, or no code at all
    ticket = ticket_for(now_occurrence)
    code = ticket.secret if code == "ticket" else code

    # when it is redeemed with a confirmation that the caller may no longer act
    with pytest.raises(ScanNotConfirmed):
        ticket_redeem(code=code, venue=venue, scan_id=scan_id(), confirm=("1 = 0", []))

    # then nothing is recorded; with one that holds, it is judged as always
    assert CheckIn.objects.count() == 0 and Ticket.objects.get(pk=ticket.pk).admitted == 0
    outcome = ticket_redeem(code=code, venue=venue, scan_id=scan_id(), confirm=("1 = 1", []))
    assert outcome.result == (R.OK if code == ticket.secret else R.UNKNOWN)
    assert CheckIn.objects.count() == 1


def test_too_early_and_too_late(venue, settings):
    settings.CHECKIN_OPENS_MINUTES = 60
    occurrence = make_occurrence(venue=venue, days_ahead=2)
    assert redeem(ticket_for(occurrence), venue).result == R.TOO_EARLY
    past = make_occurrence(venue=venue, days_ahead=2, title="Past")
    Occurrence.objects.filter(pk=past.pk).update(start=timezone.now() + dt.timedelta(minutes=5))
    ticket = ticket_for(past)
    Occurrence.objects.filter(pk=past.pk).update(
        start=timezone.now() - dt.timedelta(hours=5), end=timezone.now() - dt.timedelta(hours=3)
    )
    assert redeem(ticket, venue).result == R.TOO_LATE


def test_cancelled_registration_and_cancelled_date(now_occurrence, venue):
    ticket = ticket_for(now_occurrence)
    registration_cancel(registration_id=ticket.registration_id)
    assert redeem(ticket, venue).result == R.CANCELLED
    other = ticket_for(now_occurrence)
    occurrence_cancel(occurrence=now_occurrence)
    assert redeem(other, venue).result == R.CANCELLED


def test_waiting_list_ticket_is_not_admitted(venue, now_occurrence):
    Occurrence.objects.filter(pk=now_occurrence.pk).update(capacity=1)
    ticket_for(now_occurrence)
    waiting = ticket_for(now_occurrence)
    assert redeem(waiting, venue).result == R.WAITING


def test_validation_order_cancelled_before_wrong_venue(now_occurrence, other_venue):
    ticket = ticket_for(now_occurrence)
    registration_cancel(registration_id=ticket.registration_id)
    assert redeem(ticket, other_venue).result == R.CANCELLED


def test_a_group_checks_in_27_of_30(venue):
    occurrence = make_occurrence(venue=venue, capacity=40, days_ahead=1, group_bookings=True)
    start = timezone.now() + dt.timedelta(minutes=10)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    ticket = ticket_for(occurrence, kind="group", organisation="Trường THCS Lê Lợi", party_size=30)
    outcome = redeem(ticket, venue, headcount=27)
    assert outcome.result == R.OK and outcome.checkin.headcount == 27
    assert visits(occurrence) == 27
    # three latecomers arrive
    assert redeem(ticket, venue, headcount=5).checkin.headcount == 3
    assert visits(occurrence) == 30
    assert redeem(ticket, venue).result == R.ALREADY


def test_undo_gives_the_visit_back_once(now_occurrence, venue):
    ticket = ticket_for(now_occurrence, party_size=2)
    outcome = redeem(ticket, venue)
    checkin_undo(scan_id=outcome.checkin.scan_id)
    checkin_undo(scan_id=outcome.checkin.scan_id)
    assert visits(now_occurrence) == 0
    assert redeem(ticket, venue).result == R.OK
    assert visits(now_occurrence) == 2


def test_two_offline_devices_admitting_the_same_ticket_keep_the_earlier_scan(now_occurrence, venue):
    # given the same ticket scanned offline on two phones, the later scan uploaded first
    ticket = ticket_for(now_occurrence, party_size=2)
    early = minutes_ago_today(3)
    late = minutes_ago_today(1)
    from_b = redeem(ticket, venue, offline=True, scanned_at=late, device="B")
    from_a = redeem(ticket, venue, offline=True, scanned_at=early, device="A")
    # then the earlier scan is the admission and the other a duplicate, counted once
    assert from_a.result == R.OK
    from_b.checkin.refresh_from_db()
    assert from_b.checkin.result == R.ALREADY
    assert visits(now_occurrence) == 2
    ticket.refresh_from_db()
    assert ticket.admitted == 2
    # and uploading both batches again changes nothing
    for _ in range(3):
        redeem(ticket, venue, offline=True, scanned_at=late, device="B", scan_id=from_b.checkin.scan_id)
        redeem(ticket, venue, offline=True, scanned_at=early, device="A", scan_id=from_a.checkin.scan_id)
    assert visits(now_occurrence) == 2 and CheckIn.objects.count() == 2


def test_walk_ins_count_and_replays_do_not(now_occurrence, venue):
    walkin_record(venue=venue, client_id="w1", count=3, occurrence_id=now_occurrence.pk, audience="children")
    walkin_record(venue=venue, client_id="w1", count=3, occurrence_id=now_occurrence.pk, audience="children")
    walkin_record(venue=venue, client_id="w2", count=1, occurrence_id=now_occurrence.pk)
    assert visits(now_occurrence) == 4
    walkin_undo(client_id="w2")
    walkin_undo(client_id="w2")
    assert visits(now_occurrence) == 3


@pytest.mark.parametrize("kwargs, code", [({"count": 0}, "bad_count"), ({"count": 10_000}, "bad_count"), ({"audience": "robots"}, "bad_audience")])
def test_bad_walk_ins_are_refused(venue, kwargs, code):
    with pytest.raises(WalkInError) as error:
        walkin_record(venue=venue, client_id="x", **kwargs)
    assert error.value.code == code


def test_walk_in_for_another_venues_date_is_refused(now_occurrence, other_venue):
    with pytest.raises(WalkInError) as error:
        walkin_record(venue=other_venue, client_id="x", occurrence_id=now_occurrence.pk)
    assert (error.value.code, error.value.field) == ("unknown_occurrence", "occurrence_id")


def test_todays_ticket_list_carries_digests_not_secrets(now_occurrence, venue):
    ticket = ticket_for(now_occurrence)
    rows = tickets_for_day(venue=venue, day=timezone.localdate(now_occurrence.start))
    assert [r["digest"] for r in rows] == [ticket.digest]
    assert ticket.secret not in str(rows)
    # and the digest is no ticket: it does not open the door
    assert redeem(ticket.digest, venue).result == R.UNKNOWN
