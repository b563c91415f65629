"""SMS through real Celery worker processes, on PostgreSQL and Redis: a
registration reaches (fake) Twilio exactly once, and 500 due reminders arrive
exactly once although the worker is killed (SIGKILL) halfway and restarted."""

import datetime as dt
import json
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
from notifications.transports import Transport
from tests.attendance_helpers import make_occurrence, register
from tests.factories import make_programme
from tests.fake_twilio import FakeTwilio

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "worker-test-auth-token"


_clients: dict[int, redis.Redis] = {}


def _redis() -> redis.Redis:
    # One client per process (a worker forks none: solo pool).
    if os.getpid() not in _clients:
        _clients[os.getpid()] = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _clients[os.getpid()]


class RedisLogSms(Transport):
    """A provider whose record lives in Redis, outside the worker: it survives
    a SIGKILL of the worker, and it can tell whether it accepted a message, as a
    provider's API that lists sent messages can (`find_accepted`). Each call
    appends {"id", "key", "sid", "at"} to the list named by $SMS_LOG_KEY."""

    def notify(self, message) -> str:
        sid = "RL" + uuid.uuid4().hex
        entry = {"id": message.pk, "key": message.dedupe_key, "sid": sid, "at": time.time()}
        accepted = _redis().rpush(os.environ["SMS_LOG_KEY"], json.dumps(entry))
        if accepted == int(os.environ.get("SMS_LOG_STALL_AT", 0)):
            # The worst moment for a SIGKILL: the provider has the message, the
            # database does not know yet. The test kills the worker here.
            time.sleep(600)
        return sid

    def find_accepted(self, message) -> str | None:
        for entry in provider_log(os.environ["SMS_LOG_KEY"]):
            if entry["id"] == message.pk:
                return entry["sid"]
        return None


def provider_log(key: str) -> list[dict]:
    return [json.loads(raw) for raw in _redis().lrange(key, 0, -1)]


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
                    os.killpg(process.pid, signal.SIGKILL)


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
        workers.start(
            SMS_TRANSPORT="notifications.transports.TwilioSms", TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+15005550006", TWILIO_API_BASE_URL=twilio.base_url,
            SMS_STATUS_CALLBACK="false",
        )
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
    # given 500 due reminders, a provider that keeps its own record, and a worker
    # that will be killed at the worst moment: just after the provider accepted
    # the 250th message, before the database recorded it
    total, halfway = 500, 250
    log_key = f"{workers.queue}:provider"
    occurrence = _due_reminders(venue, total)
    env = {"SMS_TRANSPORT": "tests.test_worker_sms.RedisLogSms", "SMS_LOG_KEY": log_key, "SMS_RATE_PER_SECOND": "100"}
    os.environ["SMS_LOG_KEY"] = log_key
    reminders = Message.objects.filter(kind=Message.Kind.REMINDER, occurrence=occurrence)
    started = time.monotonic()
    try:
        first = workers.start(**env, SMS_LOG_STALL_AT=str(halfway))

        # when the dispatcher runs (in chunks of 100) and the worker is killed halfway through sending
        reminders_dispatch_task.apply_async(kwargs={"limit": 100}, queue=workers.queue)
        assert wait_until(lambda: _redis().llen(log_key) >= halfway, 60, interval=0.005), workers.log(first)
        workers.kill(first)
        killed = time.monotonic()
        in_doubt = reminders.get(status=Message.Status.QUEUED)
        assert _redis().llen(log_key) == halfway and in_doubt.provider_id == ""

        # and a new worker starts, with beat running the dispatcher and the sweep
        workers.start(**env)
        restarted = time.monotonic()

        def beat():
            if int(time.monotonic() * 2) % 2 == 0:  # about once a second
                reminders_dispatch_task.apply_async(kwargs={"limit": 100}, queue=workers.queue)
                outbox_sweep_task.apply_async(queue=workers.queue)

        done = wait_until(
            lambda: reminders.filter(status=Message.Status.SENT).count() == total, 90, interval=0.25, every=beat
        )
        finished = time.monotonic()

        # then every reminder reached the provider exactly once
        log = provider_log(log_key)
        per_key: dict[str, int] = {}
        for entry in log:
            per_key[entry["key"]] = per_key.get(entry["key"], 0) + 1
        duplicates = {key: n for key, n in per_key.items() if n > 1}
        expected = {f"reminder:{r}:{occurrence.pk}:2h" for r in occurrence.registrations.values_list("pk", flat=True)}
        lost = expected - set(per_key)
        assert done, f"{reminders.filter(status=Message.Status.SENT).count()} of {total} sent"
        assert duplicates == {} and lost == set()
        assert len(log) == total and reminders.count() == total
        # each message records the provider's id of its one delivery
        sids = {entry["id"]: entry["sid"] for entry in log}
        assert dict(reminders.values_list("pk", "provider_id")) == sids
        # the one in doubt was settled from the provider's record, not sent again
        in_doubt.refresh_from_db()
        assert in_doubt.status == Message.Status.SENT and in_doubt.last_error == NOTE_RECOVERED

        # what happened, for the record (pytest -s)
        accepted_at = {entry["id"]: entry["at"] for entry in log}
        windows = sorted(
            (sent_at.timestamp() - accepted_at[pk]) * 1000
            for pk, sent_at, note in reminders.values_list("pk", "sent_at", "last_error")
            if note != NOTE_RECOVERED
        )
        print(
            f"\n{total} reminders; worker killed {killed - started:.1f} s in, after {halfway} provider calls, "
            f"restarted in {restarted - killed:.1f} s; all sent exactly once {finished - started:.1f} s after the start. "
            f"Settled from the provider's record: {reminders.filter(last_error=NOTE_RECOVERED).count()}; "
            f"claimed again: {reminders.filter(attempts__gt=1).count()}. "
            f"Provider call made → sent_at taken: median {statistics.median(windows):.2f} ms, "
            f"p99 {windows[int(len(windows) * 0.99) - 1]:.2f} ms, max {windows[-1]:.2f} ms."
        )
        assert finished - started < 110
    finally:
        os.environ.pop("SMS_LOG_KEY", None)
        _redis().delete(log_key)
