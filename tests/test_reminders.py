"""Reminders before a date: recorded once per registration, date and lead time
even when dispatchers race, moved before quiet hours, never to opted-out
numbers; the opt-out link and its page."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from attendance.models import Registration
from common.timeutil import local_datetime
from config.celery import app
from notifications import reminders as reminders_module
from notifications import services
from notifications.models import Message, MessageTemplate, SmsOptOut
from notifications.optout import optout_token_make, optout_token_read, optout_url
from notifications.reminders import quiet_period, reminder_due_at, reminders_dispatch
from notifications.services import ERROR_OPTED_OUT, message_send
from notifications.tasks import message_send_many_task, reminders_dispatch_task
from tests.attendance_helpers import register
from tests.concurrency import at_once
from tests.factories import make_programme

K = Message.Kind
S = Message.Status


@pytest.fixture(autouse=True)
def sms(settings, monkeypatch):
    settings.SMS_TRANSPORT = "notifications.transports.MemorySms"
    settings.SMS_RATE_PER_SECOND = 0
    settings.QUIET_HOURS_START, settings.QUIET_HOURS_END = "21:00", "07:00"
    settings.REMINDER_LOOKBACK_MINUTES = 120
    settings.SITE_URL = "https://sukien.example.vn"
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(services, "_broker_down_until", 0.0)


def at(days: int, clock: str) -> dt.datetime:
    """A local instant `days` from today at `clock` (HH:MM)."""
    hours, minutes = map(int, clock.split(":"))
    return local_datetime(timezone.localdate() + dt.timedelta(days=days), dt.time(hours, minutes))


def date_at(venue, start: dt.datetime, reminder_hours="24,2"):
    programme = make_programme(
        venue=venue, day=timezone.localtime(start).date(), start_time=timezone.localtime(start).time(),
        reminder_hours=reminder_hours, capacity=50,
    )
    return programme.occurrences.get()


def reminders(occurrence=None):
    messages = Message.objects.filter(kind=K.REMINDER)
    return messages.filter(occurrence=occurrence) if occurrence else messages


@pytest.fixture
def occurrence(venue):
    return date_at(venue, at(5, "14:00"))


@pytest.fixture
def registrations(occurrence):
    return [register(occurrence, phone=f"09120001{n:02d}").registration for n in range(3)]


# Which and when


def test_due_reminders_are_recorded_once_each(occurrence, registrations):
    # when the dispatcher runs at the 24-hour instant, and again a minute later
    first = reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))
    again = reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24) + dt.timedelta(minutes=1))

    # then one reminder per registration, keyed by registration, date and lead time
    assert (first.created, first.more, again.created) == (3, False, 0)
    assert sorted(reminders().values_list("dedupe_key", flat=True)) == sorted(
        f"reminder:{r.pk}:{occurrence.pk}:24h" for r in registrations
    )
    message = reminders().get(registration=registrations[0])
    assert message.recipient == registrations[0].phone and message.venue == occurrence.venue
    assert message.status == S.PENDING and message.send_after is None

    # when the 2-hour instant comes
    second = reminders_dispatch(now=occurrence.start - dt.timedelta(hours=2))

    # then the 2-hour reminders, once
    assert second.created == 3
    assert reminders().filter(dedupe_key__endswith=":2h").count() == 3
    assert reminders_dispatch(now=occurrence.start - dt.timedelta(minutes=100)).created == 0


def test_nothing_is_due_before_its_instant(occurrence, registrations):
    assert reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24, minutes=1)).created == 0
    assert not reminders().exists()


def test_a_missed_reminder_is_caught_up_within_the_look_back_only(venue, settings):
    # given two dates, and a dispatcher that was down for a while
    soon = date_at(venue, at(5, "14:00"))
    earlier = date_at(venue, at(5, "12:00"))
    register(soon, phone="0912000201")
    register(earlier, phone="0912000202")

    # when it runs 119 minutes after the first's 24-hour instant, 239 after the other's
    reminders_dispatch(now=soon.start - dt.timedelta(hours=24) + dt.timedelta(minutes=119))

    # then only the first is still worth sending
    assert list(reminders().values_list("occurrence", flat=True)) == [soon.pk]


def test_someone_registered_after_the_instant_gets_no_reminder(occurrence, registrations):
    # given a registration confirmed 3 hours before the date
    late = registrations[0]
    Registration.objects.filter(pk=late.pk).update(confirmed_at=occurrence.start - dt.timedelta(hours=3))

    # when
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=2))

    # then the 24-hour reminder is not sent to them, the 2-hour one is
    assert set(reminders().filter(registration=late).values_list("dedupe_key", flat=True)) == {
        f"reminder:{late.pk}:{occurrence.pk}:2h"
    }


def test_reminder_hours_are_per_programme(venue):
    # given a programme with a 3-hour reminder only and one with none
    three = date_at(venue, at(5, "15:00"), reminder_hours="3")
    none = date_at(venue, at(5, "15:00"), reminder_hours="")
    register(three, phone="0912000301")
    register(none, phone="0912000302")

    # when
    for lead in (24, 3, 2):
        reminders_dispatch(now=three.start - dt.timedelta(hours=lead))

    # then
    assert list(reminders().values_list("dedupe_key", flat=True)) == [
        f"reminder:{three.registrations.get().pk}:{three.pk}:3h"
    ]


def test_opted_out_numbers_and_people_without_sms_reminders_get_none(occurrence):
    # given
    opted_out = register(occurrence, phone="0912000401").registration
    SmsOptOut.objects.create(phone=opted_out.phone, source=SmsOptOut.Source.LINK)
    no_sms = register(occurrence, phone="0912000402", sms_opt_in=False).registration
    wanted = register(occurrence, phone="0912000403").registration

    # when
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))

    # then
    assert list(reminders().values_list("registration", flat=True)) == [wanted.pk]
    # while their confirmations were recorded all the same
    assert Message.objects.filter(kind=K.CONFIRMATION, registration__in=[opted_out, no_sms]).count() == 2


def test_cancelled_dates_and_registrations_get_none(venue, occurrence, registrations):
    # given one registration cancelled, and another date cancelled
    from attendance.services import registration_cancel

    registration_cancel(registration_id=registrations[0].pk)
    cancelled = date_at(venue, occurrence.start)
    register(cancelled, phone="0912000501")
    cancelled.cancelled = True
    cancelled.save(update_fields=["cancelled"])

    # when
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))

    # then
    assert set(reminders().values_list("registration", flat=True)) == {r.pk for r in registrations[1:]}


def test_a_recorded_reminder_is_not_sent_once_it_is_no_longer_relevant(occurrence, registrations):
    # given reminders recorded, then one number opts out and the date is cancelled for another
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))
    SmsOptOut.objects.create(phone=registrations[0].phone, source=SmsOptOut.Source.STAFF)
    from attendance.services import registration_cancel

    registration_cancel(registration_id=registrations[1].pk)
    send_at = occurrence.start - dt.timedelta(hours=24)

    # when they are sent
    results = {m.registration_id: message_send(message_id=m.pk, now=send_at) for m in reminders()}

    # then
    assert results[registrations[0].pk].status == S.FAILED
    assert results[registrations[0].pk].last_error == ERROR_OPTED_OUT
    assert results[registrations[1].pk].status == S.FAILED
    assert results[registrations[2].pk].status == S.SENT


# Quiet hours


def test_quiet_hours_move_a_reminder_before_them(venue):
    # an 08:00 event: the 24-hour reminder at 08:00 the day before, the 2-hour one
    # (06:00, quiet) at 20:30 the evening before
    start = at(5, "08:00")
    assert reminder_due_at(start, 24) == at(4, "08:00")
    assert reminder_due_at(start, 2) == at(4, "20:30")
    # a 23:30 event: the 2-hour one (21:30, quiet) at 20:30 the same evening
    assert reminder_due_at(at(5, "23:30"), 2) == at(5, "20:30")
    # outside quiet hours nothing moves
    assert reminder_due_at(at(5, "14:00"), 2) == at(5, "12:00")
    assert reminder_due_at(at(5, "23:00"), 2) == at(5, "21:00") - dt.timedelta(minutes=30)
    assert quiet_period(at(5, "20:59")) is None
    assert quiet_period(at(5, "21:00")) == (at(5, "21:00"), at(6, "07:00"))
    assert quiet_period(at(6, "06:59")) == (at(5, "21:00"), at(6, "07:00"))
    assert quiet_period(at(6, "07:00")) is None


def test_the_2_hour_reminder_of_an_8_oclock_event_goes_the_evening_before(venue):
    # given an 08:00 event
    occurrence = date_at(venue, at(5, "08:00"))
    registration = register(occurrence, phone="0912000601").registration

    # when the dispatcher runs through the evening before
    assert reminders_dispatch(now=at(4, "20:29")).created == 0
    assert reminders_dispatch(now=at(4, "20:30")).created == 1
    assert reminders_dispatch(now=at(5, "06:00")).created == 0

    # then it is sent at once, at 20:30
    message = reminders().get(dedupe_key=f"reminder:{registration.pk}:{occurrence.pk}:2h")
    assert message.send_after is None
    assert message_send(message_id=message.pk, now=at(4, "20:30")).status == S.SENT


def test_without_quiet_hours_nothing_moves(venue, settings):
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = "00:00"
    occurrence = date_at(venue, at(5, "08:00"))
    register(occurrence, phone="0912000602")

    assert reminder_due_at(occurrence.start, 2) == at(5, "06:00")
    assert reminders_dispatch(now=at(4, "20:30")).created == 0
    assert reminders_dispatch(now=at(5, "06:00")).created == 1


def test_a_reminder_caught_up_in_quiet_hours_waits_for_their_end(venue):
    # given an 08:00 event whose 2-hour reminder (20:30) the dispatcher missed
    occurrence = date_at(venue, at(5, "08:00"))
    register(occurrence, phone="0912000701")

    # when it catches up at 22:00
    reminders_dispatch(now=at(4, "22:00"))

    # then the reminder waits for 07:00
    message = reminders().get()
    assert message.send_after == at(5, "07:00")
    assert message_send(message_id=message.pk, now=at(4, "22:00")) is None
    assert message_send(message_id=message.pk, now=at(5, "07:00")).status == S.SENT


def test_a_reminder_caught_up_in_quiet_hours_is_dropped_if_the_date_starts_before_their_end(venue):
    # given a 06:30 event (2-hour reminder moved to 20:30) and a dispatcher back at 22:00
    occurrence = date_at(venue, at(5, "06:30"))
    register(occurrence, phone="0912000702")

    reminders_dispatch(now=at(4, "22:00"))

    assert not reminders().exists()


def test_a_reminder_is_never_sent_in_quiet_hours(venue, occurrence, registrations):
    # given a reminder whose sending was delayed (retries, an outage) into the night
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))
    message = reminders().first()

    # when a worker gets it at 23:00
    result = message_send(message_id=message.pk, now=at(3, "23:00"))

    # then it is held until 07:00
    message.refresh_from_db()
    assert result is None and message.status == S.PENDING and message.send_after == at(4, "07:00")


# Concurrency and chunks


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_record_each_reminder_once(venue):
    # given 30 registrations due for a reminder
    occurrence = date_at(venue, at(5, "14:00"))
    for n in range(30):
        register(occurrence, phone=f"09120008{n:02d}")
    now, created = occurrence.start - dt.timedelta(hours=24), []

    def dispatcher(_):
        created.append(reminders_dispatch(now=now, limit=7).created)
        created.append(reminders_dispatch(now=now).created)

    # when six dispatchers run at once
    errors = at_once(dispatcher, range(6))

    # then every reminder exists once, and together they say they recorded 30
    assert errors == []
    assert reminders(occurrence).count() == 30
    assert reminders(occurrence).values("dedupe_key").distinct().count() == 30
    assert sum(created) == 30


def test_a_large_batch_is_recorded_in_chunks(occurrence, registrations):
    now = occurrence.start - dt.timedelta(hours=24)
    assert (reminders_dispatch(now=now, limit=2).created, reminders_dispatch(now=now, limit=2).more) == (2, False)
    assert reminders().count() == 3


def test_a_chunk_is_recorded_in_one_insert_and_handed_over_in_batches(
    occurrence, registrations, monkeypatch, django_capture_on_commit_callbacks
):
    # given batches of 2 messages per send task
    queued = []
    monkeypatch.setattr(services, "SEND_BATCH", 2)
    monkeypatch.setattr(
        services, "_enqueue",
        lambda task, *args, countdown=None, priority=None, **kw: queued.append((task.name, args, priority)) or True,
    )

    # when the three reminders are due
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        result = reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))

    # then one INSERT wrote them, and after commit two batch tasks carry their ids, behind single messages
    assert result.created == 3
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 1
    assert [(name, len(args[0]), priority) for name, args, priority in queued] == [
        (message_send_many_task.name, 2, services.BULK_PRIORITY), (message_send_many_task.name, 1, services.BULK_PRIORITY)
    ]
    assert sorted(pk for _name, args, _priority in queued for pk in args[0]) == sorted(
        reminders(occurrence).values_list("pk", flat=True)
    )


def _seven_due(venue, settings):
    """7 registrations whose 2-hour reminder is due now (quiet hours out of the way)."""
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = "00:00"
    occurrence = date_at(venue, timezone.now() + dt.timedelta(hours=2) - dt.timedelta(minutes=1), reminder_hours="2")
    for n in range(7):
        register(occurrence, phone=f"09120009{n:02d}")
    occurrence.registrations.update(confirmed_at=timezone.now() - dt.timedelta(days=1))
    return occurrence


def test_the_task_queues_itself_until_everything_is_recorded(venue, settings, monkeypatch):
    # given 7 due reminders, and a dispatcher run whose time is up after one chunk
    occurrence = _seven_due(venue, settings)
    monkeypatch.setattr(reminders_module, "DISPATCH_SECONDS", 0)

    # when the task runs with chunks of 3
    first = reminders_dispatch_task.apply(kwargs={"limit": 3}).get()

    # then the first run recorded 3, and the runs it queued the rest
    assert first == 3
    assert reminders(occurrence).count() == 7


def test_one_task_run_records_chunk_after_chunk_within_its_time(venue, settings, monkeypatch):
    # given 7 due reminders, and a dispatcher run that queues nothing (it would fail the test)
    occurrence = _seven_due(venue, settings)
    monkeypatch.setattr(reminders_dispatch_task, "delay", lambda *a, **k: pytest.fail("queued itself"))

    # when the task runs with chunks of 3
    created = reminders_dispatch_task.apply(kwargs={"limit": 3}, throw=True).get()

    # then the one run recorded all 7, in three transactions
    assert created == 7
    assert reminders(occurrence).count() == 7


def test_the_dispatcher_and_the_sweep_are_scheduled(db):
    call_command("sync_periodic_tasks")

    dispatcher = PeriodicTask.objects.get(task="notifications.reminders_dispatch_task")
    sweep = PeriodicTask.objects.get(task="notifications.outbox_sweep_task")
    assert (dispatcher.crontab.minute, dispatcher.crontab.hour) == ("*", "*")
    assert (sweep.crontab.minute, sweep.crontab.hour) == ("*/2", "*")


# The text and the opt-out link


def test_the_reminder_carries_the_ticket_and_the_opt_out_link(occurrence):
    # given
    registration = register(occurrence, phone="0912001001", language="en").registration

    # when
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=2))

    # then
    body = reminders().get().body
    link = optout_url(registration)
    assert link.startswith("https://sukien.example.vn/sms/optout/") and link in body
    assert "https://sukien.example.vn" + registration.ticket.get_absolute_url() in body
    assert body.startswith(f"Reminder: {occurrence.programme.title}, 14:00 ")
    assert len(link) < len("https://sukien.example.vn/sms/optout/") + 20  # short: every character costs


def test_a_venue_template_without_the_link_gets_it_all_the_same(venue, occurrence):
    MessageTemplate.objects.create(venue=venue, kind=K.REMINDER, language="vi", body="Hẹn gặp {name} lúc {when}!")
    registration = register(occurrence, phone="0912001002").registration

    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=2))

    body = reminders().get().body
    assert body.startswith("Hẹn gặp Nguyễn Văn An lúc 14:00 ")
    assert body.endswith(" " + optout_url(registration))


def test_an_opt_out_token_names_its_registration_and_cannot_be_forged():
    token = optout_token_make(12345)
    assert optout_token_read(token) == 12345
    assert optout_token_read(optout_token_make(12346)) == 12346
    value, signature = token.split("-")
    forged = signature[:-1] + ("B" if signature.endswith("A") else "A")
    assert optout_token_read(f"{value}-{forged}") is None
    assert optout_token_read(f"9iy-{signature}") is None
    assert optout_token_read("nonsense") is None and optout_token_read("") is None


def test_the_opt_out_link_stops_reminders_but_not_confirmations(client, venue, occurrence):
    # given a registrant with a reminder link
    registration = register(occurrence, phone="0912001003").registration
    url = optout_url(registration).removeprefix("https://sukien.example.vn")

    # when they open it
    page = client.get(url)

    # then they see what will stop, for a number they can recognise
    assert page.status_code == 200
    assert b"0912 \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 003" in page.content
    assert b'id="optout-confirm"' in page.content
    assert "private" in page["Cache-Control"]
    assert not SmsOptOut.objects.exists()

    # when they confirm (one POST, no login, no CSRF cookie needed)
    response = client.post(url)

    # then
    assert response.status_code == 302 and response["Location"] == url
    assert SmsOptOut.objects.get(phone=registration.phone).source == SmsOptOut.Source.LINK
    done = client.get(url)
    assert b'id="optout-done"' in done.content and b'id="optout-confirm"' not in done.content
    # a second POST keeps one record
    client.post(url)
    assert SmsOptOut.objects.count() == 1

    # and no reminder goes to that number, while a new registration's confirmation does
    reminders_dispatch(now=occurrence.start - dt.timedelta(hours=24))
    assert not reminders().exists()
    other = date_at(venue, at(6, "10:00"))
    confirmation = register(other, phone="0912001003").registration.messages.get(kind=K.CONFIRMATION)
    assert message_send(message_id=confirmation.pk).status == S.SENT


@pytest.mark.parametrize("token", ["abc", "1-AAAAAAAAAAAA", "zz-" + "x" * 12])
def test_a_bad_opt_out_link_is_404(client, db, token):
    response = client.get(reverse("sms_optout:optout", args=[token]))
    assert response.status_code == 404
    assert b'id="optout-invalid"' in response.content
    assert client.post(reverse("sms_optout:optout", args=[token])).status_code == 404
    assert not SmsOptOut.objects.exists()


def test_an_erased_registration_has_a_dead_link(client, occurrence):
    registration = register(occurrence, phone="0912001004").registration
    url = reverse("sms_optout:optout", args=[optout_token_make(registration.pk)])
    Registration.objects.filter(pk=registration.pk).update(phone="")

    assert client.get(url).status_code == 404
