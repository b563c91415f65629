"""The outbox: a message is claimed once, retried with back-off on transient
errors, failed on permanent ones, swept when no worker took it, settled when
its worker was lost, held to the provider's rate and the venue's monthly cap;
and registration goes on when the broker is down."""

import datetime as dt
import time
import types

import pytest
from django.utils import timezone

from config.celery import app
from notifications import services
from notifications.courier import Courier
from notifications.models import Message, SmsOptOut, SmsPolicy
from notifications.services import (
    ERROR_IN_DOUBT,
    ERROR_MONTHLY_CAP,
    NOTE_RECOVERED,
    message_create,
    message_send,
    messages_record,
    messages_send,
    outbox_sweep,
    retry_delay,
    sms_rate_wait,
)
from notifications.tasks import message_send_many_task, message_send_task
from notifications.transports import Transport, TransportError
from tests.attendance_helpers import make_occurrence, register
from tests.concurrency import at_once

K = Message.Kind
S = Message.Status


class WorkerLost(BaseException):
    """Stands for a SIGKILL: nothing after it runs, not even `except Exception`."""


class ScriptedSms(Transport):
    """A provider for tests. `script` holds what the next calls do (a
    TransportError to raise, or a function of the message); `accepted` is the
    provider's own record, message id → provider id."""

    calls: list = []
    script: list = []
    accepted: dict = {}

    def notify(self, message) -> str:
        ScriptedSms.calls.append(message.pk)
        step = ScriptedSms.script.pop(0) if ScriptedSms.script else None
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            step(message)
        return accept(message)


def accept(message) -> str:
    sid = f"SM{message.pk:06d}{len(ScriptedSms.accepted):04d}"
    ScriptedSms.accepted[message.pk] = sid
    return sid


class LookupSms(ScriptedSms):
    """A provider that can say whether it has a message (as Twilio's Messages list can)."""

    def find_accepted(self, message) -> str | None:
        return ScriptedSms.accepted.get(message.pk)


@pytest.fixture(autouse=True)
def provider(settings, monkeypatch):
    settings.SMS_TRANSPORT = "tests.test_outbox.ScriptedSms"
    settings.SMS_RATE_PER_SECOND = 0
    monkeypatch.setattr(ScriptedSms, "calls", [])
    monkeypatch.setattr(ScriptedSms, "script", [])
    monkeypatch.setattr(ScriptedSms, "accepted", {})
    # Tasks run in-process whatever REDIS_URL says, unless a test wants a broker.
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    return ScriptedSms


@pytest.fixture
def handed_over(monkeypatch):
    """What was given to the broker: (task name, args, countdown)."""
    queued = []

    def record(task, *args, countdown=None, **kwargs):
        queued.append((task.name, args, countdown))
        return True

    monkeypatch.setattr(services, "_enqueue", record)
    return queued


def sms(kind=K.CONFIRMATION, recipient="+84912345678", **fields) -> Message:
    return message_create(channel=Message.Channel.SMS, recipient=recipient, kind=kind, body="Đã đăng ký", **fields)


def age(message: Message, seconds: float) -> None:
    """Pretend `message` was recorded `seconds` ago."""
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(seconds=seconds))


# Claiming


def test_a_pending_message_is_sent_once(db, provider):
    # given
    message = sms()

    # when it is sent twice (a task delivered twice)
    first = message_send(message_id=message.pk)
    second = message_send(message_id=message.pk)

    # then the provider was called once and the row says so
    assert second is None
    assert provider.calls == [message.pk]
    message.refresh_from_db()
    assert message.status == S.SENT and message.attempts == 1
    assert message.provider_id == provider.accepted[message.pk] == first.provider_id
    assert message.sent_at is not None and message.status_changed_at == message.sent_at


def test_a_second_call_while_the_first_is_at_the_provider_does_nothing(db, provider):
    # given a provider call during which another worker gets the same message
    message = sms()
    during = []
    provider.script = [lambda m: during.append(message_send(message_id=m.pk))]

    # when
    message_send(message_id=message.pk)

    # then the second worker found it claimed
    assert during == [None]
    assert provider.calls == [message.pk]
    assert Message.objects.get(pk=message.pk).status == S.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_each_message_once(provider):
    # given 40 pending messages
    ids = [sms(recipient=f"+8491200{n:04d}").pk for n in range(40)]

    def worker(_):
        for message_id in ids:
            message_send(message_id=message_id)

    # when 8 workers try to send every one of them at once
    errors = at_once(worker, range(8))

    # then each went to the provider exactly once
    assert errors == []
    assert sorted(provider.calls) == sorted(ids)
    assert set(Message.objects.values_list("status", flat=True)) == {S.SENT}


def test_a_message_not_due_yet_waits(db, provider, handed_over):
    # given a message not before in 5 minutes
    send_after = timezone.now() + dt.timedelta(minutes=5)
    message = sms(send_after=send_after)

    # when a task for it arrives early
    assert message_send(message_id=message.pk) is None

    # then nothing was sent, and it is queued again for its time
    assert provider.calls == []
    [(name, args, countdown)] = handed_over
    assert args == (message.pk,) and 290 < countdown <= 300
    # and at its time it goes
    assert message_send(message_id=message.pk, now=send_after).status == S.SENT


# Retries


def test_a_transient_error_is_retried_later_with_back_off(db, provider, handed_over, settings):
    # given a provider that fails once with a 503
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    message = sms()
    provider.script = [TransportError("Twilio HTTP 503 error None: unavailable")]

    # when
    before = timezone.now()
    message_send(message_id=message.pk)

    # then it waits 15-30 s (the first back-off, half of it jitter) and its task is queued for then
    message.refresh_from_db()
    assert message.status == S.PENDING and message.attempts == 1
    assert "503" in message.last_error
    assert before + dt.timedelta(seconds=15) <= message.send_after <= timezone.now() + dt.timedelta(seconds=30)
    [(name, args, countdown)] = handed_over
    assert name == message_send_task.name and args == (message.pk,) and 14 < countdown <= 30
    # a task arriving before then does nothing
    assert message_send(message_id=message.pk) is None and provider.calls == [message.pk]

    # when the retry comes
    sent = message_send(message_id=message.pk, now=message.send_after)

    # then
    assert sent.status == S.SENT and sent.attempts == 2 and sent.last_error == ""
    assert len(provider.accepted) == 1


def test_the_provider_retry_after_is_honoured(db, provider, handed_over):
    message = sms()
    provider.script = [TransportError("Twilio HTTP 429 error 20429: too many requests", retry_after=600)]

    now = timezone.now()
    message_send(message_id=message.pk, now=now)

    message.refresh_from_db()
    assert message.status == S.PENDING
    assert message.send_after >= now + dt.timedelta(seconds=600)
    [(_name, _args, countdown)] = handed_over
    assert countdown > 590  # measured from the clock when handed over


def test_a_long_delay_is_left_to_the_sweep_not_held_by_the_broker(db, monkeypatch):
    # Redis would deliver a task held past its visibility timeout a second time.
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(message_send_task, "apply_async", lambda *a, **k: pytest.fail("queued"))

    assert services._enqueue(message_send_task, 1, countdown=services.MAX_COUNTDOWN_SECONDS + 1) is False


def test_back_off_doubles_with_jitter_up_to_the_maximum(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    settings.OUTBOX_RETRY_MAX_SECONDS = 900
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 900), (9, 900)]:
        delays = [retry_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10  # spread, not one instant
    assert retry_delay(1, retry_after=120) == 120


def test_a_permanent_error_fails_without_retry(db, provider, handed_over):
    # given an invalid number
    message = sms()
    provider.script = [TransportError("Twilio HTTP 400 error 21211: invalid 'To'", permanent=True)]

    # when
    message_send(message_id=message.pk)

    # then
    message.refresh_from_db()
    assert message.status == S.FAILED and message.attempts == 1
    assert "21211" in message.last_error
    assert handed_over == []
    assert message_send(message_id=message.pk) is None and len(provider.calls) == 1


def test_it_gives_up_after_the_last_attempt(db, provider, handed_over, settings):
    settings.OUTBOX_RETRY_MAX_ATTEMPTS = 2
    message = sms()
    provider.script = [TransportError("network down"), TransportError("network down")]

    message_send(message_id=message.pk)
    message.refresh_from_db()
    message_send(message_id=message.pk, now=message.send_after)

    message.refresh_from_db()
    assert message.status == S.FAILED and message.attempts == 2
    assert message.last_error == "gave up after 2 attempts: network down"


# Many at once: a batch task (a chunk of reminders)


def batch(n: int, **fields) -> list[int]:
    return [sms(recipient=f"+8491230{i:04d}", **fields).pk for i in range(n)]


def test_a_batch_replayed_twice_sends_each_once(db, provider):
    # given three pending messages handed over as one batch
    ids = batch(3)

    # when the batch task runs, and is delivered again (acks_late)
    first = message_send_many_task.apply((ids,)).get()
    second = message_send_many_task.apply((ids,)).get()

    # then each reached the provider once, in order, and the replay did nothing
    assert provider.calls == ids
    assert first["sent"] == 3 and second == {**second, "sent": 0, "skipped": 3}
    assert set(Message.objects.filter(pk__in=ids).values_list("status", "attempts")) == {(S.SENT, 1)}


def test_a_batch_skips_a_message_sent_already(db, provider):
    # given a batch whose second message was sent by its own task before
    ids = batch(3)
    message_send(message_id=ids[1])
    provider.calls.clear()

    # when the batch runs
    counts = messages_send(message_ids=ids)

    # then the other two went, the sent one was not sent again
    assert provider.calls == [ids[0], ids[2]]
    assert counts["sent"] == 2 and counts["skipped"] == 1
    assert Message.objects.get(pk=ids[1]).attempts == 1


def test_a_transient_error_in_a_batch_retries_that_message_only(db, provider, handed_over):
    # given a batch of three whose second send fails with a 503
    ids = batch(3)
    provider.script = [None, TransportError("Twilio HTTP 503 error None: unavailable")]

    # when the batch runs
    counts = messages_send(message_ids=ids)

    # then the first and third are sent, the second alone waits for its retry
    assert provider.calls == ids
    statuses = dict(Message.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {ids[0]: S.SENT, ids[1]: S.PENDING, ids[2]: S.SENT}
    assert counts["sent"] == 2 and counts["waiting"] == 1
    [(name, args, countdown)] = handed_over
    assert name == message_send_task.name and args == (ids[1],) and countdown > 0

    # when the batch is delivered again before the retry is due, then nothing is sent
    assert messages_send(message_ids=ids)["sent"] == 0 and len(provider.calls) == 3


def test_a_worker_lost_in_a_batch_leaves_the_rest_pending_and_sends_nothing_twice(db, provider, settings):
    # given a batch of four whose worker is killed after the provider accepted the second
    settings.SMS_TRANSPORT = "tests.test_outbox.LookupSms"
    ids = batch(4)
    ScriptedSms.script = [None, _killed_after_the_provider_accepted]
    with pytest.raises(WorkerLost):
        messages_send(message_ids=ids)
    statuses = dict(Message.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {ids[0]: S.SENT, ids[1]: S.QUEUED, ids[2]: S.PENDING, ids[3]: S.PENDING}

    # when the batch is delivered again, and the sweep settles the claim once it is stale
    messages_send(message_ids=ids)
    outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))

    # then the rest went, and every message reached the provider exactly once
    assert sorted(provider.calls) == ids
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {S.SENT}
    assert Message.objects.get(pk=ids[1]).last_error == NOTE_RECOVERED


def test_a_batch_applies_opt_outs_and_the_monthly_cap(db, provider, capped_venue, settings):
    # given a batch of reminders of a venue capped at 3 segments, one to an opted-out number
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = "00:00"
    occurrence = make_occurrence(venue=capped_venue)
    ids = [
        message_create(
            channel=Message.Channel.SMS, recipient=f"+8491240000{n}", kind=K.REMINDER, body="Nhắc lịch",
            registration=register(occurrence, phone=f"091240000{n}").registration, occurrence=occurrence,
        ).pk
        for n in range(5)
    ]
    Message.objects.filter(kind=K.CONFIRMATION).update(status=S.FAILED)  # the registrations' own SMS: not counted
    SmsOptOut.objects.create(phone="+84912400001", source=SmsOptOut.Source.LINK)

    # when the batch runs
    counts = messages_send(message_ids=ids)

    # then the opted-out number gets nothing, and the cap stops the fifth
    statuses = list(Message.objects.filter(pk__in=ids).order_by("pk").values_list("status", "last_error"))
    assert statuses == [
        (S.SENT, ""), (S.FAILED, services.ERROR_OPTED_OUT), (S.SENT, ""), (S.SENT, ""), (S.FAILED, ERROR_MONTHLY_CAP)
    ]
    assert counts["sent"] == 3 and counts["failed"] == 2


def test_a_batch_over_the_rate_limit_defers_the_rest_together(db, provider, handed_over, monkeypatch, settings):
    # given a limit of 2 per second, and a batch of 5 in the same second
    settings.SMS_RATE_PER_SECOND = 2
    frozen = 9_000_000 + time.time_ns() % 1_000_000 + 0.5
    monkeypatch.setattr(services, "time", types.SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic))
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    ids = batch(5)

    # when the batch runs
    now = timezone.now()
    counts = messages_send(message_ids=ids, now=now)

    # then two went, the other three wait for the next second, handed over as one batch
    assert provider.calls == ids[:2] and counts["waiting"] == 3
    [(name, args, countdown)] = handed_over
    assert name == message_send_many_task.name and args == (ids[2:],) and 0.4 < countdown <= 1.5
    assert Message.objects.filter(pk__in=ids[2:], status=S.PENDING, send_after__gt=now).count() == 3


def test_a_message_with_a_key_is_recorded_once_and_a_refused_one_is_never_dropped_silently(db):
    # given a message recorded with a key
    first = sms(dedupe_key="k1")

    # when the same key is recorded again, then nothing more is
    assert sms(dedupe_key="k1") is None
    assert list(Message.objects.values_list("pk", flat=True)) == [first.pk]

    # when a new key comes with a row the database refuses (no recipient), then it raises
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        sms(dedupe_key="k2", recipient=None)
    assert not Message.objects.filter(dedupe_key="k2").exists()


def test_many_messages_are_recorded_at_once_and_handed_over_in_batches(
    db, provider, handed_over, monkeypatch, django_capture_on_commit_callbacks
):
    # given a message recorded already, and batches of 2
    monkeypatch.setattr(services, "SEND_BATCH", 2)
    sms(dedupe_key="k1")

    # when five messages are recorded at once, one of them with that key (twice)
    drafts = [
        Message(channel=Message.Channel.SMS, recipient=f"+849125000{n:02d}", kind=K.STAFF, body="Thư viện “mở cửa”",
                dedupe_key=f"k{n}")
        for n in (1, 2, 3, 4, 5, 1)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        created = messages_record(drafts)

    # then the four new ones are recorded once each, measured like message_create does, and
    # handed over after commit, two per task
    assert sorted(m.dedupe_key for m in created) == ["k2", "k3", "k4", "k5"]
    assert Message.objects.count() == 5
    row = Message.objects.get(pk=created[0].pk)
    assert row.body == 'Thư viện "mở cửa"' and row.encoding == "UCS-2" and row.segments == 1 and row.cost > 0
    assert [(name, len(args[0])) for name, args, _countdown in handed_over] == [
        (message_send_many_task.name, 2), (message_send_many_task.name, 2)
    ]
    assert sorted(pk for _name, args, _countdown in handed_over for pk in args[0]) == sorted(m.pk for m in created)

    # when the same are recorded again, then nothing is
    assert messages_record([Message(channel=Message.Channel.SMS, recipient="+84912500002", kind=K.STAFF, body="x",
                                    dedupe_key="k2")]) == []


# The sweep


def test_the_sweep_hands_over_due_pending_messages_only(db, provider, handed_over, settings):
    # given
    settings.OUTBOX_SWEEP_AGE_SECONDS = 60
    forgotten = sms(recipient="+84912000001")  # recorded while the broker was down
    age(forgotten, 120)
    fresh = sms(recipient="+84912000002")  # its task is surely on its way
    later = sms(recipient="+84912000003", send_after=timezone.now() + dt.timedelta(hours=1))
    age(later, 120)
    retry_due = sms(recipient="+84912000004", send_after=timezone.now() - dt.timedelta(seconds=90))
    sent = sms(recipient="+84912000005")
    message_send(message_id=sent.pk)
    age(sent, 120)

    # when
    result = outbox_sweep()

    # then
    assert sorted(args[0] for _name, args, _countdown in handed_over) == sorted([forgotten.pk, retry_due.pk])
    assert result.handed_over == 2 and result.next_after_id is None
    assert fresh.pk and later.pk  # left alone


def test_what_the_sweep_hands_over_is_sent(db, provider):
    message = sms()
    age(message, 600)

    outbox_sweep()

    assert Message.objects.get(pk=message.pk).status == S.SENT
    assert provider.calls == [message.pk]


def test_the_sweep_never_fills_the_queue(db, provider, handed_over, monkeypatch):
    # given 8 forgotten messages and a queue already 995 deep
    ids = []
    for n in range(8):
        message = sms(recipient=f"+8491200{n:04d}")
        age(message, 600)
        ids.append(message.pk)
    monkeypatch.setattr(services, "queue_depth", lambda: 995)

    # when
    first = outbox_sweep(limit=1000)

    # then it tops the queue up to 1000 and says where to go on
    assert [args[0] for _n, args, _c in handed_over] == ids[:5]
    assert first.next_after_id == ids[4]

    # when it goes on (the queue drained meanwhile)
    monkeypatch.setattr(services, "queue_depth", lambda: 0)
    second = outbox_sweep(after_id=first.next_after_id, limit=1000)

    # then
    assert [args[0] for _n, args, _c in handed_over[5:]] == ids[5:]
    assert second.next_after_id is None


def _killed_after_the_provider_accepted(message):
    accept(message)
    raise WorkerLost


def _killed_before_the_provider(message):
    raise WorkerLost


def _lose_the_worker(message_id: int, step) -> None:
    ScriptedSms.script = [step]
    with pytest.raises(WorkerLost):
        message_send(message_id=message_id)


def test_a_worker_lost_after_the_provider_accepted_does_not_cause_a_duplicate(db, provider, settings):
    # given a worker killed right after the provider accepted, before it recorded so
    settings.SMS_TRANSPORT = "tests.test_outbox.LookupSms"
    settings.OUTBOX_STALE_SECONDS = 300
    message = sms()
    _lose_the_worker(message.pk, _killed_after_the_provider_accepted)
    assert Message.objects.get(pk=message.pk).status == S.QUEUED

    # when the task is delivered again (acks_late), and the sweep runs before the claim is stale
    assert message_send(message_id=message.pk) is None
    assert outbox_sweep().recovered == 0

    # when the sweep runs once the claim is stale
    result = outbox_sweep(now=timezone.now() + dt.timedelta(seconds=301))

    # then the provider was asked, and the message is sent, not sent again
    message.refresh_from_db()
    assert result.recovered == 1
    assert message.status == S.SENT and message.provider_id == provider.accepted[message.pk]
    assert message.last_error == NOTE_RECOVERED
    assert provider.calls == [message.pk] and len(provider.accepted) == 1


def test_a_worker_lost_before_the_provider_had_it_sends_it_again(db, provider, settings):
    # given a worker killed after its claim, before the provider had the message
    settings.SMS_TRANSPORT = "tests.test_outbox.LookupSms"
    message = sms()
    _lose_the_worker(message.pk, _killed_before_the_provider)

    # when the sweep finds the stale claim
    outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))

    # then it is pending again, handed over and sent: once at the provider
    message.refresh_from_db()
    assert message.status == S.SENT and message.attempts == 2
    assert list(provider.accepted) == [message.pk]


def test_a_lost_worker_leaves_the_message_in_doubt_when_the_provider_cannot_tell(db, provider, settings):
    # given a transport with no way to ask the provider
    message = sms()
    _lose_the_worker(message.pk, _killed_after_the_provider_accepted)

    # when
    outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))

    # then at most once: failed, for staff to resend if they think it right
    message.refresh_from_db()
    assert message.status == S.FAILED and message.last_error == ERROR_IN_DOUBT
    assert len(provider.calls) == 1


def test_an_error_in_doubt_is_settled_by_the_sweep_not_retried_blindly(db, provider, settings):
    # given a provider that accepted the message but whose answer never came (a read timeout)
    settings.SMS_TRANSPORT = "tests.test_outbox.LookupSms"
    message = sms()
    timeout = TransportError("Twilio unreachable: read timed out")
    timeout.in_doubt = True

    def accepted_then_timed_out(m):
        accept(m)
        raise timeout

    provider.script = [accepted_then_timed_out]

    # when
    message_send(message_id=message.pk)

    # then the claim stays until the sweep asks the provider
    message.refresh_from_db()
    assert message.status == S.QUEUED and "read timed out" in message.last_error
    outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))
    message.refresh_from_db()
    assert message.status == S.SENT and message.provider_id == provider.accepted[message.pk]
    assert len(provider.calls) == 1


def test_a_claim_in_progress_is_left_alone(db, provider, settings):
    settings.SMS_TRANSPORT = "tests.test_outbox.LookupSms"
    message = sms()
    _lose_the_worker(message.pk, _killed_before_the_provider)

    result = outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS - 5))

    assert result.recovered == 0
    assert Message.objects.get(pk=message.pk).status == S.QUEUED


# The broker is down


@pytest.fixture
def broker_down(monkeypatch):
    """A broker URL nothing listens on, as when Redis is down."""
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


def test_registration_succeeds_and_its_message_waits_when_the_broker_is_down(
    db, venue, provider, broker_down, django_capture_on_commit_callbacks, monkeypatch
):
    # given a web process whose courier hands over only when told to
    courier = Courier(services._hand_over_held, linger=3600)
    monkeypatch.setattr(services, "courier", courier)
    publishes = []
    for task in (message_send_task, message_send_many_task):
        real_apply_async = task.apply_async

        def counting_apply_async(*args, _real=real_apply_async, _name=task.name, **kwargs):
            publishes.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(task, "apply_async", counting_apply_async)
    occurrence = make_occurrence(venue=venue)

    # when two people register while the broker is down
    for phone in ("0912000111", "0912000222"):
        with django_capture_on_commit_callbacks(execute=True):
            outcome = register(occurrence, phone=phone)
        assert outcome.created

    # then both are registered and neither request touched the broker
    messages = Message.objects.filter(kind=K.CONFIRMATION)
    assert messages.count() == 2
    assert publishes == [] and courier.held == 2

    # when the courier hands them over: one try for both, which fails; they wait as pending
    assert courier.flush() == 2
    assert publishes == [message_send_many_task.name]
    assert set(messages.values_list("status", flat=True)) == {S.PENDING}
    assert provider.calls == []

    # when a third registers, the process does not try the dead broker again for a while
    with django_capture_on_commit_callbacks(execute=True):
        register(occurrence, phone="0912000333")
    courier.flush()
    assert publishes == [message_send_many_task.name]

    # when the broker is back (here: tasks run in-process) and the sweep runs
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    for message in messages:
        age(message, 600)
    outbox_sweep()

    # then they are sent
    assert set(Message.objects.filter(kind=K.CONFIRMATION).values_list("status", flat=True)) == {S.SENT}


# The provider's rate


def test_the_rate_limit_counts_per_second(db, settings):
    settings.SMS_RATE_PER_SECOND = 3
    second = 7_000_000 + time.time_ns() % 1_000_000  # a window no other test uses
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.conf, "task_always_eager", False)
        waits = [sms_rate_wait(at=second + 0.25) for _ in range(7)]
        next_second = sms_rate_wait(at=second + 1.1)

    assert waits[:3] == [0, 0, 0]
    # over the limit: at least until the next second, later the further over
    assert all(0.75 <= w < 1.75 for w in waits[3:6])
    assert 1.75 <= waits[6] < 2.75
    assert next_second == 0


def test_a_message_over_the_rate_limit_is_deferred_not_dropped(db, provider, handed_over, monkeypatch, settings):
    # given a limit of 2 per second, and 3 messages in the same second
    settings.SMS_RATE_PER_SECOND = 2
    frozen = 8_000_000 + time.time_ns() % 1_000_000 + 0.5
    monkeypatch.setattr(services, "time", types.SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic))
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    messages = [sms(recipient=f"+8491200000{n}") for n in range(3)]

    # when
    now = timezone.now()
    results = [message_send(message_id=m.pk, now=now) for m in messages]

    # then two went, the third waits for the next second and is queued for then
    assert [r is not None for r in results] == [True, True, False]
    third = Message.objects.get(pk=messages[2].pk)
    assert third.status == S.PENDING and third.attempts == 0
    assert now + dt.timedelta(seconds=0.5) <= third.send_after <= now + dt.timedelta(seconds=1.5)
    [(name, args, countdown)] = handed_over
    assert args == (third.pk,) and 0.4 < countdown <= 1.5

    # when it comes back in the next second
    monkeypatch.setattr(services, "time", types.SimpleNamespace(time=lambda: frozen + 1, monotonic=time.monotonic))
    assert message_send(message_id=third.pk, now=third.send_after).status == S.SENT


# The venue's monthly cap


@pytest.fixture
def capped_venue(venue):
    SmsPolicy.objects.create(venue=venue, monthly_cap=3)
    return venue


def test_staff_messages_and_reminders_stop_at_the_monthly_cap(db, provider, capped_venue):
    # given a cap of 3 segments, one used by a confirmation
    send = lambda kind, n: message_send(message_id=sms(kind, recipient=f"+849120000{n:02d}", venue=capped_venue).pk)  # noqa: E731
    assert send(K.CONFIRMATION, 1).status == S.SENT

    # when staff send three one-segment messages
    results = [send(K.STAFF, n) for n in (2, 3, 4)]

    # then the third is over the cap
    assert [r.status for r in results] == [S.SENT, S.SENT, S.FAILED]
    assert results[2].last_error == ERROR_MONTHLY_CAP
    assert len(provider.calls) == 3

    # and a confirmation still goes
    assert send(K.CONFIRMATION, 5).status == S.SENT


def test_the_cap_counts_this_month_and_not_failed_messages(db, provider, capped_venue):
    # given 3 segments used last month and 2 failed this month
    old = sms(K.STAFF, venue=capped_venue)
    message_send(message_id=old.pk)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    for n in range(2):
        failed = sms(K.STAFF, recipient=f"+8491299999{n}", venue=capped_venue)
        Message.objects.filter(pk=failed.pk).update(status=S.FAILED)

    # when
    results = [message_send(message_id=sms(K.STAFF, recipient=f"+849120000{n}", venue=capped_venue).pk) for n in range(4)]

    # then this month's cap is whole
    assert [r.status for r in results] == [S.SENT, S.SENT, S.SENT, S.FAILED]


def test_without_a_cap_nothing_stops(db, provider, venue):
    SmsPolicy.objects.create(venue=venue, monthly_cap=None)
    results = [message_send(message_id=sms(K.STAFF, recipient=f"+849120000{n}", venue=venue).pk) for n in range(5)]
    assert {r.status for r in results} == {S.SENT}
