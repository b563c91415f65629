"""SMS through real Celery worker processes, on PostgreSQL and Redis: a
registration reaches (fake) Twilio exactly once, and 500 due reminders arrive
exactly once although the worker is killed (SIGKILL) halfway and restarted.
Both go through the real twilio client (notifications.transports.TwilioSms)
to tests/fake_twilio.py, which also answers the outbox sweep's look-ups."""

import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from attendance.models import Registration, Ticket, new_ticket_secret, secret_digest
from config.celery import app
from notifications.models import Message
from notifications.services import NOTE_RECOVERED
from notifications.tasks import message_send_task, outbox_sweep_task, reminders_dispatch_task
from tests.attendance_helpers import make_occurrence, register
from tests.factories import make_programme
from tests.fake_twilio import FakeTwilio

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "worker-test-auth-token"
TWILIO_FROM = "+15005550006"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def twilio_env(twilio: FakeTwilio) -> dict:
    """A worker's settings for sending through the real twilio client to `twilio`."""
    return {
        "SMS_TRANSPORT": "notifications.transports.TwilioSms", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": TWILIO_FROM, "TWILIO_API_BASE_URL": twilio.base_url,
        "SMS_STATUS_CALLBACK": "false",
        # Shorter than OUTBOX_STALE_SECONDS (3 s here), as in production.
        "TWILIO_TIMEOUT": "2",
    }


class Workers:
    """Start and kill worker processes consuming one queue private to the test."""

    def __init__(self, queue: str, logs: Path):
        self.queue = queue
        self.logs = logs
        self.processes: list[subprocess.Popen] = []
        db = connection.settings_dict
        self.database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

    def start(self, **env) -> subprocess.Popen:
        n = len(self.processes)
        name = f"{self.queue}-{n}"
        log = open(self.logs / f"{name}.log", "w")  # a file: a full pipe would stall the worker
        environment = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            # Tasks the worker queues (after commit, retries, chunks) stay on this queue.
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            # Its own rate-limit counters, whoever else uses this Redis.
            "CACHE_KEY_PREFIX": self.queue,
            "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00",
            "OUTBOX_STALE_SECONDS": "3",
            "OUTBOX_SWEEP_AGE_SECONDS": "2",
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queue, "--pool=solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING", "-n", f"{name}@%h"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5):
                return process
            if process.poll() is not None:
                raise RuntimeError("Celery worker exited:\n" + self.log(process))
        raise RuntimeError("Celery worker did not start in 60 s:\n" + self.log(process))

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, process: subprocess.Popen) -> str:
        n = self.processes.index(process)
        return (self.logs / f"{self.queue}-{n}.log").read_text()[-5000:]

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
            # The pool's children too, so none keeps a database session open
            # while the test database is dropped.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def workers(transactional_db, monkeypatch, tmp_path):
    queue = f"test-sms-{uuid.uuid4().hex[:8]}"
    # Messages recorded here (after commit) go to the test's queue too.
    monkeypatch.setattr(app.conf, "task_default_queue", queue)
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    pool = Workers(queue, tmp_path)
    yield pool
    pool.stop_all()
    _redis().delete(queue)


def wait_until(condition, timeout: float, interval: float = 0.05, every=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if every:
            every()
        time.sleep(interval)
    return False


def test_a_registration_reaches_twilio_exactly_once(workers, venue):
    with FakeTwilio(auth_token=AUTH_TOKEN) as twilio:
        # given a worker sending through Twilio (the fake one)
        workers.start(**twilio_env(twilio))
        occurrence = make_occurrence(venue=venue)

        # when someone registers
        registration = register(occurrence, phone="0912345678").registration

        # then Twilio gets the confirmation, and the message records its sid
        [received] = twilio.wait_for(1, timeout=30)
        message = Message.objects.get(registration=registration)
        assert wait_until(lambda: Message.objects.get(pk=message.pk).status == Message.Status.SENT, 10)
        message.refresh_from_db()
        assert received["To"] == "+84912345678" and received["Body"] == message.body
        assert message.provider_id == received["sid"] and message.attempts == 1

        # when its task is delivered again and the sweep runs, then another registration follows
        message_send_task.apply_async((message.pk,), queue=workers.queue)
        message_send_task.apply_async((message.pk,), queue=workers.queue)
        outbox_sweep_task.apply_async(queue=workers.queue)
        register(occurrence, phone="0912345679")

        # then the first went out once (the worker handles its queue in order)
        arrived = twilio.wait_for(2, timeout=30)
        time.sleep(0.5)
        assert [m["To"] for m in twilio.messages] == ["+84912345678", "+84912345679"]
        assert arrived[0]["sid"] == Message.objects.get(pk=message.pk).provider_id


def _due_reminders(venue, count: int):
    """`count` confirmed registrations whose 2-hour reminder is due now."""
    start = timezone.localtime(timezone.now() + dt.timedelta(hours=2) - dt.timedelta(minutes=1))
    programme = make_programme(venue=venue, day=start.date(), start_time=start.time(), reminder_hours="2")
    occurrence = programme.occurrences.get()
    day_ago = timezone.now() - dt.timedelta(days=1)
    registrations = Registration.objects.bulk_create(
        Registration(
            occurrence=occurrence, status=Registration.Status.CONFIRMED, full_name=f"Người {n}",
            phone=f"+849130{n:05d}", party_size=1, consent_at=day_ago, consent_version="2025-01",
            confirmed_at=day_ago,
        )
        for n in range(count)
    )
    secrets = [new_ticket_secret() for _ in registrations]
    Ticket.objects.bulk_create(
        Ticket(registration=r, secret=s, digest=secret_digest(s)) for r, s in zip(registrations, secrets)
    )
    return occurrence


def test_500_reminders_arrive_exactly_once_although_the_worker_is_killed_halfway(workers, venue):
    # given 500 due reminders, Twilio (the fake one, through the real client) and
    # a worker that will be killed at the worst moment: Twilio has accepted the
    # 250th message and its answer has not reached the worker yet (the fake
    # holds it), so the database does not know
    total, halfway = 500, 250
    occurrence = _due_reminders(venue, total)
    phones = set(occurrence.registrations.values_list("phone", flat=True))
    reminders = Message.objects.filter(kind=Message.Kind.REMINDER, occurrence=occurrence)
    with FakeTwilio(auth_token=AUTH_TOKEN) as twilio:
        # The held answer must not time out before the kill (an in-doubt error,
        # and the worker would go on); the sweep waits longer than a call can last.
        env = {**twilio_env(twilio), "SMS_RATE_PER_SECOND": "100", "TWILIO_TIMEOUT": "5", "OUTBOX_STALE_SECONDS": "6"}
        held = twilio.hold_answer(halfway)
        started = time.monotonic()
        first = workers.start(**env)

        # when the dispatcher runs (in chunks of 100, sent in batches of 50) and
        # the worker is killed halfway through sending
        reminders_dispatch_task.apply_async(kwargs={"limit": 100}, queue=workers.queue)
        assert held.wait(60), f"{len(twilio.messages)} messages arrived\n" + workers.log(first)
        workers.kill(first)
        twilio.release()  # the answer goes to a dead worker
        killed = time.monotonic()
        [in_doubt] = reminders.filter(status=Message.Status.QUEUED)
        assert in_doubt.provider_id == "" and in_doubt.attempts == 1
        assert len(twilio.messages) == halfway and twilio.messages[-1]["sid"] == twilio.held_sid
        assert twilio.messages[-1]["To"] == in_doubt.recipient
        # the one before it was recorded with its claim, in the same statement
        assert reminders.filter(status=Message.Status.SENT).count() == halfway - 1

        # and a new worker starts, with beat running the dispatcher and the sweep
        workers.start(**env)
        restarted = time.monotonic()

        def beat():
            if int(time.monotonic() * 2) % 2 == 0:  # about once a second
                reminders_dispatch_task.apply_async(kwargs={"limit": 100}, queue=workers.queue)
                outbox_sweep_task.apply_async(queue=workers.queue)

        done = wait_until(
            lambda: reminders.filter(status=Message.Status.SENT).count() == total, 45, interval=0.25, every=beat
        )
        finished = time.monotonic()
        time.sleep(0.5)  # anything sent twice would arrive now
        accepted = twilio.messages
        calls = twilio.requests

    # then every reminder reached Twilio exactly once
    assert done, f"{reminders.filter(status=Message.Status.SENT).count()} of {total} sent"
    per_phone: dict[str, int] = {}
    for message in accepted:
        per_phone[message["To"]] = per_phone.get(message["To"], 0) + 1
    assert {phone: n for phone, n in per_phone.items() if n > 1} == {}
    assert set(per_phone) == phones and len(accepted) == total == reminders.count()
    rows = {m.recipient: m for m in reminders}
    assert all(m["Body"] == rows[m["To"]].body and m["From"] == TWILIO_FROM for m in accepted)
    # and none was claimed twice or handed to Twilio twice (no call failed either)
    posts = [call for call in calls if call["method"] == "POST"]
    assert len(posts) == total and len({call["To"] for call in posts}) == total
    assert set(reminders.values_list("attempts", flat=True)) == {1}
    # each message ended sent with the SID of its one delivery
    assert set(reminders.values_list("status", flat=True)) == {Message.Status.SENT}
    assert {m.recipient: m.provider_id for m in rows.values()} == {m["To"]: m["sid"] for m in accepted}
    # the one in doubt was settled from Twilio's list of messages, not sent again
    in_doubt.refresh_from_db()
    assert in_doubt.status == Message.Status.SENT and in_doubt.last_error == NOTE_RECOVERED
    assert in_doubt.provider_id == accepted[halfway - 1]["sid"]
    assert reminders.filter(last_error=NOTE_RECOVERED).count() == 1
    lookups = [call for call in calls if call["method"] == "GET"]
    assert lookups and {call["To"] for call in lookups} == {in_doubt.recipient}

    # what happened, for the record (pytest -s)
    accepted_at = {m["sid"]: m["created_at"] for m in accepted}
    windows = sorted(
        (sent_at.timestamp() - accepted_at[sid]) * 1000
        for sid, sent_at, note in reminders.values_list("provider_id", "sent_at", "last_error")
        if note != NOTE_RECOVERED
    )
    print(
        f"\n{total} reminders through the twilio client; worker killed {killed - started:.1f} s in, with Twilio's "
        f"answer to message {halfway} held, restarted in {restarted - killed:.1f} s; all sent exactly once "
        f"{finished - started:.1f} s after the start. Settled from Twilio's list: "
        f"{reminders.filter(last_error=NOTE_RECOVERED).count()} ({len(lookups)} list calls). "
        f"Twilio accepted → sent_at taken: median {statistics.median(windows):.2f} ms, "
        f"p99 {windows[int(len(windows) * 0.99) - 1]:.2f} ms, max {windows[-1]:.2f} ms."
    )
    assert finished - started < 55
