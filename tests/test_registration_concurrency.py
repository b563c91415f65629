"""No seat is given twice, under real concurrency, on PostgreSQL."""

import threading
import time

import pytest

from attendance.models import Registration
from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, register
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_200_parallel_registrations_for_50_seats(venue):
    # given a date with 50 seats
    occurrence = make_occurrence(venue=venue, capacity=50)

    told = {}  # registration id -> the place on the waiting list the registrant was told

    def attempt(indices):
        for i in indices:
            outcome = register(occurrence, phone=f"0913{i:06d}", full_name=f"Người {i}")
            told[outcome.registration.pk] = outcome.position

    # when 200 people register at once from 20 connections
    errors = at_once(attempt, [range(n, 200, 20) for n in range(20)])

    # then exactly 50 are confirmed, 150 wait in arrival order, and nothing failed
    assert errors == []
    occurrence.refresh_from_db()
    statuses = list(Registration.objects.filter(occurrence=occurrence).order_by("created_at", "pk").values_list("status", flat=True))
    assert len(statuses) == 200
    assert statuses.count("confirmed") == 50 and occurrence.seats_taken == 50
    # everyone confirmed arrived before everyone waiting
    assert statuses == ["confirmed"] * 50 + ["waiting"] * 150
    # and each waiting registrant was told their own place, 1 to 150, in the order of the line
    line = Registration.objects.filter(occurrence=occurrence, status="waiting").order_by("created_at", "pk")
    assert [told[pk] for pk in line.values_list("pk", flat=True)] == list(range(1, 151))
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 50


def _while_holding_the_date(occurrence, work):
    """Run `work()` in a thread whose transaction then keeps the date locked until
    another connection is seen waiting for a lock; returns the thread (started)
    and a list that gets work's result."""
    from django.db import connection, transaction

    done, result = threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                result.append(work())
                done.set()
                deadline = time.monotonic() + 10
                with connection.cursor() as cursor:
                    while time.monotonic() < deadline:
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.01)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert done.wait(10)
    return thread, result


def test_a_registrant_who_waited_for_the_lock_sees_who_joined_the_line_meanwhile(venue):
    # given a date of 3 seats with 2 taken, and a party of 2 joining its waiting
    # list in a transaction that still holds the date
    occurrence = make_occurrence(venue=venue, capacity=3)
    register(occurrence, party_size=2)
    thread, held = _while_holding_the_date(occurrence, lambda: register(occurrence, party_size=2))
    assert held[0].registration.status == Registration.Status.WAITING

    # when one person registers meanwhile (waiting for the lock until that commits)
    try:
        outcome = register(occurrence, party_size=1)
    finally:
        thread.join()

    # then the last seat does not go past the party already in line: they wait behind it
    assert outcome.registration.status == Registration.Status.WAITING
    assert outcome.position == 2
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 2


def test_the_same_phone_registering_twice_at_once_gets_one_registration(venue):
    # given a registration in a transaction that still holds the date
    occurrence = make_occurrence(venue=venue, capacity=5)
    thread, held = _while_holding_the_date(occurrence, lambda: register(occurrence, phone="0912777001"))

    # when the same phone registers again meanwhile (a double tap on a slow network)
    try:
        outcome = register(occurrence, phone="0912777001")
    finally:
        thread.join()

    # then it gets the first registration back, with no error and no second seat
    assert outcome.created is False and outcome.registration.pk == held[0].registration.pk
    assert Registration.objects.filter(occurrence=occurrence).count() == 1
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 1
