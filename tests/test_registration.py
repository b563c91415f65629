"""Registering for a date: seats, waiting list, cancellation and promotion."""

import datetime as dt

import pytest
from django.utils import timezone

from attendance.models import Registration
from attendance.services import (
    RegistrationError,
    registration_approve,
    registration_cancel,
    registration_decline,
    registrations_erase_personal_data,
    waiting_list_promote,
    waiting_position,
)
from events.models import Occurrence
from events.services import occurrence_cancel, occurrence_set_capacity
from notifications.models import Message
from tests.attendance_helpers import make_occurrence, register

S = Registration.Status


def seats(occurrence):
    occurrence.refresh_from_db()
    return occurrence.seats_taken


def test_registration_confirms_and_takes_seats_and_records_a_confirmation(venue):
    occurrence = make_occurrence(venue=venue, capacity=10)
    outcome = register(occurrence, party_size=3, phone="0912 345 678")
    assert outcome.created
    assert outcome.registration.status == S.CONFIRMED
    assert outcome.registration.phone == "+84912345678"
    assert seats(occurrence) == 3
    assert len(outcome.registration.ticket.secret) >= 22  # >= 128 bits
    message = Message.objects.get(registration=outcome.registration)
    assert message.kind == Message.Kind.CONFIRMATION and message.recipient == "+84912345678"
    assert outcome.registration.ticket.secret in message.body


def test_same_phone_gets_the_same_registration_back(venue):
    occurrence = make_occurrence(venue=venue)
    first = register(occurrence, phone="0912345678")
    again = register(occurrence, phone="+84 912 345 678", party_size=2)
    assert not again.created
    assert again.registration.pk == first.registration.pk
    assert Registration.objects.count() == 1 and seats(occurrence) == 1


def test_same_phone_gets_its_registration_back_after_registration_closed(venue):
    # given a registration, and a date that no longer takes new ones (it has started)
    occurrence = make_occurrence(venue=venue)
    first = register(occurrence, phone="0912345678")
    late = occurrence.start + dt.timedelta(minutes=1)

    # when the same phone registers again, then it gets its registration back, not a refusal
    again = register(occurrence, phone="0912345678", now=late)
    assert not again.created and again.registration.pk == first.registration.pk
    # and a new phone is refused with the reason
    with pytest.raises(RegistrationError) as refused:
        register(occurrence, phone="0912345679", now=late)
    assert refused.value.code == "started"


def test_full_date_puts_registrants_on_the_waiting_list_with_their_position(venue):
    occurrence = make_occurrence(venue=venue, capacity=2)
    register(occurrence, party_size=2)
    first_waiting = register(occurrence)
    second_waiting = register(occurrence)
    assert (first_waiting.registration.status, first_waiting.position) == (S.WAITING, 1)
    assert (second_waiting.registration.status, second_waiting.position) == (S.WAITING, 2)
    assert seats(occurrence) == 2
    assert Message.objects.filter(kind=Message.Kind.WAITING).count() == 2


def test_the_same_phone_on_a_full_dates_waiting_list_gets_its_place_back(venue):
    # given a full date and a phone already waiting second in line
    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence)
    register(occurrence)
    waiting = register(occurrence, phone="0912345678")
    assert waiting.position == 2

    # when the same phone registers again
    again = register(occurrence, phone="+84912345678")

    # then it gets the same registration and place back, and no second message
    assert not again.created
    assert (again.registration.pk, again.position) == (waiting.registration.pk, 2)
    assert Registration.objects.filter(occurrence=occurrence).count() == 3
    assert Message.objects.filter(registration=waiting.registration).count() == 1


def test_a_waiting_registrants_message_names_their_place(venue):
    # given a full date with one person waiting
    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence)
    register(occurrence)

    # when another registers, then their message (in Vietnamese) names place 2, as their ticket page does
    outcome = register(occurrence)
    message = Message.objects.get(registration=outcome.registration)
    assert message.kind == Message.Kind.WAITING
    assert message.body.startswith("Danh sách chờ số 2: "), message.body
    assert waiting_position(outcome.registration) == outcome.position == 2


def test_nobody_jumps_the_waiting_list(venue):
    # given a full date with a party of 3 waiting
    occurrence = make_occurrence(venue=venue, capacity=4)
    holder = register(occurrence, party_size=2)
    register(occurrence, party_size=2)
    waiting_three = register(occurrence, party_size=3)
    # when one seat frees... (cancel 2, 2 free: the party of 3 does not fit)
    registration_cancel(registration_id=holder.registration.pk)
    # then a newcomer of 1 joins the line instead of taking a free seat
    newcomer = register(occurrence, party_size=1)
    assert newcomer.registration.status == S.WAITING
    waiting_three.registration.refresh_from_db()
    assert waiting_three.registration.status == S.WAITING


def test_cancellation_promotes_in_order_without_splitting_a_party(venue):
    # given 5 seats: a party of 4 and 1 confirmed; waiting: 3, then 1, then 2
    occurrence = make_occurrence(venue=venue, capacity=5)
    four = register(occurrence, party_size=4)
    register(occurrence, party_size=1)
    three = register(occurrence, party_size=3)
    one = register(occurrence, party_size=1)
    two = register(occurrence, party_size=2)
    # when the party of 4 cancels
    promoted = registration_cancel(registration_id=four.registration.pk)
    # then 3 and 1 are promoted in order (4 seats); the 2 waits: it does not fit
    assert [r.pk for r in promoted] == [three.registration.pk, one.registration.pk]
    assert seats(occurrence) == 5
    two.registration.refresh_from_db()
    assert two.registration.status == S.WAITING
    assert Message.objects.filter(kind=Message.Kind.PROMOTED).count() == 2
    # and cancelling again changes nothing
    assert registration_cancel(registration_id=four.registration.pk) == []
    assert seats(occurrence) == 5


def test_strict_order_a_big_party_first_in_line_blocks_smaller_ones(venue):
    occurrence = make_occurrence(venue=venue, capacity=3)
    holder = register(occurrence, party_size=1)
    register(occurrence, party_size=2)
    four = register(occurrence, party_size=3)
    one = register(occurrence, party_size=1)
    assert registration_cancel(registration_id=holder.registration.pk) == []
    for outcome in (four, one):
        outcome.registration.refresh_from_db()
        assert outcome.registration.status == S.WAITING


def test_a_larger_capacity_promotes_the_waiting_list(venue):
    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence)
    waiting = register(occurrence)
    occurrence_set_capacity(occurrence=occurrence, capacity=2)
    waiting.registration.refresh_from_db()
    assert waiting.registration.status == S.CONFIRMED
    assert seats(occurrence) == 2


@pytest.mark.parametrize(
    "setup, code",
    [
        (lambda o: occurrence_cancel(occurrence=o), "cancelled"),
        (lambda o: Occurrence.objects.filter(pk=o.pk).update(start=timezone.now() - dt.timedelta(minutes=5)), "started"),
        (lambda o: o.programme.__class__.objects.filter(pk=o.programme_id).update(registration_required=False), "walk_in_only"),
        (lambda o: o.programme.__class__.objects.filter(pk=o.programme_id).update(registration_opens_days=1), "not_yet_open"),
        (lambda o: o.programme.__class__.objects.filter(pk=o.programme_id).update(registration_closes_minutes=60 * 24 * 7), "closed"),
        (lambda o: o.programme.__class__.objects.filter(pk=o.programme_id).update(status="draft"), "not_open"),
    ],
)
def test_registration_refused_with_a_reason(venue, setup, code):
    occurrence = make_occurrence(venue=venue, days_ahead=3)
    setup(occurrence)
    with pytest.raises(RegistrationError) as error:
        register(occurrence)
    assert error.value.code == code
    assert Registration.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"phone": "12345"}, "invalid_phone"),
        ({"phone": "0912 345 67a"}, "invalid_phone"),
        ({"consent": False}, "consent_required"),
        ({"full_name": "   "}, "name_required"),
        ({"party_size": 5}, "party_too_large"),
        ({"party_size": 0}, "bad_party_size"),
        ({"kind": "group", "organisation": "Trường THCS Lê Lợi", "party_size": 30}, "groups_not_allowed"),
    ],
)
def test_bad_input_is_refused_with_a_code(venue, kwargs, code):
    occurrence = make_occurrence(venue=venue, capacity=50)
    with pytest.raises(RegistrationError) as error:
        register(occurrence, **kwargs)
    assert error.value.code == code


def test_invalid_phone_message_is_vietnamese_by_default(venue):
    occurrence = make_occurrence(venue=venue)
    with pytest.raises(RegistrationError) as error:
        register(occurrence, phone="12345")
    assert "không hợp lệ" in error.value.message


def test_group_awaiting_approval_holds_seats_then_is_approved_or_declined(venue):
    occurrence = make_occurrence(venue=venue, capacity=40, group_bookings=True, group_approval_required=True)
    class_a = register(occurrence, kind="group", organisation="Trường THCS Lê Lợi", party_size=30)
    assert class_a.registration.status == S.PENDING and seats(occurrence) == 30
    class_b = register(occurrence, kind="group", organisation="Trường TH Kim Đồng", party_size=20)
    assert class_b.registration.status == S.WAITING
    registration_approve(registration_id=class_a.registration.pk)
    class_a.registration.refresh_from_db()
    assert class_a.registration.status == S.CONFIRMED
    # declining a pending group frees its seats for the next in line
    registration_cancel(registration_id=class_a.registration.pk)
    class_b.registration.refresh_from_db()
    assert class_b.registration.status == S.PENDING
    registration_decline(registration_id=class_b.registration.pk)
    assert seats(occurrence) == 0


def test_erasing_personal_data_keeps_the_counts(venue):
    occurrence = make_occurrence(venue=venue, capacity=10)
    outcome = register(occurrence, party_size=2, email="an@example.org")
    Occurrence.objects.filter(pk=occurrence.pk).update(
        start=timezone.now() - dt.timedelta(days=200), end=timezone.now() - dt.timedelta(days=200, hours=-2)
    )
    assert registrations_erase_personal_data(older_than_days=180) == 1
    registration = Registration.objects.get(pk=outcome.registration.pk)
    assert (registration.full_name, registration.phone, registration.email) == ("", "", "")
    assert registration.party_size == 2 and registration.status == S.CONFIRMED and registration.erased_at
    assert registrations_erase_personal_data(older_than_days=180) == 0


def test_waiting_list_promote_is_harmless_when_nothing_is_free(venue):
    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence)
    register(occurrence)
    assert waiting_list_promote(occurrence_id=occurrence.pk) == []


def _statements(queries) -> list[str]:
    """The SQL captured, without the transaction's own BEGIN, COMMIT and savepoints."""
    return [q["sql"] for q in queries if q["sql"].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]


def test_a_free_seat_is_made_ready_before_the_lock_and_written_in_one_statement(venue, settings):
    # given a date with free seats, a venue's own confirmation template and SMS policy
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.models import MessageTemplate, SmsPolicy

    occurrence = make_occurrence(venue=venue, capacity=10)
    MessageTemplate.objects.create(
        venue=venue, kind=Message.Kind.CONFIRMATION, language="vi", body="Vé {title} lúc {when}: {url}"
    )
    SmsPolicy.objects.create(venue=venue, without_diacritics=True)

    # when someone registers
    with CaptureQueriesContext(connection) as queries:
        outcome = register(occurrence)

    # then the date and the venue's texts are read before the lock, and on PostgreSQL one
    # statement follows the locking read: the registration, ticket, seats and message,
    # if nobody waits (checked in it)
    statements = _statements(queries)
    read_at = next(i for i, sql in enumerate(statements) if "notifications_messagetemplate" in sql)
    assert statements[read_at].startswith('SELECT o."id"') and "FOR UPDATE" not in statements[read_at]
    held = statements[read_at + 1:]
    assert held[0].startswith('SELECT o."id"') and "notifications_messagetemplate" not in held[0]
    if connection.vendor == "postgresql":
        assert held[0].endswith("FOR UPDATE OF o")
        assert len(held) == 2 and held[1].startswith("WITH _if AS") and "waiting" in held[1]
    # ...and the message is the venue's, without diacritics, carrying the ticket's link
    message = Message.objects.get(registration=outcome.registration)
    assert message.body.startswith("Ve ") and outcome.registration.ticket.secret in message.body
    assert message.dedupe_key == f"registration:{outcome.registration.pk}:confirmation:0"
    assert Occurrence.objects.get(pk=occurrence.pk).seats_taken == 1


def test_a_newcomer_to_a_full_date_is_written_and_placed_in_one_statement_after_the_lock(venue):
    # given a full date with one person waiting
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence)
    register(occurrence)

    # when someone else registers
    with CaptureQueriesContext(connection) as queries:
        outcome = register(occurrence)

    # then they are second in line, and on PostgreSQL, after the locking read, one
    # statement writes the registration and ticket and counts who waits ahead, one the message
    assert (outcome.registration.status, outcome.position) == (S.WAITING, 2)
    if connection.vendor == "postgresql":
        statements = _statements(queries)
        locked_at = next(i for i, sql in enumerate(statements) if "FOR UPDATE" in sql)
        held = statements[locked_at + 1:]
        assert len(held) == 2, held
        assert held[0].startswith("WITH _if AS") and "COUNT(*)" in held[0]
        assert held[1].startswith('INSERT INTO "notifications_message"')
    assert Message.objects.get(registration=outcome.registration).kind == Message.Kind.WAITING


def test_the_first_message_follows_the_decision_taken_with_the_lock(venue):
    # given a date of one seat, taken
    occurrence = make_occurrence(venue=venue, capacity=1)
    register(occurrence, phone="0912000001")

    # when a second person registers, then they wait, and are told so (not confirmed)
    late = register(occurrence, full_name="Lê Văn Muộn", phone="0912000002")
    assert late.registration.status == S.WAITING
    message = Message.objects.get(registration=late.registration, channel=Message.Channel.SMS)
    assert message.kind == Message.Kind.WAITING and message.dedupe_key == f"registration:{late.registration.pk}:waiting:0"

    # and when a seat is free again with nobody waiting, the next one is confirmed and told so
    Registration.objects.filter(pk=late.registration.pk).update(status=S.CANCELLED)
    Occurrence.objects.filter(pk=occurrence.pk).update(seats_taken=0, capacity=2)
    seated = register(occurrence, full_name="Phạm Thị Kịp", phone="0912000003")
    assert seated.registration.status == S.CONFIRMED
    message = Message.objects.get(registration=seated.registration, channel=Message.Channel.SMS)
    assert message.kind == Message.Kind.CONFIRMATION and seated.registration.ticket.secret in message.body
