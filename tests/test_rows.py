"""Rows read and written by hand (common.rows) hold what the ORM would: the
registration page's read of a date, and rows inserted together."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from attendance.models import Registration, Ticket
from attendance.registration_sql import DATE_PAGE, date_ahead, date_for_page
from common.rows import InsertIf, insert_together, next_id_expression
from common.sql import read_together
from events.models import Occurrence, Programme
from notifications.models import SmsPolicy
from tests.attendance_helpers import make_occurrence, reached


def test_the_page_read_of_a_date_is_the_orms_in_one_query(venue, django_assert_num_queries):
    # given a date whose venue has an SMS policy, read by the ORM as the page did
    occurrence = make_occurrence(venue=venue, capacity=12)
    SmsPolicy.objects.create(venue=venue, without_diacritics=True)
    expected = Occurrence.objects.select_related("programme__event", "venue__sms_policy").get(pk=occurrence.pk)

    # when the page reads it by hand
    with django_assert_num_queries(1):
        found = date_for_page(occurrence.pk)
        # then every field of the date, programme, event, venue and policy is equal and of the same type,
        # reached through the relations with no further query
        for join in DATE_PAGE.tables:
            got, want = reached(found, DATE_PAGE, join), reached(expected, DATE_PAGE, join)
            assert type(got) is join.model
            for field in join.model._meta.concrete_fields:
                value, wanted = getattr(got, field.attname), getattr(want, field.attname)
                assert value == wanted and type(value) is type(wanted), (join.alias, field.name)
    assert timezone.is_aware(found.start)


def test_a_venue_without_an_sms_policy_reads_as_select_related_reads_it(venue, django_assert_num_queries):
    # given a date whose venue has no SMS policy
    occurrence = make_occurrence(venue=venue)

    # when it is read by hand, then asking for the policy raises, as after select_related, with no query
    found = date_ahead(occurrence.pk, language="vi").occurrence
    with django_assert_num_queries(0), pytest.raises(SmsPolicy.DoesNotExist):
        _ = found.venue.sms_policy


def test_a_draft_a_missing_date_and_an_impossible_id_have_no_page(venue, client):
    # given a draft programme's date
    draft = make_occurrence(venue=venue, status=Programme.Status.DRAFT)

    # then none of these is found, and the page answers 404, not an error
    assert date_for_page(draft.pk) is None
    assert date_for_page(draft.pk + 1000) is None
    assert date_for_page(2**70) is None
    assert client.get(f"/events/{2**70}/register/").status_code == 404
    assert client.get(f"/events/{draft.pk}/register/").status_code == 404
    with pytest.raises(Occurrence.DoesNotExist):
        date_ahead(2**70, language="vi")


def test_rows_inserted_together_are_saved_and_linked(venue, django_assert_num_queries):
    # given a new registration and its ticket, their ids drawn ahead on PostgreSQL
    occurrence = make_occurrence(venue=venue)
    registration = Registration(
        occurrence=occurrence, status=Registration.Status.CONFIRMED, full_name="Phạm Thị Lan",
        phone="+84912000321", party_size=2, consent_at=timezone.now(), consent_version="2025-01",
    )
    ticket = Ticket(registration=registration)
    seats = ("UPDATE events_occurrence SET seats_taken = seats_taken + %s WHERE id = %s", [2, occurrence.pk])
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            registration.pk, ticket.pk = read_together(
                [(next_id_expression(Registration), []), (next_id_expression(Ticket), [])]
            )

        # when they are inserted together with the seats' update
        with django_assert_num_queries(1 if postgres else 3):
            insert_together([registration, ticket], [seats])

    # then both are saved with their ids, the ticket points at the registration, the seats moved
    assert not registration._state.adding and not ticket._state.adding
    stored = Ticket.objects.select_related("registration").get(pk=ticket.pk)
    assert stored.registration.pk == registration.pk and stored.registration.party_size == 2
    assert stored.digest == ticket.digest and ticket.digest
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 2


def _new_registration(occurrence, phone="+84912000654"):
    registration = Registration(
        occurrence=occurrence, status=Registration.Status.CONFIRMED, full_name="Đỗ Văn Nam", phone=phone,
        party_size=1, consent_at=timezone.now(), consent_version="2025-01",
    )
    return registration, Ticket(registration=registration)


@pytest.mark.postgres
@pytest.mark.parametrize("holds", [True, False])
def test_rows_inserted_if_a_condition_holds_are_written_all_or_none(venue, holds, django_assert_num_queries):
    # given a new registration and its ticket with their ids drawn, and a seats update
    occurrence = make_occurrence(venue=venue)
    registration, ticket = _new_registration(occurrence)
    seats = ("UPDATE events_occurrence SET seats_taken = seats_taken + %s WHERE id = %s", [1, occurrence.pk])
    with transaction.atomic():
        registration.pk, ticket.pk = read_together(
            [(next_id_expression(Registration), []), (next_id_expression(Ticket), [])]
        )

        # when they are written in one statement on a condition that holds, or not
        with django_assert_num_queries(1):
            written = InsertIf(("%s = 1", [1 if holds else 0]), [registration, ticket], [seats]).run()

    # then all of it is written, or none of it, and the instances say which
    assert written is holds
    assert Registration.objects.filter(pk=registration.pk).exists() is holds
    assert Ticket.objects.filter(pk=ticket.pk, registration_id=registration.pk).exists() is holds
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == (1 if holds else 0)
    assert registration._state.adding is (not holds) and ticket._state.adding is (not holds)


@pytest.mark.postgres
@pytest.mark.parametrize("holds", [True, False])
def test_a_conditional_write_reads_the_database_as_it_was_before_it(venue, holds, django_assert_num_queries):
    # given a new registration and its ticket with their ids drawn, and one registration on record
    occurrence = make_occurrence(venue=venue)
    earlier, _ = _new_registration(occurrence, phone="+84912000001")
    earlier.save()
    registration, ticket = _new_registration(occurrence)
    count = ("(SELECT COUNT(*) FROM attendance_registration WHERE occurrence_id = %s)", [occurrence.pk])
    with transaction.atomic():
        registration.pk, ticket.pk = read_together(
            [(next_id_expression(Registration), []), (next_id_expression(Ticket), [])]
        )
        write = InsertIf(("%s = 1", [1 if holds else 0]), [registration, ticket])

        # when it runs with a read, in one statement
        with django_assert_num_queries(1):
            written = write.run([count, ("(SELECT %s::int * 2)", [21])])

    # then the read's values come back whether or not it wrote, without the rows it wrote
    assert written is holds
    assert write.values == (1, 42)
    assert Registration.objects.filter(occurrence=occurrence).count() == (2 if holds else 1)


def test_rows_inserted_on_a_condition_need_postgresql_and_their_ids(venue):
    # given rows whose ids were not drawn (or another database)
    registration, ticket = _new_registration(make_occurrence(venue=venue))

    # then the conditional write refuses rather than writing something else
    with pytest.raises(ValueError), transaction.atomic():
        InsertIf(("TRUE", []), [registration, ticket])
    assert not Registration.objects.exists()
