"""E-mail next to SMS: a registrant who gave an e-mail address gets each
message about their registration by e-mail too, recorded once with its own
key in the same transaction as the SMS, in their language, sent through
Django's email backend; SMTP errors are retried or not like SMS errors; the
phone's opt-outs, quiet hours and the monthly SMS cap hold SMS only."""

import datetime as dt
import smtplib
import uuid

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse
from django.utils import timezone

from attendance.models import Registration
from attendance.services import registration_cancel
from common.timeutil import local_datetime
from config.celery import app
from events.services import occurrence_cancel, occurrence_move
from notifications import services
from notifications.models import Message, SmsOptOut, SmsPolicy
from notifications.reminders import reminders_dispatch
from notifications.services import ERROR_MONTHLY_CAP, ERROR_OBSOLETE, message_send, outbox_sweep
from notifications.staff_services import message_resend, month_segments_used, monthly_totals, staff_message_send
from notifications.transports import MemorySms
from tests.attendance_helpers import make_occurrence, register
from tests.factories import make_programme

K = Message.Kind
S = Message.Status
SMS, EMAIL = Message.Channel.SMS, Message.Channel.EMAIL


class ScriptedEmailBackend(LocmemBackend):
    """The locmem backend, failing first with what `script` holds."""

    script: list = []

    def send_messages(self, messages):
        if ScriptedEmailBackend.script:
            raise ScriptedEmailBackend.script.pop(0)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def channels(settings, monkeypatch):
    settings.SMS_TRANSPORT = "notifications.transports.MemorySms"
    settings.SMS_RATE_PER_SECOND = 0
    settings.EMAIL_BACKEND = "tests.test_email_notifications.ScriptedEmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Sự kiện <no-reply@sukien.example.vn>"
    settings.SITE_URL = "https://sukien.example.vn"
    settings.QUIET_HOURS_START, settings.QUIET_HOURS_END = "21:00", "07:00"
    settings.REMINDER_LOOKBACK_MINUTES = 120
    settings.OUTBOX_RETRY_MAX_ATTEMPTS = 5
    monkeypatch.setattr(ScriptedEmailBackend, "script", [])
    monkeypatch.setattr(MemorySms, "outbox", [])
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(services, "_broker_down_until", 0.0)


@pytest.fixture
def occurrence(venue):
    venue.email = "lienhe@thuvien.example.vn"
    venue.save(update_fields=["email"])
    return make_occurrence(venue=venue, capacity=2)


def emails(**filters):
    return Message.objects.filter(channel=EMAIL, **filters)


def send_all(now=None):
    return {m.pk: message_send(message_id=m.pk, now=now) for m in Message.objects.filter(status=S.PENDING)}


# Registration


def test_a_registration_with_an_email_gets_one_sms_and_one_email(occurrence, django_capture_on_commit_callbacks):
    # given / when someone registers in English with an e-mail address (messages sent after commit)
    with django_capture_on_commit_callbacks(execute=True):
        registration = register(occurrence, full_name="Lê Văn An", email="an@example.org", language="en").registration

    # then one SMS and one e-mail are recorded, each with its own key
    sms = Message.objects.get(registration=registration, channel=SMS)
    email = Message.objects.get(registration=registration, channel=EMAIL)
    assert (sms.kind, email.kind) == (K.CONFIRMATION, K.CONFIRMATION)
    assert sms.dedupe_key == f"registration:{registration.pk}:confirmation:0"
    assert email.dedupe_key == f"email:{sms.dedupe_key}"
    assert (email.recipient, email.language, email.venue, email.occurrence) == (
        "an@example.org", "en", occurrence.venue, occurrence,
    )
    assert (email.segments, email.cost, email.encoding) == (0, 0, "")
    # and both went once, the e-mail with the ticket link, in English
    assert [m.pk for m in MemorySms.outbox] == [sms.pk]
    ticket_url = "https://sukien.example.vn" + registration.ticket.get_absolute_url()
    [sent] = mail.outbox
    assert sent.to == ["an@example.org"] and sent.from_email == "Sự kiện <no-reply@sukien.example.vn>"
    assert sent.subject == f"Registration confirmed: {occurrence.programme.event.title}"
    assert sent.body.startswith("Hello Lê Văn An,\n\nRegistered: ")
    assert f"Your ticket: {ticket_url}" in sent.body
    assert sent.reply_to == ["lienhe@thuvien.example.vn"]
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html" and f'<a href="{ticket_url}"' in html and 'lang="en"' in html
    email.refresh_from_db()
    assert email.status == S.SENT and email.attempts == 1
    assert sent.extra_headers["Message-ID"] == f"<{email.provider_id}>"


def test_the_email_keeps_the_diacritics_an_sms_without_them_drops(venue, occurrence):
    # given a venue that sends SMS without diacritics
    SmsPolicy.objects.create(venue=venue, without_diacritics=True)

    # when a Vietnamese registrant with an e-mail address registers
    registration = register(occurrence, full_name="Trần Thị Bình", email="binh@example.org").registration

    # then the SMS is plain, the e-mail keeps its Vietnamese
    sms = Message.objects.get(registration=registration, channel=SMS)
    email = Message.objects.get(registration=registration, channel=EMAIL)
    assert sms.encoding == "GSM-7" and "Trần" not in sms.body
    assert email.language == "vi" and "Trần Thị Bình" in email.body
    assert occurrence.venue.name in email.body and occurrence.venue.address in email.body


def test_a_registration_without_an_email_gets_no_email(occurrence):
    # when
    registration = register(occurrence).registration

    # then
    assert Message.objects.filter(registration=registration, channel=SMS).count() == 1
    assert not emails().exists()


def test_waiting_list_and_promotion_go_by_email_too(occurrence):
    # given a full date and someone with an e-mail address on its waiting list
    first = register(occurrence, party_size=2).registration
    waiting = register(occurrence, email="cho@example.org", language="en").registration
    assert waiting.status == Registration.Status.WAITING

    # when a seat becomes free
    registration_cancel(registration_id=first.pk)

    # then the waiting registrant got both messages by e-mail, each once, keyed like its SMS
    assert list(emails(registration=waiting).order_by("pk").values_list("kind", "dedupe_key")) == [
        (K.WAITING, f"email:registration:{waiting.pk}:waiting:0"),
        (K.PROMOTED, f"email:registration:{waiting.pk}:promoted:0"),
    ]
    waiting_email = emails(kind=K.WAITING).get()
    assert waiting_email.subject.startswith("You are on the waiting list: ")
    assert "Details: https://sukien.example.vn/" in waiting_email.body  # no ticket yet
    ticket = Registration.objects.get(pk=waiting.pk).ticket
    assert f"Your ticket: https://sukien.example.vn{ticket.get_absolute_url()}" in emails(kind=K.PROMOTED).get().body
    assert Message.objects.filter(registration=waiting, channel=SMS).count() == 2


def test_a_date_cancelled_or_moved_is_told_by_email_too(occurrence):
    # given one registrant with an e-mail address and one without
    with_email = register(occurrence, email="an@example.org", language="en").registration
    register(occurrence)

    # when the venue moves the date, then cancels it
    later = occurrence.start + dt.timedelta(days=1)
    occurrence_move(occurrence=occurrence, start=later, end=later + dt.timedelta(hours=2))
    occurrence_cancel(occurrence=occurrence)
    occurrence_cancel(occurrence=occurrence)

    # then the one with an address got each change once by e-mail
    key = f"occurrence:{occurrence.pk}:%s:{with_email.pk}:0"
    assert sorted(emails(kind__startswith="occurrence_").values_list("dedupe_key", flat=True)) == [
        "email:" + key % "cancelled", "email:" + key % "moved",
    ]
    moved = emails(kind=K.OCCURRENCE_MOVED).get()
    assert moved.subject.startswith("New time: ") and timezone.localtime(later).strftime("%H:%M %d/%m/%Y") in moved.body
    # and the SMS are counted as before (each registrant: one of each)
    assert Message.objects.filter(channel=SMS, kind__startswith="occurrence_").count() == 4


def test_a_staff_message_goes_by_email_to_those_who_gave_an_address(occurrence):
    # given
    with_email = register(occurrence, full_name="Lê Văn An", email="an@example.org").registration
    register(occurrence)
    token = uuid.uuid4().hex

    # when staff write to every registrant, and the form is submitted twice
    assert staff_message_send(occurrence=occurrence, body="Chào {name}.", audience="all", token=token) == 2
    assert staff_message_send(occurrence=occurrence, body="Chào {name}.", audience="all", token=token) == 0

    # then one e-mail, filled for its registrant
    [email] = emails(kind=K.STAFF)
    assert email.registration == with_email
    assert email.dedupe_key == f"email:staff:{occurrence.pk}:{token}:{with_email.pk}"
    assert "Chào Lê Văn An." in email.body
    assert Message.objects.filter(channel=SMS, kind=K.STAFF).count() == 2


def test_resending_a_failed_sms_does_not_copy_its_email(occurrence):
    # given a registrant whose SMS failed and whose e-mail went
    registration = register(occurrence, email="an@example.org").registration
    sms = Message.objects.get(registration=registration, channel=SMS)
    Message.objects.filter(pk=sms.pk).update(status=S.FAILED)

    # when staff send the SMS again
    copy = message_resend(message=sms)

    # then only the SMS is copied
    assert copy.channel == SMS
    assert emails(registration=registration).count() == 1


# Sending once


def test_sending_and_sweeping_twice_sends_each_email_once(occurrence, settings):
    # given a recorded e-mail (its task was lost: the registration's commit never handed it over)
    registration = register(occurrence, email="an@example.org").registration
    email = emails(registration=registration).get()
    settings.OUTBOX_SWEEP_AGE_SECONDS = 0

    # when it is sent twice, and the sweep runs twice
    first = message_send(message_id=email.pk)
    second = message_send(message_id=email.pk)
    outbox_sweep(now=timezone.now() + dt.timedelta(minutes=5))
    outbox_sweep(now=timezone.now() + dt.timedelta(minutes=5))

    # then it went once
    assert first.status == S.SENT and second is None
    assert len(mail.outbox) == 1
    assert Message.objects.get(pk=email.pk).attempts == 1


def test_the_sweep_hands_over_a_pending_email(occurrence, settings):
    # given an e-mail nobody handed over
    registration = register(occurrence, email="an@example.org").registration
    settings.OUTBOX_SWEEP_AGE_SECONDS = 0

    # when the sweep runs twice
    outbox_sweep(now=timezone.now() + dt.timedelta(minutes=5))
    outbox_sweep(now=timezone.now() + dt.timedelta(minutes=5))

    # then it was sent once
    assert [m.to for m in mail.outbox] == [["an@example.org"]]
    assert emails(registration=registration).get().status == S.SENT


# SMTP errors


def test_a_refused_recipient_fails_without_retry(occurrence):
    # given a server that refuses the address for good
    registration = register(occurrence, email="nobody@example.org").registration
    email = emails(registration=registration).get()
    ScriptedEmailBackend.script = [
        smtplib.SMTPRecipientsRefused({"nobody@example.org": (550, b"5.1.1 No such user")})
    ]

    # when
    result = message_send(message_id=email.pk)

    # then it failed at once, never to be tried again
    assert result.status == S.FAILED and result.attempts == 1 and result.send_after is None
    assert "550" in result.last_error
    assert message_send(message_id=email.pk, now=timezone.now() + dt.timedelta(days=1)) is None
    assert mail.outbox == []


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPRecipientsRefused({"an@example.org": (452, b"4.2.2 Mailbox full")}),
        smtplib.SMTPDataError(451, b"4.3.0 Try again later"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ],
    ids=["disconnected", "greylisted", "data-4xx", "refused-connection", "timeout"],
)
def test_a_transient_smtp_error_is_retried(occurrence, settings, error):
    # given a server that fails once
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    registration = register(occurrence, email="an@example.org").registration
    email = emails(registration=registration).get()
    ScriptedEmailBackend.script = [error]

    # when it is sent
    before = timezone.now()
    result = message_send(message_id=email.pk)

    # then it waits for a retry with back-off
    assert result.status == S.PENDING and result.attempts == 1 and result.last_error
    assert before + dt.timedelta(seconds=14) < result.send_after <= timezone.now() + dt.timedelta(seconds=30)
    # and goes when it is due, once
    assert message_send(message_id=email.pk, now=result.send_after).status == S.SENT
    assert len(mail.outbox) == 1


def test_a_bad_address_fails_without_calling_the_server(occurrence):
    # given an e-mail whose address is not one (stored before validation existed)
    registration = register(occurrence, email="an@example.org").registration
    email = emails(registration=registration).get()
    Message.objects.filter(pk=email.pk).update(recipient="an@@example")

    # when
    result = message_send(message_id=email.pk)

    # then
    assert result.status == S.FAILED and "Not an e-mail address" in result.last_error
    assert mail.outbox == []


# The SMS cap and the counts


def test_emails_do_not_count_toward_the_sms_cap(venue, occurrence):
    # given registrants with e-mail addresses, and a cap reached by their confirmations
    for name in ("an", "binh"):
        register(occurrence, email=f"{name}@example.org")
    used = month_segments_used(venue=venue)
    SmsPolicy.objects.create(venue=venue, monthly_cap=used)

    # when staff write to them and everything is sent
    staff_message_send(occurrence=occurrence, body="Mang theo thẻ.", audience="all", token=uuid.uuid4().hex)
    results = send_all()

    # then the staff SMS stop at the cap, the e-mails all go
    staff = Message.objects.filter(kind=K.STAFF)
    assert {results[m.pk].status for m in staff.filter(channel=SMS)} == {S.FAILED}
    assert {m.last_error for m in staff.filter(channel=SMS)} == {ERROR_MONTHLY_CAP}
    assert {results[m.pk].status for m in staff.filter(channel=EMAIL)} == {S.SENT}
    assert len(mail.outbox) == 4  # two confirmations, two staff messages
    # and the month counts SMS only
    assert month_segments_used(venue=venue) == used
    assert monthly_totals(venue=venue)[-1].messages == 2


def test_the_log_shows_and_filters_the_channel(client, owner, venue, occurrence):
    # given
    registration = register(occurrence, email="an@example.org").registration
    client.force_login(owner)
    url = reverse("staff_messages:venue_log", args=[venue.slug])

    # when / then
    response = client.get(url + "?channel=email")
    assert [(m.channel, m.recipient_shown) for m in response.context["rows"]] == [(EMAIL, "an@example.org")]
    assert response.context["channels"] == Message.Channel.choices
    assert [m.channel for m in client.get(url + "?channel=sms").context["rows"]] == [SMS]
    assert client.get(url + "?channel=fax").context["channel"] == ""
    assert Message.objects.filter(registration=registration).count() == 2


# Reminders


def local(days: int, clock: str) -> dt.datetime:
    hours, minutes = map(int, clock.split(":"))
    return local_datetime(timezone.localdate() + dt.timedelta(days=days), dt.time(hours, minutes))


def date_at(venue, start: dt.datetime, reminder_hours="24"):
    programme = make_programme(
        venue=venue, day=timezone.localtime(start).date(), start_time=timezone.localtime(start).time(),
        reminder_hours=reminder_hours, capacity=50,
    )
    return programme.occurrences.get()


def test_the_phones_choices_stop_sms_reminders_not_email_ones(venue):
    # given registrants with e-mail addresses: one whose number opted out, one
    # without SMS reminders, one with both; and one without an address
    occurrence = date_at(venue, local(5, "14:00"))
    opted_out = register(occurrence, phone="0912000601", email="a@example.org", language="en").registration
    SmsOptOut.objects.create(phone=opted_out.phone, source=SmsOptOut.Source.LINK)
    no_sms = register(occurrence, phone="0912000602", email="b@example.org", sms_opt_in=False).registration
    both = register(occurrence, phone="0912000603", email="c@example.org").registration
    phone_only = register(occurrence, phone="0912000604").registration
    instant = occurrence.start - dt.timedelta(hours=24)

    # when the dispatcher runs twice
    first = reminders_dispatch(now=instant)
    again = reminders_dispatch(now=instant + dt.timedelta(minutes=1))

    # then SMS to the phones that want them, e-mails to every address, each once
    reminders = Message.objects.filter(kind=K.REMINDER)
    assert (first.created, again.created) == (5, 0)
    assert sorted(reminders.filter(channel=SMS).values_list("registration", flat=True)) == [both.pk, phone_only.pk]
    assert sorted(reminders.filter(channel=EMAIL).values_list("dedupe_key", flat=True)) == sorted(
        f"email:reminder:{r.pk}:{occurrence.pk}:24h" for r in (opted_out, no_sms, both)
    )
    # the e-mail carries the ticket, not the SMS opt-out link
    english = reminders.get(channel=EMAIL, registration=opted_out)
    assert english.subject.startswith(f"Reminder: {occurrence.programme.event.title}, ")
    assert english.body.startswith("Hello Nguyễn Văn An,\n\nThis is a reminder of your registration for ")
    assert "https://sukien.example.vn" + opted_out.ticket.get_absolute_url() in english.body
    assert "/sms/optout/" not in english.body

    # when they are sent
    results = send_all(now=instant)

    # then every e-mail reminder went, once
    assert {results[m.pk].status for m in reminders.filter(channel=EMAIL)} == {S.SENT}
    subjects = set(reminders.filter(channel=EMAIL).values_list("subject", flat=True))
    assert sorted(to for m in mail.outbox if m.subject in subjects for to in m.to) == [
        "a@example.org", "b@example.org", "c@example.org",
    ]


def test_quiet_hours_hold_sms_reminders_not_email_ones(venue):
    # given an 08:00 date whose 2-hour reminder (06:00, quiet) is recorded before quiet hours
    occurrence = date_at(venue, local(5, "08:00"), reminder_hours="2")
    register(occurrence, email="an@example.org")
    reminders_dispatch(now=local(4, "20:30"))
    sms = Message.objects.get(kind=K.REMINDER, channel=SMS)
    email = Message.objects.get(kind=K.REMINDER, channel=EMAIL)

    # when both are sent at 23:00 (their task came late)
    late = local(4, "23:00")
    held = message_send(message_id=sms.pk, now=late)
    sent = message_send(message_id=email.pk, now=late)

    # then the SMS waits for 07:00, the e-mail goes
    assert held is None
    assert Message.objects.get(pk=sms.pk).send_after == local(5, "07:00")
    assert sent.status == S.SENT


def test_a_dispatcher_catching_up_in_quiet_hours_still_records_the_email(venue):
    # given a 06:30 date: its 2-hour reminder (04:30, quiet) is due at 20:30 the evening before
    occurrence = date_at(venue, local(5, "06:30"), reminder_hours="2")
    register(occurrence, email="an@example.org")

    # when the dispatcher catches up at 21:45, in quiet hours that end after the start
    reminders_dispatch(now=local(4, "21:45"))

    # then the SMS is too late, the e-mail is not
    assert list(Message.objects.filter(kind=K.REMINDER).values_list("channel", "send_after")) == [(EMAIL, None)]


def test_an_email_reminder_no_longer_relevant_is_not_sent(venue):
    # given e-mail reminders recorded, then the registration is cancelled
    occurrence = date_at(venue, local(5, "14:00"))
    registration = register(occurrence, email="an@example.org").registration
    instant = occurrence.start - dt.timedelta(hours=24)
    reminders_dispatch(now=instant)
    registration_cancel(registration_id=registration.pk)
    mail.outbox.clear()

    # when it is sent
    email = Message.objects.get(kind=K.REMINDER, channel=EMAIL)
    result = message_send(message_id=email.pk, now=instant)

    # then
    assert result.status == S.FAILED and result.last_error == ERROR_OBSOLETE
    assert not [m for m in mail.outbox if m.subject == email.subject]
