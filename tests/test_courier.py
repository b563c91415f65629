"""The courier: a web process hands the messages it records to the workers a
batch at a time, from its own thread, never losing or doubling one; workers and
eager mode hand over at once."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from config.celery import app
from notifications import services
from notifications.courier import Courier
from notifications.models import Message
from notifications.services import BULK_PRIORITY, message_create, messages_send
from notifications.tasks import message_send_many_task, message_send_task
from tests.attendance_helpers import make_occurrence, register

ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    """A courier's `send`: every call's ids, and an event per call."""

    def __init__(self, fail_first: bool = False):
        self.calls: list[list[int]] = []
        self.fail_first = fail_first
        self.called = threading.Event()

    def __call__(self, ids):
        self.calls.append(list(ids))
        self.called.set()
        if self.fail_first and len(self.calls) == 1:
            raise ConnectionError("broker down")

    def sent(self) -> list[int]:
        return [i for call in self.calls for i in call]


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_ids_added_together_are_sent_together_by_the_courier_thread():
    # given a courier lingering 0.2 s
    send = Recorder()
    courier = Courier(send, linger=0.2)

    # when three ids are added at once
    for message_id in (1, 2, 3):
        courier.add(message_id)

    # then its thread sends them in one call, in order, without being asked
    assert wait_for(lambda: send.calls)
    assert send.calls == [[1, 2, 3]] and courier.held == 0

    # when another comes later, then it goes on its own
    courier.add(4)
    assert wait_for(lambda: len(send.calls) == 2)
    assert send.calls[1] == [4]


def test_ids_added_from_many_threads_are_each_sent_exactly_once():
    # given a courier, and 8 threads adding 250 ids each while it sends
    send = Recorder()
    courier = Courier(send, linger=0.005)

    def add(start):
        for message_id in range(start, start + 250):
            courier.add(message_id)
            if message_id % 50 == 0:
                time.sleep(0.002)

    threads = [threading.Thread(target=add, args=(k * 1000,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every id is sent once, and in fewer calls than ids
    assert wait_for(lambda: len(send.sent()) >= 2000 and courier.held == 0)
    assert sorted(send.sent()) == sorted(k * 1000 + i for k in range(8) for i in range(250))
    assert len(send.calls) < 2000


def test_a_failed_hand_over_is_logged_and_the_courier_goes_on(caplog):
    # given a courier whose first send fails (the broker is down)
    send = Recorder(fail_first=True)
    courier = Courier(send, linger=0.01)

    # when an id is added, then another after the failure
    courier.add(1)
    assert wait_for(lambda: send.calls)
    courier.add(2)

    # then the failure is logged (the sweep will hand the first over) and the second is sent
    assert wait_for(lambda: len(send.calls) == 2)
    assert send.calls == [[1], [2]]
    assert "the outbox sweep will" in caplog.text


def test_what_the_courier_holds_is_sent_when_the_process_exits():
    # given a process whose courier would wait an hour
    script = (
        "import sys\n"
        "from notifications.courier import Courier\n"
        "courier = Courier(lambda ids: print('sent', ids, flush=True), linger=3600)\n"
        "courier.add(7); courier.add(8)\n"
        "print('held', courier.held, flush=True)\n"
        "sys.exit(0)\n"
    )

    # when it exits normally (as a gunicorn worker does on a restart or a stop)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)

    # then what it held was handed over on the way out
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["held 2", "sent [7, 8]"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_with_nothing_held():
    # given a courier holding an id, in a process about to fork (gunicorn's master with --preload)
    send = Recorder()
    courier = Courier(send, linger=3600)
    courier.add(1)
    read, write = os.pipe()

    # when the process forks
    pid = os.fork()
    if pid == 0:  # the child: report what its courier holds, and whether it can still work
        try:
            held = courier.held
            courier.add(2)
            flushed = courier.flush()
            os.write(write, f"{held} {flushed} {send.calls[-1]}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    answer = os.read(read, 100).decode()
    os.close(read)

    # then the child held nothing of its parent's and sends its own; the parent still holds its id
    assert answer == "0 1 [2]"
    assert courier.held == 1 and send.calls == []


# How services hand a message over


@pytest.fixture
def published(monkeypatch):
    """What services gave the broker: (task name, args, countdown, priority)."""
    queued = []

    def record(task, *args, countdown=None, priority=None, **kwargs):
        queued.append((task.name, args, countdown, priority))
        return True

    monkeypatch.setattr(services, "_enqueue", record)
    return queued


@pytest.fixture
def web_process(monkeypatch):
    """A web process with a broker, and a courier that hands over only when told to."""
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    courier = Courier(services._hand_over_held, linger=3600)
    monkeypatch.setattr(services, "courier", courier)
    return courier


def sms(recipient="+84912345678", **fields) -> Message:
    return message_create(channel=Message.Channel.SMS, recipient=recipient, kind=Message.Kind.CONFIRMATION,
                          body="Đã đăng ký", **fields)


def test_registrations_in_a_web_process_are_handed_over_together(
    db, venue, web_process, published, django_capture_on_commit_callbacks
):
    # given a date
    occurrence = make_occurrence(venue=venue)

    # when three people register, each in their own request
    for phone in ("0912000111", "0912000222", "0912000333"):
        with django_capture_on_commit_callbacks(execute=True):
            register(occurrence, phone=phone)

    # then nothing was published during the requests; the courier holds the three confirmations
    ids = list(Message.objects.filter(kind=Message.Kind.CONFIRMATION).order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 3
    assert published == [] and web_process.held == 3

    # when the courier hands them over: one batch task, at the single messages' priority
    web_process.flush()
    assert published == [(message_send_many_task.name, (ids,), None, None)]


def test_a_lone_message_is_handed_over_as_its_own_task(db, web_process, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = sms()

    web_process.flush()

    assert published == [(message_send_task.name, (message.pk,), None, None)]


def test_a_message_held_for_later_goes_to_the_broker_at_once_with_its_countdown(
    db, web_process, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = sms(send_after=timezone.now() + timezone.timedelta(minutes=5))

    [(name, args, countdown, _priority)] = published
    assert name == message_send_task.name and args == (message.pk,) and 290 < countdown <= 300
    assert web_process.held == 0


def test_a_message_recorded_by_a_worker_task_is_handed_over_at_once(db, web_process, published, monkeypatch):
    # given code running inside a worker's task
    import celery

    monkeypatch.setattr(celery, "current_task", object())

    # when it hands a message over
    services._hand_over(41)

    # then the task is published there and then, not held by a courier
    assert published == [(message_send_task.name, (41,), None, None)] and web_process.held == 0


def test_in_eager_mode_a_message_is_sent_at_once(db, monkeypatch, published):
    monkeypatch.setattr(app.conf, "task_always_eager", True)

    services._hand_over(42)

    assert published == [(message_send_task.name, (42,), None, None)]


def test_a_batch_over_the_rate_limit_hands_reminders_back_behind_the_rest(
    db, venue, published, monkeypatch, settings
):
    # given a batch of a confirmation and a reminder, over the provider's rate
    settings.SMS_TRANSPORT = "tests.test_outbox.ScriptedSms"
    monkeypatch.setattr(services, "sms_rate_wait", lambda **kwargs: 1.0)
    occurrence = make_occurrence(venue=venue)
    registration = register(occurrence, phone="0912000444").registration
    published.clear()
    confirmation = sms(recipient="+84912000555")
    reminder = message_create(
        channel=Message.Channel.SMS, recipient=registration.phone, kind=Message.Kind.REMINDER, body="Nhắc lịch",
        registration=registration, occurrence=occurrence,
    )

    # when the batch runs
    messages_send(message_ids=[confirmation.pk, reminder.pk])

    # then both wait, and are handed over again apart: the confirmation first, the reminder behind
    priorities = {args[0][0]: priority for _name, args, _countdown, priority in published}
    assert priorities == {confirmation.pk: None, reminder.pk: BULK_PRIORITY}
