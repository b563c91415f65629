"""No seat is given twice, under real concurrency, on PostgreSQL."""


import pytest

from attendance.models import Registration
from events.models import Occurrence
from tests.attendance_helpers import make_occurrence, register
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_200_parallel_registrations_for_50_seats(venue):
    # given a date with 50 seats
    occurrence = make_occurrence(venue=venue, capacity=50)

    def attempt(indices):
        for i in indices:
            register(occurrence, phone=f"0913{i:06d}", full_name=f"Người {i}")

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
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 50
