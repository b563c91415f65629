"""Reminders benchmark: N SMS reminders due in the same minute, recorded by the
dispatcher and sent by 2 real Celery worker processes to a fake Twilio.

    python -m bench.reminders                  # 50,000 reminders
    python -m bench.reminders --count 5000     # a smaller run
    python -m bench.reminders --db-reuse-max 0 1000   # two runs: Celery's default, then connections reused

What it does, on a temporary PostgreSQL database bench_rem_<pid> (created on
--server, dropped at the end, also on error or Ctrl-C) and a dedicated Redis
database (--redis-db, default 5, flushed before and after; no other Redis
database is touched):

1. migrate; then bulk-create venues, one-off programmes (reminder_hours "24")
   whose dates start 24 h from now minus 30 s, and N confirmed registrations with
   distinct phones and tickets, as registration_create leaves them. ANALYZE.
2. Start FakeTwilio in this process (tests/fake_twilio.py) and 2 Celery worker
   processes (`celery -A config worker --pool=prefork --concurrency=1` each) on
   a private queue, with SMS_TRANSPORT=TwilioSms (the real twilio client) pointed
   at the fake, SMS_RATE_PER_SECOND=0 (no rate limit) and no quiet hours.
3. Dispatch: `task` (default) sends reminders_dispatch_task to the queue, as
   beat does every minute: a worker records a chunk of 500 and queues itself
   again behind the sends it handed over. `inline` runs reminders_dispatch in a
   loop in a separate process (a dispatcher with a CPU of its own), so the time
   to record everything is the dispatcher's own speed.
4. Wait until the fake has received N messages and the database marks N sent
   (or --time-limit passes: the rate so far is reported and the total
   extrapolated, and said so). Then count duplicates (provider messages to a
   number that already had one) and lost reminders (registrations whose number
   the provider never received), and the database's statuses.

The Markdown section is printed, appended to bench/results/latest.md and
returned by main(). If PostgreSQL or Redis is unreachable a line says so and
nothing is measured. Exit status of `python -m bench.reminders`: 0 when every
run finished with no duplicate and nothing lost, 1 otherwise (a run stopped at
the time limit has not shown that nothing is lost), 75 when a server is
unreachable.
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
HEADING = "## SMS reminders due in the same minute (Celery workers → fake Twilio)"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
# Connected to only to run CREATE DATABASE / DROP DATABASE of our own
# bench_rem_<pid>; nothing is read or written in it.
MAINTENANCE_DB = "postgres"
PROTECTED = {"postgres", "test", "test_test", "template0", "template1", "root"}
DB_PREFIX = "bench_rem_"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-reminders-auth-token"
SENDER = "+15005550006"
# What the workers get when --db-reuse-max is 0: config.settings' default (the
# bench removes $CELERY_DB_REUSE_MAX from their environment).
_SETTINGS_REUSE = "config.settings default (1000)"

TITLES = [
    "Câu lạc bộ Đọc sách cuối tuần", "Triển lãm Cổ vật Hưng Yên", "Lớp kỹ năng số cho người cao tuổi",
    "Giờ kể chuyện thiếu nhi", "Nói chuyện chuyên đề: Lịch sử Phố Hiến", "Hội thảo Văn hoá đọc",
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Thị Lan", "Văn Hùng", "Minh Anh", "Thu Hà", "Quốc Bảo", "Ngọc Ánh", "Đức Thắng", "Thanh Hương"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="reminders due (default %(default)s)")
    parser.add_argument("--dates", type=int, default=100,
                        help="dates (occurrences) they belong to, all starting at the same time (default %(default)s)")
    parser.add_argument("--venues", type=int, default=20, help="venues the dates are spread over (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default %(default)s)")
    parser.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork",
                        help="each worker's pool, concurrency 1 (default %(default)s)")
    parser.add_argument("--dispatch", choices=["task", "inline"], default="task",
                        help="task: reminders_dispatch_task on the workers, as beat runs it; inline: "
                             "reminders_dispatch in a loop in a process of its own (default %(default)s)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="reminders recorded per dispatcher run (default: notifications.reminders.CHUNK)")
    parser.add_argument("--db-reuse-max", type=int, nargs="+", default=[0], metavar="N",
                        help="CELERY_DB_REUSE_MAX for the workers; 0 = the settings' own (config.settings: "
                             "1000 unless $CELERY_DB_REUSE_MAX says otherwise), otherwise Celery closes the database "
                             "connection around every task. Several values: one run each (default 0)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="the fake Twilio's delay before each answer, seconds (default 0)")
    parser.add_argument("--time-limit", type=float, default=240.0,
                        help="give up waiting for the sends after this many seconds per run (default %(default)s)")
    parser.add_argument("--server", default=os.getenv("BENCH_REMINDERS_SERVER", DEFAULT_SERVER),
                        help="PostgreSQL server URL without a database name (default %(default)s)")
    parser.add_argument("--redis", default=os.getenv("BENCH_REMINDERS_REDIS", DEFAULT_REDIS),
                        help="Redis server URL without a database number (default %(default)s)")
    parser.add_argument("--redis-db", type=int, default=5,
                        help="Redis database number used and flushed, never 0 (default %(default)s)")
    parser.add_argument("--breakdown", type=int, default=300,
                        help="reminders recorded and sent again in-process, one at a time, to see where the time "
                             "goes (0: skip; default %(default)s)")
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.md",
                        help="Markdown file the section is appended to (default bench/results/latest.md)")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not append it")
    parser.add_argument("--dispatch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count < 1 or args.dates < 1 or args.venues < 1 or args.workers < 1:
        parser.error("--count, --dates, --venues and --workers must be at least 1")
    if args.redis_db == 0:
        parser.error("--redis-db 0 is the shared default database; pick another")
    args.dates = min(args.dates, args.count)
    args.venues = min(args.venues, args.dates)
    return args


# -- servers ------------------------------------------------------------------------------


def _conninfo(server: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_conninfo(server, MAINTENANCE_DB), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def postgres_unreachable(server: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(_conninfo(server, MAINTENANCE_DB), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure to connect: say why, measure nothing
        return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
    return None


def redis_url(args) -> str:
    return f"{args.redis.rstrip('/')}/{args.redis_db}"


def redis_unreachable(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def redis_flush(url: str) -> int:
    """Empty our own Redis database (and only it); returns the keys it held."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
    keys = client.dbsize()
    client.flushdb()
    client.close()
    return keys


def database_create(server: str) -> str:
    name = f"{DB_PREFIX}{os.getpid()}"
    assert name not in PROTECTED
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # a leftover of a killed run with our pid
    _admin(server, f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    return name


def databases_left_over(server: str) -> list[str]:
    """Drop bench_rem_<pid> databases of earlier runs that were killed before
    they could drop them (their process is gone); returns their names."""
    import re

    import psycopg

    with psycopg.connect(_conninfo(server, MAINTENANCE_DB), autocommit=True, connect_timeout=5) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_rem\\_%'")]
    dropped = []
    for name in names:
        match = re.fullmatch(rf"{DB_PREFIX}(\d+)", name)
        if match and int(match[1]) != os.getpid() and not Path(f"/proc/{match[1]}").exists():
            database_drop(server, name)
            dropped.append(name)
    return dropped


def database_drop(server: str, name: str) -> None:
    assert name.startswith(DB_PREFIX) and name not in PROTECTED
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(args, database_url: str, queue: str, workdir: str) -> None:
    """The environment config.settings reads, for this process, the dispatcher
    child and the workers (which add their own on top)."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "STATIC_ROOT": os.path.join(workdir, "static"),
        "REDIS_URL": redis_url(args),
        "CELERY_BROKER_URL": redis_url(args),
        # Tasks queued by anyone in the bench (after commit, chunks) stay on this queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CACHE_KEY_PREFIX": queue,
        "SMS_TRANSPORT": "notifications.transports.TwilioSms",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "SMS_STATUS_CALLBACK": "false",
        "SMS_RATE_PER_SECOND": "0",
        # Reminders are due "now" whatever the hour the bench runs at: no quiet hours.
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    })
    for name in ("TESTING", "CELERY_DB_REUSE_MAX", "BENCH_CELERY_DB_REUSE_MAX", "OUTBOX_SWEEP_AGE_SECONDS"):
        os.environ.pop(name, None)
    os.makedirs(os.environ["STATIC_ROOT"], exist_ok=True)


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- CPU ----------------------------------------------------------------------------------


def _processes() -> dict[int, tuple[str, int, int, int]]:
    """pid → (comm, ppid, own ticks, reaped children's ticks)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        try:
            comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="replace")
            rest = stat[stat.rindex(b")") + 2:].split()
            table[int(entry.name)] = (comm, int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]))
        except (ValueError, IndexError):
            continue
    return table


def _machine_ticks() -> int:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


class CpuMeter:
    """CPU used between start() and stop(), in cores, by group: the workers
    (parents and pool children), PostgreSQL (the whole server: backends that
    ended are counted through the postmaster's reaped-children time), Redis, this
    process (the fake Twilio; the dispatch loop in task mode runs on the
    workers), the inline dispatcher child, and everything else on the machine."""

    GROUPS = ("workers", "postgres", "redis", "fake", "dispatcher", "other")

    def __init__(self, worker_pids: list[int]):
        self.worker_pids = set(worker_pids)
        self.tick = os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        self.t0, self.machine0, self.procs0 = time.perf_counter(), _machine_ticks(), _processes()

    def _group(self, pid: int, comm: str, ppid: int) -> str | None:
        me = os.getpid()
        if pid == me:
            return "fake"
        if pid in self.worker_pids or ppid in self.worker_pids:
            return "workers"
        if ppid == me:
            return "dispatcher"
        if comm == "postgres":
            return "postgres"
        if comm.startswith("redis-server"):
            return "redis"
        return None

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        machine = _machine_ticks() - self.machine0
        procs1 = _processes()
        ticks = dict.fromkeys(self.GROUPS, 0)
        for pid, (comm, ppid, own, reaped) in procs1.items():
            group = self._group(pid, comm, ppid)
            before = self.procs0.get(pid)
            own0, reaped0 = (before[2], before[3]) if before and before[0] == comm else (0, 0)
            if group:
                ticks[group] += own - own0
            # Children that ended in between are in their parent's reaped time; counted
            # there in full, so what they had used before start() is taken off below.
            if pid == os.getpid():
                ticks["dispatcher"] += reaped - reaped0
            elif group in ("workers", "postgres"):
                ticks[group] += reaped - reaped0
        for pid, (comm, ppid, own, _reaped) in self.procs0.items():
            if pid not in procs1:
                group = self._group(pid, comm, ppid)
                if group in ("workers", "postgres"):
                    ticks[group] -= own
        counted = sum(ticks.values())
        ticks["other"] = max(machine - counted, 0)
        scale = self.tick * elapsed if elapsed > 0 else 1
        return {group: max(value, 0) / scale for group, value in ticks.items()}


# -- fake Twilio --------------------------------------------------------------------------


def fake_start(latency: float):
    """The fake Twilio, used as it is (tests/fake_twilio.py); when each message
    arrived is read from its records ("created_at") or, failing that, from the
    database's sent_at."""
    from tests.fake_twilio import FakeTwilio

    return FakeTwilio(auth_token=AUTH_TOKEN, latency=latency).start()


def arrival_times(messages: list[dict]) -> list[float]:
    stamps = [m.get("created_at") for m in messages]
    return sorted(stamps) if stamps and all(isinstance(x, (int, float)) for x in stamps) else []


# -- data ---------------------------------------------------------------------------------


@dataclass
class Data:
    start: dt.datetime
    occurrences: list[int]
    phones: set[str]
    languages: Counter
    seconds: float


def data_create(args) -> Data:
    from django.db import connection, transaction
    from django.utils import timezone

    from attendance.models import Registration, Ticket, new_ticket_secret, secret_digest
    from attendance.services import CONSENT_VERSION
    from events.models import Occurrence, Programme
    from events.services import programme_create
    from venues.models import AdminUnit, Venue

    started = time.perf_counter()
    now = timezone.now()
    # 24 h from now, 30 s ago: every 24-hour reminder is due in the current minute.
    start = now + dt.timedelta(hours=24) - dt.timedelta(seconds=30)
    registered = now - dt.timedelta(days=3)
    per_date = [args.count // args.dates + (1 if i < args.count % args.dates else 0) for i in range(args.dates)]
    with transaction.atomic():
        province = AdminUnit.objects.create(code="BENCH-R-P", name="Tỉnh Hưng Yên", level=AdminUnit.Level.PROVINCE)
        commune = AdminUnit.objects.create(
            code="BENCH-R-C", name="Phường Phố Hiến", level=AdminUnit.Level.COMMUNE, parent=province
        )
        venues = [
            Venue.objects.create(
                name=f"{'Thư viện' if i % 2 == 0 else 'Bảo tàng'} bench {i + 1}", slug=f"bench-rem-{i + 1}",
                kind=Venue.Kind.LIBRARY if i % 2 == 0 else Venue.Kind.MUSEUM, tier=Venue.Tier.PROVINCIAL,
                admin_unit=commune, address=f"{i + 1} Đường Bạch Đằng",
            )
            for i in range(args.venues)
        ]
        occurrences = []
        for i, seats in enumerate(per_date):
            programme = programme_create(
                venue=venues[i % len(venues)], title=TITLES[i % len(TITLES)], start=start,
                end=start + dt.timedelta(hours=2), category="reading", status=Programme.Status.PUBLISHED,
                capacity=seats * 2, reminder_hours="24",
            )
            occurrences.append(programme.occurrences.get())

        phones: set[str] = set()
        languages: Counter = Counter()
        n = 0
        for occurrence, seats in zip(occurrences, per_date):
            batch = []
            for _ in range(seats):
                phone = f"+8491{n:07d}"
                language = "en" if n % 10 == 9 else "vi"
                batch.append(Registration(
                    occurrence=occurrence, status=Registration.Status.CONFIRMED,
                    full_name=f"{SURNAMES[n % len(SURNAMES)]} {GIVEN[n % len(GIVEN)]}", phone=phone,
                    party_size=1 + (n % 4 == 0), language=language, sms_opt_in=True,
                    consent_at=registered, consent_version=CONSENT_VERSION, confirmed_at=registered,
                ))
                phones.add(phone)
                languages[language] += 1
                n += 1
            registrations = Registration.objects.bulk_create(batch, batch_size=2000)
            secrets = [new_ticket_secret() for _ in registrations]
            Ticket.objects.bulk_create(
                [Ticket(registration=r, secret=s, digest=secret_digest(s)) for r, s in zip(registrations, secrets)],
                batch_size=2000,
            )
            Occurrence.objects.filter(pk=occurrence.pk).update(seats_taken=sum(r.party_size for r in registrations))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the statistics autovacuum would have by the time a reminder is due
    return Data(start=start, occurrences=[o.pk for o in occurrences], phones=phones, languages=languages,
                seconds=time.perf_counter() - started)


# -- workers ------------------------------------------------------------------------------


# Runs the worker command after asking Linux to SIGTERM it when the bench process
# dies, however it dies, so that no worker outlives a killed bench (the setting
# survives exec; preexec_fn would do the same but is unsafe with the fake's thread).
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() == int(sys.argv[1]):\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
)


class Workers:
    def __init__(self, args, queue: str, workdir: str, reuse_max: int):
        self.args = args
        self.queue = queue
        self.workdir = workdir
        self.reuse_max = reuse_max
        self.processes: list[subprocess.Popen] = []
        self.names: list[str] = []
        binary = Path(sys.executable).parent / "celery"
        self.celery = [str(binary)] if binary.exists() else [sys.executable, "-m", "celery"]
        self.wrapper = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid())]

    def command(self, name: str) -> list[str]:
        return self.celery + [
            "-A", "config", "worker", f"--pool={self.args.pool}", "--concurrency=1", "-Q", self.queue,
            "-n", f"{name}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING",
        ]

    def environment(self) -> dict:
        env = dict(os.environ)
        if self.reuse_max:
            env["DJANGO_SETTINGS_MODULE"] = "bench.settings_reminders"
            env["BENCH_CELERY_DB_REUSE_MAX"] = str(self.reuse_max)
        return env

    def start(self) -> None:
        from config.celery import app

        for i in range(self.args.workers):
            name = f"{self.queue}-{i}"
            log = open(os.path.join(self.workdir, f"{name}.log"), "wb")
            process = subprocess.Popen(
                self.wrapper + self.command(name), cwd=ROOT, env=self.environment(), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
            log.close()
            self.processes.append(process)
            self.names.append(name)
        deadline = time.monotonic() + 60
        waiting = {f"{name}@{os.uname().nodename}": p for name, p in zip(self.names, self.processes)}
        while waiting and time.monotonic() < deadline:
            for destination, process in list(waiting.items()):
                if process.poll() is not None:
                    raise RuntimeError(f"Celery worker exited ({process.returncode}):\n{self.log_tail(process)}")
                if app.control.ping(destination=[destination], timeout=0.5):
                    del waiting[destination]
        if waiting:
            raise RuntimeError(f"Celery workers did not start in 60 s: {sorted(waiting)}")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def log_tail(self, process, lines: int = 40) -> str:
        name = self.names[self.processes.index(process)]
        try:
            text = Path(self.workdir, f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def errors(self) -> tuple[int, str]:
        """(error lines in the worker logs, the first one with what follows)."""
        count, first = 0, ""
        for name in self.names:
            try:
                lines = Path(self.workdir, f"{name}.log").read_text(errors="replace").splitlines()
            except OSError:
                continue
            marks = [i for i, line in enumerate(lines) if "ERROR" in line or "CRITICAL" in line or "Traceback" in line]
            count += len(marks)
            if marks and not first:
                first = "\n".join(lines[marks[0]:marks[0] + 25])
        return count, first

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of each worker's own process group."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)  # its session: the worker and its pool child
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
            else:
                try:  # a pool child left behind by a parent that exited
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# -- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    reuse_max: int
    t0: float = 0.0  # time.time() when dispatching began
    enqueue_s: float | None = None  # until the last reminder was recorded (and handed over)
    recorded: int = 0
    dispatch_runs: int | None = None
    first_s: float | None = None
    last_s: float | None = None
    db_sent_s: float | None = None
    arrived: int = 0
    finished: bool = False
    duplicates: int = 0
    lost: int | None = None
    missing_now: int = 0
    statuses: dict = field(default_factory=dict)
    retried: int = 0
    sid_mismatch: int = 0
    queue_left: int = 0
    cpu: dict = field(default_factory=dict)
    worker_errors: int = 0
    first_error: str = ""
    load_before: str = ""
    load_after: str = ""
    note: str = ""
    clock: str = ""
    elapsed_at_stop: float = 0.0
    recorded_at_stop: int = 0

    def rate_end_to_end(self) -> float | None:
        if self.last_s:
            return self.arrived / self.last_s
        return None

    def cores_ours(self) -> float:
        return sum(v for k, v in self.cpu.items() if k != "other")

    def per_core_second(self) -> float | None:
        """SMS sent per CPU-second the bench itself used (workers, PostgreSQL,
        Redis, fake, dispatcher): steadier than SMS/s on a shared machine."""
        rate = self.rate_end_to_end()
        cores = self.cores_ours()
        return rate / cores if rate and cores else None

    def rate_steady(self) -> float | None:
        if self.first_s is not None and self.last_s and self.last_s > self.first_s and self.arrived > 1:
            return (self.arrived - 1) / (self.last_s - self.first_s)
        return None


def dispatch_child(args) -> int:
    """The inline dispatcher: reminders_dispatch in a loop until nothing is left,
    in its own process; prints {"t0", "t1", "created", "runs"} as JSON."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from notifications.reminders import CHUNK, reminders_dispatch

    limit = args.chunk or CHUNK
    t0 = time.time()
    created = runs = 0
    while True:
        result = reminders_dispatch(limit=limit)
        created += result.created
        runs += 1
        if not result.more:
            break
    print(json.dumps({"t0": t0, "t1": time.time(), "created": created, "runs": runs}), flush=True)
    return 0


def run_once(args, data: Data, fake, queue: str, workdir: str, reuse_max: int, log) -> Run:
    import redis as redis_lib
    from django.db.models import Count, Max, Min

    from notifications.models import Message
    from notifications.reminders import CHUNK
    from notifications.tasks import reminders_dispatch_task

    run = Run(reuse_max=reuse_max)
    reminders = Message.objects.filter(kind=Message.Kind.REMINDER)
    expected = args.count
    workers = Workers(args, queue, workdir, reuse_max)
    broker = redis_lib.Redis.from_url(redis_url(args))
    child = None
    try:
        t = time.perf_counter()
        workers.start()
        log(f"  {args.workers} workers ({args.pool}, CELERY_DB_REUSE_MAX {reuse_max or _SETTINGS_REUSE}) up in "
            f"{time.perf_counter() - t:.1f} s; dispatching ({args.dispatch})")
        meter = CpuMeter(workers.pids)
        run.load_before = load_average()
        meter.start()
        if args.dispatch == "task":
            run.t0 = time.time()
            limit = args.chunk or None
            reminders_dispatch_task.apply_async(kwargs={"limit": limit} if limit else {}, queue=queue)
        else:
            run.t0 = time.time()
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.reminders", "--dispatch-child", "--chunk", str(args.chunk or CHUNK)],
                cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        deadline = time.monotonic() + args.time_limit
        next_report = time.monotonic() + 5
        while time.monotonic() < deadline:
            arrived = len(fake.messages)
            if child is not None and child.poll() is not None and run.enqueue_s is None:
                out, err = child.communicate()
                if child.returncode != 0:
                    raise RuntimeError(f"The dispatcher process failed ({child.returncode}):\n{err[-3000:]}")
                report = json.loads(out.strip().splitlines()[-1])
                run.t0, run.enqueue_s, run.dispatch_runs = report["t0"], report["t1"] - report["t0"], report["runs"]
                log(f"    dispatcher done: {report['created']} recorded in {run.enqueue_s:.1f} s "
                    f"({report['runs']} runs of reminders_dispatch)")
            if arrived >= expected:
                sent = reminders.filter(status=Message.Status.SENT).count()
                if sent >= expected:
                    run.db_sent_s = time.time() - run.t0
                    run.finished = True
                    break
            if time.monotonic() >= next_report:
                elapsed = time.time() - run.t0
                recorded = reminders.count()
                log(f"    {elapsed:5.0f} s: {recorded} recorded, {arrived} at the fake ({arrived / elapsed:.0f}/s)")
                next_report += 5
            time.sleep(0.2)
        run.cpu = meter.stop()
        run.load_after = load_average()
        run.arrived = len(fake.messages)
        run.elapsed_at_stop = time.time() - run.t0
        run.recorded_at_stop = reminders.count()
        if not run.finished:
            elapsed = time.time() - run.t0
            run.note = f"stopped at the time limit ({args.time_limit:.0f} s) after {elapsed:.0f} s"
            log(f"  {run.note}: {run.arrived} of {expected} at the fake")
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        workers.stop()
    run.worker_errors, run.first_error = workers.errors()

    # What happened, now that nothing is moving any more.
    time.sleep(0.5)
    messages = fake.messages
    run.arrived = len(messages)
    stamps = arrival_times(messages)
    if stamps:
        run.clock = "the fake's own record of each message"
    else:
        sent = reminders.exclude(sent_at=None).aggregate(first=Min("sent_at"), last=Max("sent_at"))
        stamps = [sent["first"].timestamp(), sent["last"].timestamp()] if sent["first"] else []
        run.clock = "the database's sent_at (the worker notes it right after the provider answered)"
    if stamps:
        run.first_s, run.last_s = stamps[0] - run.t0, stamps[-1] - run.t0
    per_number = Counter(m["To"] for m in messages)
    run.duplicates = sum(n - 1 for n in per_number.values() if n > 1)
    distinct_pairs = len({(m["To"], m["Body"]) for m in messages})
    run.duplicates = max(run.duplicates, len(messages) - distinct_pairs)
    run.missing_now = len(data.phones - set(per_number))
    run.lost = run.missing_now if run.finished else None
    run.statuses = dict(reminders.values_list("status").annotate(n=Count("pk")).order_by())
    run.recorded = sum(run.statuses.values())
    run.retried = reminders.filter(attempts__gt=1).count()
    sids = {m["sid"] for m in messages}
    db_sids = set(reminders.exclude(provider_id="").values_list("provider_id", flat=True))
    run.sid_mismatch = len(sids ^ db_sids)
    last_created = reminders.aggregate(last=Max("created_at"))["last"]
    if run.enqueue_s is None and last_created is not None and run.recorded >= expected:
        run.enqueue_s = last_created.timestamp() - run.t0
    if run.dispatch_runs is None and args.dispatch == "task":
        run.dispatch_runs = -(-run.recorded // (args.chunk or CHUNK)) if run.recorded else 0
    # The queue and its priority lists (kombu's Redis transport: "<queue>\x06\x16<priority>").
    run.queue_left = sum(broker.llen(queue + (f"\x06\x16{p}" if p else "")) for p in (0, 3, 6, 9))
    broker.close()
    return run


# -- breakdown ----------------------------------------------------------------------------


class _Statements:
    """Counts and times SQL statements (connection.execute_wrapper), by kind."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.kinds: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t
            self.count += 1
            self.kinds[_kind(sql)] += 1


def _kind(sql: str) -> str:
    import re

    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"([^"]+)"', sql)
    return f"{verb} {table[1] if table else ''}".strip()


def breakdown(args, log) -> str:
    """In this process, one at a time, no Celery: what recording and sending
    one reminder cost, and what opening a database connection costs (Celery
    does it for every task unless CELERY_DB_REUSE_MAX is set)."""
    from django.conf import settings
    from django.db import connection

    from notifications.models import Message
    from notifications.reminders import reminders_dispatch
    from notifications.services import SEND_BATCH, message_send, messages_send

    assert settings.TWILIO_API_BASE_URL.startswith("http://127.0.0.1:"), "the fake Twilio, never the real one"
    k = min(args.breakdown, args.count - 1)
    reminders = Message.objects.filter(kind=Message.Kind.REMINDER)
    # The first k + 1 reminders are forgotten and recorded again (the dispatcher
    # works by state); the first, untimed, warms up what a running worker has
    # warm already (URLconf for the opt-out link, broker connection, twilio client).
    Message.objects.filter(pk__in=list(reminders.order_by("pk").values_list("pk", flat=True)[:k + 1])).delete()
    reminders_dispatch(limit=1)
    warm = reminders.order_by("-pk").values_list("pk", flat=True).first()
    message_send(message_id=warm)
    before = warm
    record = _Statements()
    with connection.execute_wrapper(record):
        t = time.perf_counter()
        created = 0
        while created < k:
            result = reminders_dispatch(limit=k - created)
            created += result.created
            if not result.created:
                break
        record_s = time.perf_counter() - t
    ids = list(reminders.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))
    send = _Statements()
    with connection.execute_wrapper(send):
        t = time.perf_counter()
        sent = 0
        for start in range(0, len(ids), SEND_BATCH):  # as the workers get them: message_send_many_task
            sent += messages_send(message_ids=ids[start:start + SEND_BATCH])["sent"]
        send_s = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(20):
        connection.close()
        connection.ensure_connection()
    connect_ms = (time.perf_counter() - t) * 1000 / 20
    log(f"  breakdown: record {record_s * 1000 / max(created, 1):.1f} ms, send {send_s * 1000 / max(len(ids), 1):.1f} "
        f"ms, connect {connect_ms:.1f} ms")

    def describe(stats: _Statements, n: int) -> str:
        return ", ".join(f"{kind} {count / n:.2g}" for kind, count in stats.kinds.most_common())

    n, m = max(created, 1), max(len(ids), 1)
    return "\n".join([
        "### Where the time goes (in the bench process, one at a time, no Celery)",
        "",
        f"Load average {load_average()} while measuring: on a busy machine every figure is inflated alike.",
        "",
        f"- recording a reminder (`reminders_dispatch`, {created} again after deleting their rows, after one "
        "untimed to warm up): "
        f"**{record_s * 1000 / n:.1f} ms** each, {record.count / n:.1f} SQL statements "
        f"({record.seconds * 1000 / n:.1f} ms of it waiting on them): {describe(record, n)}; the chunk's recipient "
        "query, the template, the text (opt-out token, GSM-7/UCS-2 segments) and handing each batch to Redis on "
        "commit make the rest",
        f"- sending one (`messages_send` in batches of {SEND_BATCH}, as `message_send_many_task` does → TwilioSms → "
        f"fake, {len(ids)} messages, {sent} sent): "
        f"**{send_s * 1000 / m:.1f} ms** each, {send.count / m:.1f} SQL statements "
        f"({send.seconds * 1000 / m:.1f} ms of it): {describe(send, m)}; the rest is the twilio client's HTTP "
        "call to the fake and Python",
        f"- opening a database connection (Django's connect and session setup): **{connect_ms:.1f} ms**; Celery "
        "closes the connection before and after every task unless CELERY_DB_REUSE_MAX is set, so each task opens "
        "one",
        "",
    ])


# -- report -------------------------------------------------------------------------------


def fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def report(args, data: Data, runs: list[Run], info: dict, breakdown: str = "") -> str:
    import celery
    import django
    import kombu
    import twilio

    from notifications.reminders import CHUNK, DISPATCH_SECONDS
    from notifications.services import SEND_BATCH

    chunk = args.chunk or CHUNK
    pool = f"`celery -A config worker --pool={args.pool} --concurrency=1 -Q <private queue> " \
           "--without-heartbeat --without-gossip --without-mingle -l WARNING`"
    dispatch = (
        f"`reminders_dispatch_task` sent once to the queue, as beat does: a worker records chunks of up to {chunk} "
        "reminders (one multi-row INSERT … ON CONFLICT DO NOTHING and one transaction per date, handed to the "
        f"broker on commit as `message_send_many_task`s of {SEND_BATCH} ids) for up to {DISPATCH_SECONDS} s, then "
        "queues the next run behind the sends it handed over; beat itself is not running"
        if args.dispatch == "task" else
        f"`reminders_dispatch(limit={chunk})` in a loop in a separate process (a dispatcher with its own CPU "
        f"share), each chunk one transaction handed over on commit ({SEND_BATCH} ids per send task); the workers "
        "send meanwhile"
    )
    en = data.languages.get("en", 0)
    lines = [
        HEADING,
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPU cores shared by workers, PostgreSQL, "
        "Redis and the fake Twilio",
        f"- stack: PostgreSQL {info['pg_version']} (temporary database {info['dbname']}, dropped afterwards), Redis "
        f"{info['redis_version']} database {args.redis_db} (flushed before and after), Python "
        f"{platform.python_version()}, Django {django.get_version()}, Celery {celery.__version__}, kombu "
        f"{kombu.__version__}, twilio {twilio.__version__}",
        f"- data: {args.count:,} confirmed registrations (tickets, distinct phones, {en:,} in English) on "
        f"{args.dates} dates at {args.venues} venues, all starting at "
        f"{data.start.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime('%H:%M:%S')} (+07) tomorrow with "
        f"reminder_hours \"24\": every reminder is due in the same minute; built with bulk_create in "
        f"{data.seconds:.1f} s (migrate {info['migrate']:.1f} s), then ANALYZE",
        f"- workers: {args.workers} × {pool}; settings config.settings (bench.settings_reminders = config.settings "
        "+ CELERY_DB_REUSE_MAX where that is set), DEBUG=0, LOG_LEVEL=WARNING; SMS_TRANSPORT=TwilioSms (the real "
        "twilio client) with TWILIO_API_BASE_URL at the fake; **SMS_RATE_PER_SECOND=0 (no rate limit)**; quiet "
        "hours off (QUIET_HOURS_START = QUIET_HOURS_END = 00:00, so the bench runs at any hour); "
        "SMS_STATUS_CALLBACK=false; no SmsPolicy (no monthly cap)",
        f"- provider: tests.fake_twilio.FakeTwilio in the bench process (ThreadingHTTPServer, keep-alive), "
        f"latency {args.latency * 1000:.0f} ms per answer",
        f"- dispatch: {dispatch}",
        "",
        "| reminders | dispatch | CELERY_DB_REUSE_MAX | enqueue: all recorded | first SMS at | all at the fake "
        "| SMS/s end to end | SMS/s first→last | SMS per CPU-second used | duplicates | lost | Message statuses "
        "| CPU cores: workers / PostgreSQL / Redis / fake / dispatcher / other |",
        "|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(run.statuses.items())) or "none"
        cpu = " / ".join(fmt(run.cpu.get(g), 2) for g in CpuMeter.GROUPS)
        if run.enqueue_s is not None:
            enqueue = f"{fmt(run.enqueue_s)} s ({run.recorded / run.enqueue_s:,.0f}/s)"
        else:
            rate = run.recorded_at_stop / run.elapsed_at_stop if run.elapsed_at_stop else 0
            enqueue = f"not all: {run.recorded_at_stop:,} in {run.elapsed_at_stop:.0f} s ({rate:,.0f}/s)"
            if rate:
                enqueue += f"; *≈ {args.count / rate:,.0f} s for {args.count:,} (extrapolated)*"
        if run.finished:
            arrived = f"{fmt(run.last_s)} s"
        else:
            rate = run.rate_steady() or run.rate_end_to_end()
            arrived = f"not all: {run.arrived:,} in {run.elapsed_at_stop:.0f} s (time limit)"
            if rate:
                arrived += f"; *≈ {(run.first_s or 0) + args.count / rate:,.0f} s for {args.count:,} (extrapolated)*"
        dup = f"**{run.duplicates}**" + (" ✅" if run.duplicates == 0 else " ❌")
        lost = "n/a (not finished)" if run.lost is None else f"**{run.lost}**" + (" ✅" if run.lost == 0 else " ❌")
        lines.append(
            f"| {args.count:,} | {args.dispatch} | {run.reuse_max or _SETTINGS_REUSE} "
            f"| {enqueue} | {fmt(run.first_s)} s | {arrived} | {fmt(run.rate_end_to_end(), 0)} "
            f"| {fmt(run.rate_steady(), 0)} | {fmt(run.per_core_second(), 0)} | {dup} | {lost} | {statuses} | {cpu} |"
        )
    lines += [
        "",
        "Times are from the moment dispatching began. Enqueue: until the last reminder Message row was written "
        "(each chunk is handed to the broker when its transaction commits). SMS/s end to end: reminders received by "
        "the fake ÷ time of the last; first→last: the sending rate once it runs. SMS per CPU-second used: SMS/s end "
        "to end ÷ the cores the bench's own processes used (workers, PostgreSQL, Redis, fake, dispatcher), the "
        "steadier figure on a machine others use too. Duplicates: messages the provider received beyond one per "
        "phone number (each registration has its own number), or repeated (To, Body) pairs. Lost: registrations "
        "whose number the provider never received, once the database says every reminder was sent. CPU: average "
        f"cores used over the run, out of {os.cpu_count()}; PostgreSQL counts the whole server (backends that ended "
        "included), 'fake' is the bench process serving the fake Twilio, 'other' everything else on the machine "
        "(other people's work shows there). Extrapolated figures (in italics) assume the rate measured so far "
        "holds; they are not measurements.",
        "",
    ]
    for run in runs:
        extra = []
        if run.db_sent_s is not None:
            extra.append(f"All marked sent in the database {run.db_sent_s:.1f} s after the start.")
        elif not run.finished:
            extra.append(f"Stopped after {run.elapsed_at_stop:.0f} s (--time-limit {args.time_limit:.0f}); "
                         "the workers were stopped with what they had.")
        extra.append(
            f"Dispatcher runs (chunks): {run.dispatch_runs}; messages claimed more than once: {run.retried}; provider "
            f"ids not matching the database: {run.sid_mismatch}; tasks left in the queue: {run.queue_left:,}; "
            f"load average {run.load_before} before, {run.load_after} after. Arrival times from {run.clock}."
        )
        if run.worker_errors:
            extra.append(f"The worker logs have {run.worker_errors} error lines; the first:\n\n```\n"
                         f"{run.first_error}\n```")
        label = f"CELERY_DB_REUSE_MAX {run.reuse_max or _SETTINGS_REUSE}"
        lines.append(f"- {label}: " + " ".join(extra))
    if breakdown:
        lines += ["", breakdown]
    return "\n".join(lines) + "\n"


def append_section(path: Path, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    existing = existing.rstrip("\n")
    path.write_text((existing + "\n\n" if existing else "") + section.rstrip("\n") + "\n", encoding="utf-8")


# -- main ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    markdown: str
    ok: bool
    skipped: bool = False


def run(argv=None) -> Outcome:
    args = parse_args(argv)
    if args.dispatch_child:
        return Outcome("", dispatch_child(args) == 0)
    log = lambda message: print(message, flush=True)  # noqa: E731

    why = postgres_unreachable(args.server)
    if why:
        message = f"PostgreSQL is unreachable at {args.server} ({why}): the reminders benchmark was not run."
        log(message)
        return Outcome(f"{HEADING}\n\n{message}\n", ok=False, skipped=True)
    why = redis_unreachable(redis_url(args))
    if why:
        message = f"Redis is unreachable at {redis_url(args)} ({why}): the reminders benchmark was not run."
        log(message)
        return Outcome(f"{HEADING}\n\n{message}\n", ok=False, skipped=True)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="bench-rem-")
    dbname = None
    fake = None
    queue = f"bench-rem-{os.getpid()}"
    try:
        flushed = redis_flush(redis_url(args))
        log(f"Reminders bench: Redis {redis_url(args)} flushed ({flushed} keys)")
        for name in databases_left_over(args.server):
            log(f"  dropped {name}, left by an earlier run that was killed")
        dbname = database_create(args.server)
        sys.path.insert(0, str(ROOT))
        fake = fake_start(args.latency)
        configure(args, _conninfo(args.server, dbname), queue, workdir)
        # Read by Django's settings below and inherited by the workers: never the real Twilio.
        os.environ["TWILIO_API_BASE_URL"] = fake.base_url
        log(f"  fake Twilio on {fake.base_url} (latency {args.latency * 1000:.0f} ms)")
        log(f"  database {dbname} on {args.server}; queue {queue}")
        import django

        django.setup()
        import redis as redis_lib
        from django.core.management import call_command
        from django.db import connection

        from notifications.models import Message

        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        info = {"dbname": dbname, "migrate": time.perf_counter() - t}
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["pg_version"] = cursor.fetchone()[0].split()[0]
        client = redis_lib.Redis.from_url(redis_url(args))
        info["redis_version"] = client.info("server").get("redis_version", "?")
        client.close()
        log(f"  migrate: {info['migrate']:.1f} s")

        data = data_create(args)
        log(f"  data: {args.count} registrations on {args.dates} dates at {args.venues} venues: {data.seconds:.1f} s")

        connection.close()

        runs = []
        for reuse_max in args.db_reuse_max:
            if runs:  # the same reminders again: forget the last run's messages
                Message.objects.all().delete()
                connection.close()
                fake.reset()
                redis_flush(redis_url(args))
            runs.append(run_once(args, data, fake, queue, workdir, reuse_max, log))
            last = runs[-1]
            log(f"  → {last.arrived} at the fake, last at {fmt(last.last_s)} s; enqueue {fmt(last.enqueue_s)} s; "
                f"duplicates {last.duplicates}, lost {last.lost if last.lost is not None else 'n/a'}")

        detail = ""
        if args.breakdown:
            try:
                detail = breakdown(args, log)
            except Exception as error:  # the runs above still stand; say why this part is missing
                log(f"  breakdown failed: {type(error).__name__}: {error}")
                detail = f"(The in-process breakdown failed: {type(error).__name__}: {str(error)[:200]}.)"
        section = report(args, data, runs, info, detail)
        print()
        print(section)
        if not args.no_write:
            append_section(args.results, section)
            shown = args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results
            log(f"Appended to {shown}; the reminders bench took {time.perf_counter() - started:.0f} s")
        ok = all(r.duplicates == 0 and r.lost == 0 for r in runs)
        return Outcome(section, ok)
    except KeyboardInterrupt:
        log("Interrupted.")
        return Outcome(f"{HEADING}\n\nInterrupted.\n", ok=False)
    finally:
        if fake is not None:
            fake.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if dbname:
            try:
                database_drop(args.server, dbname)
                log(f"  dropped database {dbname}")
            except Exception as error:
                log(f"  could not drop database {dbname}: {error}")
        try:
            redis_flush(redis_url(args))
        except Exception as error:
            log(f"  could not flush Redis {redis_url(args)}: {error}")
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def main(argv=None) -> str:
    """Run the benchmark; return its Markdown section (also printed and appended
    to bench/results/latest.md unless --no-write)."""
    return run(argv).markdown


if __name__ == "__main__":
    outcome = run()
    sys.exit(0 if outcome.ok else (75 if outcome.skipped else 1))
