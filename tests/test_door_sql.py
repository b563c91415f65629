"""The door's hand-written statements (attendance.door_sql) read and write what
the ORM would: same values, same types, the same lock."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Sum
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from attendance.door_sql import TICKET_READ, admitted_statement, scan_record, ticket_for_update
from attendance.models import CheckIn, Ticket, VisitCount, VisitMonth, secret_digest
from attendance.services import ticket_redeem
from attendance.totals import local_day, visits_statements
from common.rows import insert_statement, inserted
from common.sql import execute_together, execute_together_reading
from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, reached, register
from tests.concurrency import at_once


@pytest.fixture
def ticket(venue):
    occurrence = make_occurrence(venue=venue, capacity=20)
    return register(occurrence, party_size=3, full_name="Lê Thị Hoa").registration.ticket


def test_the_locking_read_gives_what_the_orm_gives_in_one_query(ticket, django_assert_num_queries):
    # given the same ticket read by the ORM, with everything a scan uses
    expected = Ticket.objects.select_related("registration__occurrence__programme__event").get(pk=ticket.pk)

    # when the door reads it by its secret
    with transaction.atomic(), django_assert_num_queries(1):
        found = ticket_for_update(ticket.secret)
        # then every listed field of the ticket, its registration, date, programme and event
        # is there, equal and of the same type (aware datetimes, booleans), with no further query
        for join in TICKET_READ.tables:
            model, got, want = join.model, reached(found, TICKET_READ, join), reached(expected, TICKET_READ, join)
            assert type(got) is model
            for name in join.fields:
                value = getattr(got, model._meta.get_field(name).attname)
                assert value == getattr(want, model._meta.get_field(name).attname), name
                assert type(value) is type(getattr(want, model._meta.get_field(name).attname)), name
        assert timezone.is_aware(found.registration.occurrence.start)


def test_an_unlisted_field_still_reads_correctly(ticket):
    # given a ticket read by the door
    with transaction.atomic():
        found = ticket_for_update(ticket.secret)
        # when a field the door does not list is read, then it is fetched, not wrong
        assert found.registration.phone == ticket.registration.phone
        assert found.registration.occurrence.programme.max_party_size == ticket.registration.occurrence.programme.max_party_size


def test_an_unknown_secret_reads_nothing(ticket):
    with transaction.atomic():
        assert ticket_for_update("no-such-secret") is None


@pytest.mark.django_db(transaction=True)
def test_the_locking_read_refuses_to_run_outside_a_transaction(ticket):
    # (a lock taken in autocommit would end with its statement: no lock at all)
    with pytest.raises(TransactionManagementError):
        ticket_for_update(ticket.secret)


def _scan(ticket, venue, scan_id, headcount):
    return CheckIn(
        scan_id=scan_id, ticket=ticket, venue=venue, occurrence_id=ticket.registration.occurrence_id,
        result=CheckIn.Result.OK, headcount=headcount, scanned_at=timezone.now(),
    )


def _visits(ticket, venue, count):
    occurrence = ticket.registration.occurrence
    return visits_statements(venue_id=venue.pk, day=local_day(timezone.now()), occurrence=occurrence, checked_in=count)


def _totals(venue):
    day = VisitCount.objects.filter(venue=venue).aggregate(n=Sum("checked_in"))["n"] or 0
    month = VisitMonth.objects.filter(venue=venue).aggregate(n=Sum("checked_in"))["n"] or 0
    return day, month


def test_a_scan_is_recorded_with_its_admissions_and_visits(ticket, venue, django_assert_num_queries):
    # given a locked ticket of a party of 3
    with transaction.atomic():
        found = ticket_for_update(ticket.secret)
        checkin = _scan(found, venue, "scan-1", 2)

        # when 2 of them are admitted: one statement per write, one in all on PostgreSQL
        with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
            scan_record(checkin, ticket=found, admitted=2, visits=_visits(found, venue, 2))

    # then the scan has its id, the ticket and the day and month totals count 2
    assert checkin.pk and CheckIn.objects.get(pk=checkin.pk).headcount == 2
    assert found.admitted == 2 and Ticket.objects.get(pk=ticket.pk).admitted == 2
    assert _totals(venue) == (2, 2)


def test_a_scan_that_cannot_be_recorded_changes_nothing(ticket, venue):
    # given a scan id already on record
    with transaction.atomic():
        found = ticket_for_update(ticket.secret)
        scan_record(_scan(found, venue, "taken", 1), ticket=found, admitted=1, visits=_visits(found, venue, 1))

    # when another scan reuses it, with admissions and visits
    with pytest.raises(IntegrityError), transaction.atomic():
        found = ticket_for_update(ticket.secret)
        scan_record(_scan(found, venue, "taken", 2), ticket=found, admitted=2, visits=_visits(found, venue, 2))

    # then neither the ticket nor the totals moved
    assert Ticket.objects.get(pk=ticket.pk).admitted == 1
    assert _totals(venue) == (1, 1)


def test_a_read_beside_writes_sees_the_database_as_it_was_just_before_them(ticket, venue, django_assert_num_queries):
    # given a ticket with 1 admitted earlier in the transaction
    admitted = ("(SELECT admitted FROM attendance_ticket WHERE id = %s)", [ticket.pk])
    checkin = _scan(ticket, venue, "read-1", 2)
    with transaction.atomic():
        execute_together([admitted_statement(ticket, 1)])

        # when 2 more are admitted and the count read in the same call: one statement on PostgreSQL
        with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
            row, values = execute_together_reading(
                [admitted_statement(ticket, 2), insert_statement(checkin)], [admitted, ("%s", [7])]
            )

    # then the read saw the earlier write and not these, the row is the insert's, and both writes happened
    assert values == (1, 7)
    assert row == (CheckIn.objects.get(scan_id="read-1").pk,)
    assert Ticket.objects.get(pk=ticket.pk).admitted == 3


def test_a_read_is_answered_when_the_last_statement_returns_no_row(ticket):
    nothing = ("UPDATE attendance_ticket SET admitted = admitted WHERE id = %s RETURNING id", [-1])
    with transaction.atomic():
        row, values = execute_together_reading([nothing], [("(SELECT admitted FROM attendance_ticket WHERE id = %s)", [ticket.pk])])
    assert row is None and values == (0,)


def test_a_scan_record_is_inserted_as_save_would(ticket, venue, owner):
    # given a scan record built in memory
    scanned = timezone.now() - dt.timedelta(minutes=1)
    checkin = CheckIn(
        scan_id="scan-a", ticket=ticket, venue=venue, occurrence_id=ticket.registration.occurrence_id,
        result=CheckIn.Result.OK, headcount=3, scanned_at=scanned, offline=True, device="cổng 1", user=owner,
    )

    # when it is inserted
    before = timezone.now()
    scan_record(checkin)

    # then it has its id, its received time (auto_now_add), and reads back the same
    assert checkin.pk and not checkin._state.adding
    stored = CheckIn.objects.get(pk=checkin.pk)
    assert stored.received_at == checkin.received_at and stored.received_at >= before
    assert (stored.ticket_id, stored.venue_id, stored.user_id, stored.headcount, stored.device) == (
        ticket.pk, venue.pk, owner.pk, 3, "cổng 1"
    )
    assert stored.scanned_at == scanned and stored.offline is True and stored.undone_at is None


def test_a_scan_id_already_taken_is_refused(ticket, venue):
    def record():
        scan_record(CheckIn(scan_id="same", venue=venue, result=CheckIn.Result.UNKNOWN, scanned_at=timezone.now()))

    record()
    with pytest.raises(IntegrityError), transaction.atomic():
        record()
    assert CheckIn.objects.filter(scan_id="same").count() == 1


def test_a_model_with_its_own_save_is_not_inserted_by_hand(ticket):
    # A save() that sets something would be skipped by a hand-written INSERT.
    class Stamped(CheckIn):
        class Meta:
            proxy = True
            app_label = "attendance"

        def save(self, *args, **kwargs):
            self.device = "stamped"
            super().save(*args, **kwargs)

    with pytest.raises(TypeError):
        insert_statement(Stamped(scan_id="s", venue_id=1, result=CheckIn.Result.UNKNOWN, scanned_at=timezone.now()))


def test_a_ticket_inserted_by_hand_gets_the_digest_of_its_secret(ticket):
    # given a new ticket (the digest is what offline scanners look tickets up by)
    other = register(ticket.registration.occurrence, phone="0912000099").registration
    other.ticket.delete()
    new = Ticket(registration=other)

    # when it is inserted by hand
    with transaction.atomic():
        (pk,) = execute_together([insert_statement(new)])
        inserted(new, pk)

    # then the stored digest is that of its secret, as save() would store it
    assert Ticket.objects.get(pk=pk).digest == secret_digest(new.secret) == new.digest


def test_a_model_with_database_defaults_is_not_inserted_by_hand(ticket):
    # Occurrence leaves spans_days and counted_by_hand to the database's defaults.
    occurrence = ticket.registration.occurrence
    with pytest.raises(TypeError):
        insert_statement(Occurrence(programme=occurrence.programme, venue=occurrence.venue, start=occurrence.start,
                                    end=occurrence.end))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_ticket_row_stays_locked_until_the_scan_commits(venue):
    # given a ticket the door has read for update, in an open transaction
    occurrence = make_occurrence(venue=venue, capacity=5)
    ticket = register(occurrence, phone="0912000001").registration.ticket
    locked, release, seen = threading.Event(), threading.Event(), []

    def door():
        try:
            with transaction.atomic():
                ticket_for_update(ticket.secret)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=door)
    thread.start()
    assert locked.wait(10)
    try:
        # when another connection tries to lock the same ticket, then it cannot
        with pytest.raises(OperationalError), transaction.atomic():
            Ticket.objects.select_for_update(nowait=True).get(pk=ticket.pk)
        # and the rows it joined (the registration) are not locked
        with transaction.atomic():
            seen.append(
                type(ticket.registration).objects.select_for_update(nowait=True).get(pk=ticket.registration_id).pk
            )
    finally:
        release.set()
        thread.join()
    assert seen == [ticket.registration_id]

    # and once the scan's transaction ends, it can
    with transaction.atomic():
        assert Ticket.objects.select_for_update(nowait=True).get(pk=ticket.pk).pk == ticket.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_doors_scanning_one_ticket_at_once_admit_it_once(venue):
    # given a ticket for a party of 3, on a date whose check-in is open
    occurrence = make_occurrence(venue=venue, capacity=10)
    start = timezone.now() + dt.timedelta(minutes=10)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    ticket = register(occurrence, party_size=3, phone="0912000002").registration.ticket
    results = []

    def door(n):
        results.append(ticket_redeem(code=ticket.secret, venue=venue, scan_id=f"door-{n}").result)

    # when eight doors scan it at the same moment, each on its own connection
    errors = at_once(door, range(8))

    # then one admits the party, seven are told it is already checked in, and it counts 3 visits once
    assert errors == []
    assert sorted(results) == ["already_checked_in"] * 7 + ["ok"]
    assert Ticket.objects.get(pk=ticket.pk).admitted == 3
    assert CheckIn.objects.filter(ticket=ticket).count() == 8
    assert _totals(venue) == (3, 3)
