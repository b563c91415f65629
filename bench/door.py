"""python -m bench.door — check-in and registration over gunicorn + PostgreSQL.

Creates a temporary database (bench_door_<pid>) on the PostgreSQL server of
BENCH_DOOR_SERVER (default postgres://postgres@127.0.0.1:5432) and uses Redis
database 6 of BENCH_DOOR_REDIS (default redis://127.0.0.1:6379, flushed before
and after) as production does: the cache (door tokens, throttles) and the
Celery broker (messages handed over after commit; no worker reads the bench's
queue). Without Redis it says so and uses local memory. It migrates the database,
builds a venue, a door user with a token, a date with thousands of fresh
tickets and a date with 100 seats, starts gunicorn on a free local port and
times, at 1, 8 and 32 concurrent clients:

- a bare Django endpoint: one SELECT … FOR UPDATE and one INSERT in one
  transaction (bench.urls_door), on the same row every time and on a
  different row each time;
- POST /api/door/scan with Token auth, each scan a fresh valid ticket; at 8
  scanners also re-scans of admitted tickets (already_checked_in), a paced
  run (each scanner one scan every 0.5 s: latency at a door's pace, after
  the bare endpoint at the same pace) and two
  more runs, each right after its own bare run (the aims read the median);
- a burst of 1,000 registrations (distinct phones) for 100 seats through the
  citizen's HTML form, then counts the seats in the database; three times, on
  three dates, each beside its own run of the bare endpoint (the "until sold
  out" window is a fraction of a second, so one burst says little alone).

Clients send back to back (closed loop), so throughput is the server's
capacity. The machine is shared: the CPU used by the bench and by everything
else is measured during each scenario and reported with it. Then, in-process
(Django test client, same database), it times the SQL of each kind of request,
how long its row lock is held, and profiles its stages; prints a Markdown
report and appends it to bench/results/latest.md (replacing an earlier door
section). gunicorn is stopped and the database dropped at the end, also on
error, Ctrl-C or SIGTERM. Exit status 75: PostgreSQL unreachable, nothing
measured.
"""

import argparse
import datetime as dt
import http.cookies
import itertools
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path

from bench import loadgen
from bench.reminders import redis_flush, redis_unreachable
from common.sql import transaction_idle

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
HEADING = "## Door check-in and registration burst (gunicorn + PostgreSQL)"
SKIPPED = 75  # EX_TEMPFAIL: PostgreSQL unreachable, nothing measured
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
# The database connected to only to run CREATE DATABASE / DROP DATABASE of our
# own bench_door_<pid>; nothing is read or written in it.
DEFAULT_MAINTENANCE_DB = "postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
PROTECTED = {"postgres", "test", "test_test", "template0", "template1"}

P99_AIM_MS = 25
CHECKIN_RATIO_AIM = 0.70
REGISTRATION_RATIO_AIM = 0.50
CONCURRENCIES = (1, 8, 32)
SPREAD_ROWS = 64
PROFILED_N = 40  # in-process requests profiled per kind


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.door", description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.getenv("BENCH_DOOR_SERVER", DEFAULT_SERVER),
                        help="PostgreSQL server URL, without a database name (default %(default)s)")
    parser.add_argument("--maintenance-db", default=DEFAULT_MAINTENANCE_DB,
                        help="database to connect to for CREATE/DROP DATABASE (default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker, for gthread (default 1)")
    parser.add_argument("--scans", type=int, nargs=3, default=[300, 1500, 1500], metavar=("AT1", "AT8", "AT32"),
                        help="fresh-ticket scans at 1, 8 and 32 scanners (default 300 1500 1500)")
    parser.add_argument("--bare", type=int, nargs=3, default=[300, 1500, 1500], metavar=("AT1", "AT8", "AT32"),
                        help="bare-endpoint requests at 1, 8 and 32 clients, per variant (default 300 1500 1500)")
    parser.add_argument("--rescans", type=int, default=300, help="re-scans at 8 scanners (default 300)")
    parser.add_argument("--paced-interval", type=float, default=0.5,
                        help="seconds between two scans of one scanner in the paced run at 8 (default 0.5)")
    parser.add_argument("--paced-seconds", type=float, default=10.0,
                        help="length of the paced run at 8 scanners (default 10)")
    parser.add_argument("--attempts", type=int, default=1000, help="registration attempts (default 1000)")
    parser.add_argument("--seats", type=int, default=100, help="seats of the burst's date (default 100)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent registrants (default 32)")
    parser.add_argument("--pairs", type=int, default=3,
                        help="runs of check-in at 8 scanners, each right after its own bare run (default 3)")
    parser.add_argument("--bursts", type=int, default=3,
                        help="registration bursts, each on its own date beside its own bare run (default 3)")
    parser.add_argument("--burst-cap", type=float, default=40.0,
                        help="stop starting registration attempts after this many seconds (default 40; "
                             "only reached on a machine busy with other work)")
    parser.add_argument("--time-cap", type=float, default=10.0,
                        help="stop starting requests of one scenario after this many seconds (default 10)")
    parser.add_argument("--redis", default=os.getenv("BENCH_DOOR_REDIS", DEFAULT_REDIS),
                        help="Redis server URL without a database number, for the cache and the Celery broker as "
                             "in production (default %(default)s); unreachable: local memory, and the report says so")
    parser.add_argument("--redis-db", type=int, default=6,
                        help="Redis database number used and flushed, never 0 (default %(default)s)")
    parser.add_argument("--no-redis", action="store_true",
                        help="local-memory cache and an in-memory broker instead of Redis")
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.md",
                        help="Markdown file the section is appended to (default bench/results/latest.md)")
    args = parser.parse_args(argv)
    if args.redis_db == 0:
        parser.error("--redis-db 0 is the shared default database; pick another")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    return args


# -- database and server ------------------------------------------------------------------


def _conninfo(server: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def _admin(args, sql: str) -> None:
    import psycopg

    with psycopg.connect(_conninfo(args.server, args.maintenance_db), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def database_create(args) -> str:
    name = f"bench_door_{os.getpid()}"
    assert name not in PROTECTED
    # template0: never blocked by, and never blocking, anyone connected to template1.
    _admin(args, f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    return name


def database_drop(args, name: str) -> None:
    assert name.startswith("bench_door_") and name not in PROTECTED
    _admin(args, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_reachable(args) -> str | None:
    """None when we can connect, else why not."""
    import psycopg

    try:
        with psycopg.connect(_conninfo(args.server, args.maintenance_db), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure to connect means: skip, and say so
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return None


def configure(database_url: str, workdir: str, redis: str | None) -> None:
    """Production-like settings (DEBUG off), read from the environment by
    config.settings; gunicorn inherits them. With `redis`, the cache (door
    tokens, throttles) and the Celery broker are Redis, as in production; the
    tasks handed over stay on a queue of this run that no worker reads."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings_door",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "STATIC_ROOT": os.path.join(workdir, "static"),
        "REDIS_URL": redis or "",
        "CELERY_BROKER_URL": redis or "memory://localhost/",
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-door-{os.getpid()}",
        "CACHE_KEY_PREFIX": f"bench-door-{os.getpid()}",
        "TRUST_X_FORWARDED_FOR": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    })
    os.environ.pop("TESTING", None)
    os.makedirs(os.environ["STATIC_ROOT"], exist_ok=True)


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


class CpuMeter:
    """CPU used during a scenario, in cores: ours (this process with the load
    generator, gunicorn and its workers, the PostgreSQL backends of our
    database) and everything else on the machine. The machine is shared, so
    the numbers say how much of it the scenario really had."""

    def __init__(self, server_pid: int, dbname: str):
        self.server_pid = server_pid
        self.marker = dbname.encode()
        self.tick = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _machine() -> int:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields) - fields[3] - fields[4]  # all but idle and iowait

    def _ours(self) -> dict[int, int]:
        ticks = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
                rest = stat[stat.rindex(b")") + 2:].split()
                pid, ppid = int(entry.name), int(rest[1])
                mine = pid in (os.getpid(), self.server_pid) or ppid == self.server_pid
                if not mine and b"postgres" in stat[:64]:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                        mine = self.marker in f.read()
                if mine:
                    ticks[pid] = int(rest[11]) + int(rest[12])  # utime + stime
            except (OSError, ValueError, IndexError):
                continue
        return ticks

    def start(self) -> None:
        self.t0, self.machine0, self.ours0 = time.perf_counter(), self._machine(), self._ours()

    def stop(self) -> tuple[float, float]:
        elapsed = time.perf_counter() - self.t0
        machine = self._machine() - self.machine0
        ours1 = self._ours()
        ours = sum(t - self.ours0.get(pid, 0) for pid, t in ours1.items())
        scale = self.tick * elapsed
        return ours / scale, max(machine - ours, 0) / scale


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, args, workdir: str, dbname: str):
        self.dbname = dbname
        self.port = free_port()
        self.log_path = os.path.join(workdir, "gunicorn.log")
        binary = Path(sys.executable).parent / "gunicorn"
        command = [str(binary)] if binary.exists() else [sys.executable, "-m", "gunicorn"]
        self.command = command + [
            "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(args.workers),
            "--worker-class", args.worker_class,
            "--timeout", "60",
            "--log-level", "warning",
            "--error-logfile", "-",
        ]
        if args.worker_class == "gthread":
            self.command += ["--threads", str(args.threads)]
        self.process = None

    def start(self) -> None:
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                conn = __import__("http.client").client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/__bench__/lock-insert/")
                status = conn.getresponse().status
                conn.close()
                if status == 405:  # the bare view answers GET with 405: Django is up
                    return
                raise RuntimeError(f"gunicorn answers {status}:\n{self.log_tail()}")
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start in 40 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def first_error(self, lines: int = 40) -> tuple[int, str]:
        """(number of server errors logged, the first one's log lines)."""
        try:
            log_lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return 0, ""
        marks = [i for i, line in enumerate(log_lines)
                 if line.startswith("Internal Server Error") or "[ERROR]" in line or "[CRITICAL]" in line]
        if not marks:
            return 0, ""
        return len(marks), "\n".join(log_lines[marks[0]:marks[0] + lines])

    def describe(self, args) -> str:
        import gunicorn

        kind = f"{args.workers} {args.worker_class} workers"
        if args.worker_class == "gthread":
            kind += f" × {args.threads} threads"
        return f"gunicorn {gunicorn.__version__}, {kind}, `{' '.join(self.command[1:])}`"


# -- data ---------------------------------------------------------------------------------


class Data:
    """What the scenarios need, built in the bench database."""

    def __init__(self, *, fresh_tickets: int, seats: int, bursts: int = 1):
        from django.contrib.auth import get_user_model
        from django.db import transaction
        from django.utils import timezone
        from rest_framework.authtoken.models import Token

        from attendance.models import Registration, Ticket, new_ticket_secret, secret_digest
        from attendance.services import CONSENT_VERSION
        from events.models import Occurrence, Programme
        from events.services import programme_create
        from venues.models import AdminUnit, StaffRole, Venue

        started = time.perf_counter()
        now = timezone.now()
        with transaction.atomic():
            province = AdminUnit.objects.create(code="BENCH-P", name="Tỉnh Bench", level=AdminUnit.Level.PROVINCE)
            commune = AdminUnit.objects.create(
                code="BENCH-C", name="Phường Bench", level=AdminUnit.Level.COMMUNE, parent=province
            )

            def venue(slug, name):
                return Venue.objects.create(
                    name=name, slug=slug, kind=Venue.Kind.LIBRARY, tier=Venue.Tier.PROVINCIAL,
                    admin_unit=commune, address="1 Đường Bench",
                )

            def occurrence(at_venue, title, start, capacity):
                programme = programme_create(
                    venue=at_venue, title=title, start=start, end=start + dt.timedelta(hours=2),
                    category="club", status=Programme.Status.PUBLISHED, capacity=capacity,
                )
                return programme.occurrences.get()

            self.venue = venue("bench-door", "Thư viện tỉnh Bench")
            baseline_venue = venue("bench-baseline", "Bench baseline")
            user = get_user_model().objects.create_user(username="bench-door", password=uuid.uuid4().hex)
            StaffRole.objects.create(user=user, role=StaffRole.Role.DOOR, venue=self.venue)
            self.token = Token.objects.create(user=user).key

            # The door's date starts in 5 minutes: its check-in window is open.
            soon = now + dt.timedelta(minutes=5)
            self.door_date = occurrence(self.venue, "Buổi nói chuyện chuyên đề", soon, fresh_tickets + 100)
            tomorrow = now + dt.timedelta(days=1)
            self.burst_dates = [
                occurrence(self.venue, f"Câu lạc bộ Đọc sách {k + 1}", tomorrow + dt.timedelta(hours=k), seats)
                for k in range(bursts)
            ]
            self.warmup_date = occurrence(self.venue, "Lớp kỹ năng số", tomorrow, 10_000)

            # Baseline rows to lock: one hot row, and SPREAD_ROWS rows to take in turn.
            first = occurrence(baseline_venue, "Bench baseline", tomorrow, None)
            extra = [
                Occurrence(
                    programme_id=first.programme_id, venue=baseline_venue,
                    start=first.start + dt.timedelta(days=i), end=first.end + dt.timedelta(days=i),
                    original_start=first.start + dt.timedelta(days=i), original_end=first.end + dt.timedelta(days=i),
                )
                for i in range(1, SPREAD_ROWS)
            ]
            self.hot_pk = first.pk
            self.spread_pks = [first.pk] + [o.pk for o in Occurrence.objects.bulk_create(extra)]

            # Fresh tickets in bulk, in the shape registration_create gives them
            # (a confirmed registration, a ticket with its secret and digest).
            registrations = Registration.objects.bulk_create(
                [
                    Registration(
                        occurrence=self.door_date, status=Registration.Status.CONFIRMED, full_name=f"Khách {i}",
                        phone=f"+8491{i:07d}", party_size=1, consent_at=now, consent_version=CONSENT_VERSION,
                        confirmed_at=now,
                    )
                    for i in range(fresh_tickets)
                ],
                batch_size=2000,
            )
            secrets = [new_ticket_secret() for _ in registrations]
            Ticket.objects.bulk_create(
                [Ticket(registration=r, secret=s, digest=secret_digest(s)) for r, s in zip(registrations, secrets)],
                batch_size=2000,
            )
            Occurrence.objects.filter(pk=self.door_date.pk).update(seats_taken=len(registrations))
            self.secrets = secrets
        self.seconds = time.perf_counter() - started
        self.seats = seats
        self._next = 0

    def take_secrets(self, n: int) -> list[str]:
        return self.secrets[self._next:self._next + n]

    def used(self, n: int) -> None:
        self._next += n


# -- clients ------------------------------------------------------------------------------


class BareClient(loadgen.Client):
    def request(self, pk):
        return "POST", f"/__bench__/lock-insert/?pk={pk}", b"", {"Content-Length": "0"}


class ScanClient(loadgen.Client):
    def __init__(self, data: Data, expected: str, device: str):
        self.headers = {"Content-Type": "application/json", "Authorization": f"Token {data.token}"}
        self.venue = data.venue.slug
        self.occurrence_id = data.door_date.pk
        self.expected = expected
        self.device = device

    def request(self, secret):
        body = json.dumps({
            "code": secret, "scan_id": uuid.uuid4().hex, "venue": self.venue,
            "occurrence_id": self.occurrence_id, "device": self.device,
        }).encode()
        return "POST", "/api/door/scan", body, self.headers

    def verdict(self, item, status, headers, body):
        if status != 200:
            return f"HTTP {status}"
        result = json.loads(body).get("result")
        return None if result == self.expected else f"result {result}"


CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
ERRORLIST = re.compile(rb'class="errorlist[^"]*"[^>]*>\s*<li>([^<]{0,80})')


class RegisterClient(loadgen.Client):
    """A citizen's browser: GET the form (CSRF cookie and token), then POST it."""

    def __init__(self, occurrence_id: int):
        self.path = f"/events/{occurrence_id}/register/"
        self.cookies: dict[str, str] = {}
        self.token = ""

    def _keep_cookies(self, headers) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value

    def prepare(self, conn):
        conn.request("GET", self.path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"register form answered {response.status}")
        self._keep_cookies(response.headers)
        found = CSRF_INPUT.search(body)
        if not found or "csrftoken" not in self.cookies:
            raise RuntimeError("no CSRF token on the register form")
        self.token = found.group(1).decode()

    def request(self, phone):
        body = urllib.parse.urlencode({
            "csrfmiddlewaretoken": self.token, "full_name": "Nguyễn Văn Bench", "phone": phone, "email": "",
            "party_size": "1", "sms_opt_in": "on", "consent": "on",
        }).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        return "POST", self.path, body, headers

    def verdict(self, item, status, headers, body):
        self._keep_cookies(headers)
        location = headers.get("Location") or ""
        if status == 302 and "/t/" in location:
            return None
        if 300 <= status < 400:
            return f"redirect to {urllib.parse.urlsplit(location).path}"
        if status == 200:
            found = ERRORLIST.search(body)
            return "form refused" + (f": {found.group(1).decode(errors='replace').strip()}" if found else "")
        return f"HTTP {status}"


def phones(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


def e164(national: str) -> str:
    return "+84" + national[1:]


# -- in-process breakdown -----------------------------------------------------------------


def _query_kind(sql: str) -> str:
    text = " ".join(sql.split())
    verb = text.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "SAVEPOINT / RELEASE"
    if verb == "WITH":  # a data-modifying WITH: name every table it writes
        written = re.findall(r'\b(INSERT INTO|(?<!DO )UPDATE)\s+"?(\w+)"?', text, re.I)
        if written:
            return f"{written[0][0].split()[0].upper()} " + " + ".join(table for _, table in written)
    outer = text  # the statement's own table, not a subquery's: drop what is in parentheses
    while re.search(r"\([^()]*\)", outer):
        outer = re.sub(r"\([^()]*\)", "", outer)
    pattern = r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?'
    found = re.search(pattern, outer, re.I) or re.search(pattern, text, re.I)  # no table of its own: its reads
    table = found.group(1) if found else "?"
    upper = text.upper()
    if verb == "SELECT" and "FOR UPDATE" in upper:
        verb = "SELECT … FOR UPDATE"
    elif verb == "SELECT" and re.search(r"\b(SUM|COUNT)\(", upper):
        verb = "SELECT SUM/COUNT"
    elif verb == "SELECT" and re.search(r"\bEXISTS\b|SELECT 1 AS", upper):
        verb = "SELECT exists"
    return f"{verb} {table}"


class Breakdown:
    """Per request: wall time in-process (Django test client, same database,
    same settings, no HTTP), time in SQL, and the queries by kind."""

    def __init__(self, name: str):
        self.name = name
        self.requests = 0
        self.wall = 0.0
        self.kinds: dict[str, list[float]] = defaultdict(list)
        self.failures = 0
        self.lock_holds: list[float] = []
        self._locked_at = None

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        if self._locked_at is None and "FOR UPDATE" in sql:
            self._locked_at = started
        try:
            return execute(sql, params, many, context)
        finally:
            ended = time.perf_counter()
            self.kinds[_query_kind(sql)].append(ended - started)
            if self._locked_at is not None and transaction_idle(context["connection"]):
                # A last write that carried the COMMIT (common.sql.atomic_committed_by_last_write).
                self.lock_holds.append(ended - self._locked_at)
                self._locked_at = None

    def measure(self, send, items, warmups: int = 5) -> "Breakdown":
        """Time `send` over `items`, the first `warmups` untimed (the first
        request of a process imports the URLconf and every view)."""
        from django.db import connections

        items = list(items)
        for item in items[:warmups]:
            send(item)
        items = items[warmups:]

        connection = connections["default"]
        commit = connection._commit

        def timed_commit():
            # A row lock is held from the locking SELECT to the end of COMMIT.
            try:
                return commit()
            finally:
                if self._locked_at is not None:
                    self.lock_holds.append(time.perf_counter() - self._locked_at)
                    self._locked_at = None

        connection._commit = timed_commit
        meter = CpuMeter(-1, connection.settings_dict["NAME"])  # no server in-process
        meter.start()
        try:
            with connection.execute_wrapper(self):
                for item in items:
                    started = time.perf_counter()
                    if not send(item):
                        self.failures += 1
                    self.wall += time.perf_counter() - started
                    self.requests += 1
        finally:
            del connection._commit
            self.others = meter.stop()[1]
        return self

    @property
    def queries(self) -> float:
        return sum(len(v) for v in self.kinds.values()) / max(self.requests, 1)

    @property
    def sql_ms(self) -> float:
        return sum(sum(v) for v in self.kinds.values()) * 1000 / max(self.requests, 1)

    @property
    def wall_ms(self) -> float:
        return self.wall * 1000 / max(self.requests, 1)

    def markdown(self) -> str:
        lines = [
            f"**{self.name}** — {self.wall_ms:.1f} ms per request in-process, of which {self.sql_ms:.1f} ms in "
            f"{self.queries:.1f} SQL statements (client-side time, round trip included); the remaining "
            f"{self.wall_ms - self.sql_ms:.1f} ms is Python (middleware, auth, view, serialisation) and COMMITs"
            + (f"; {self.failures} unexpected answers" if self.failures else "")
            + (f". The row lock is held {statistics.median(self.lock_holds) * 1000:.1f} ms (median, from the "
               "locking SELECT to the end of COMMIT)" if self.lock_holds else "")
            + f". Other work on the machine meanwhile: {self.others:.1f} cores.",
            "",
            "| statement | per request | ms per request |",
            "|---|---:|---:|",
        ]
        for kind, times in sorted(self.kinds.items(), key=lambda kv: -sum(kv[1])):
            lines.append(f"| `{kind}` | {len(times) / self.requests:.2f} | {sum(times) * 1000 / self.requests:.2f} |")
        return "\n".join(lines)


# Stages of a request, found by (file path ending, function name) in a cProfile of
# the in-process requests; a stage that is not found (code renamed) is left out.
SCAN_STAGES = [
    ("token authentication (`RememberedTokenAuthentication`: this worker's memory, else the cache, else "
     "`authtoken_token` and the roles)",
     "rest_framework/views.py", "perform_authentication"),
    ("permission: door roles (`Doors`, from the remembered token)", "rest_framework/views.py", "check_permissions"),
    ("request validation (serializer)", "attendance/api.py", "_valid"),
    ("venue of the door (`_door_venue`)", "attendance/api.py", "_door_venue"),
    ("`ticket_redeem` (find and lock, validate, insert, update, visit totals)", "attendance/services.py",
     "ticket_redeem"),
    ("  of which the answer's details (`_details`)", "attendance/services.py", "_details"),
    ("  of which building the live counters' read (they are read in the scan's own write)",
     "attendance/selectors.py", "day_counts_read"),
    ("live counters read on their own (`venue_day_counts`; only when the scan could not read them)",
     "attendance/api.py", "_counts"),
    ("JSON rendering (DRF `Response.rendered_content`)", "rest_framework/response.py", "rendered_content"),
]
REGISTER_STAGES = [
    ("throttles (cache; address and phone in one round trip)", "attendance/views.py", "_within_limits"),
    ("form validation (phone parsing)", "django/forms/forms.py", "is_valid"),
    ("`registration_create` (read the date, lock it, write registration, ticket, seats, message)",
     "attendance/services.py", "registration_create"),
    ("  of which reading the date, the venue's texts and the new ids (`date_ahead`)",
     "attendance/registration_sql.py", "date_ahead"),
    ("  of which the message's text (`_message`)", "attendance/services.py", "_message"),
    ("  of which locking the date (`date_for_update`)", "attendance/registration_sql.py", "date_for_update"),
    ("  of which the write after the lock (`InsertIf.run`)", "common/rows.py", "run"),
    ("  of which giving the message to the courier after commit (`_hand_over`; the courier's thread publishes)",
     "notifications/services.py", "_hand_over"),
    ("redirect to the ticket, remembering it in a signed cookie (`_registered`)", "attendance/views.py",
     "_registered"),
]


def profile_stages(name: str, send, items, stages) -> str:
    """Where one kind of request spends its time, by stage, as shares of the
    request measured under cProfile (which slows Python, not the database, so
    shares of Python-heavy stages are somewhat inflated)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    failures = 0
    started = time.perf_counter()
    profiler.enable()
    for item in items:
        failures += not send(item)
    profiler.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats
    lines = [
        f"**{name}**, by stage (cProfile over {len(items)} requests after the timed ones; share of the request's time"
        + (f"; {failures} unexpected answers" if failures else "") + ")",
        "",
        "| stage | share | ms per request (profiled) |",
        "|---|---:|---:|",
    ]
    covered = 0.0
    for label, path_end, function in stages:
        seconds = sum(
            value[3] for (filename, _line, func), value in stats.items()
            if func == function and filename.replace("\\", "/").endswith(path_end)
        )
        if not seconds:
            continue
        if not label.startswith("  "):
            covered += seconds
        lines.append(f"| {label} | {seconds / total:.0%} | {seconds * 1000 / len(items):.1f} |")
    rest = max(total - covered, 0.0)
    lines.append(f"| everything else (Django handler and middleware, the view's own code, test client) | "
                 f"{rest / total:.0%} | {rest * 1000 / len(items):.1f} |")
    return "\n".join(lines)


def breakdowns(data: Data, fresh: list[str], rescans: list[str], profiled: list[str]) -> tuple[list, list]:
    from django.test import Client

    def scan_sender(expected):
        client = Client(HTTP_AUTHORIZATION=f"Token {data.token}")

        def send(secret):
            response = client.post(
                "/api/door/scan",
                json.dumps({"code": secret, "scan_id": uuid.uuid4().hex, "venue": data.venue.slug,
                            "occurrence_id": data.door_date.pk, "device": "in-process"}),
                content_type="application/json",
            )
            return response.status_code == 200 and response.json()["result"] == expected

        return send

    bare_client = Client()

    def bare(pk):
        return bare_client.post(f"/__bench__/lock-insert/?pk={pk}").status_code == 200

    register_client = Client()
    register_path = f"/events/{data.warmup_date.pk}/register/"

    def register(phone):
        response = register_client.post(register_path, {
            "full_name": "Nguyễn Văn Bench", "phone": phone, "email": "", "party_size": "1",
            "sms_opt_in": "on", "consent": "on",
        })
        return response.status_code == 302

    n = len(fresh)
    parts = [
        Breakdown("bare lock + insert").measure(bare, [data.spread_pks[i % SPREAD_ROWS] for i in range(n)]),
        Breakdown("check-in, fresh ticket (`ok`)").measure(scan_sender("ok"), fresh),
        Breakdown("re-scan (`already_checked_in`)").measure(scan_sender("already_checked_in"), rescans),
        Breakdown("registration POST (confirmed; CSRF not enforced by the test client)").measure(
            register, phones("0914", n)
        ),
    ]
    stages = [
        profile_stages("check-in, fresh ticket", scan_sender("ok"), profiled, SCAN_STAGES),
        profile_stages("registration POST", register, phones("0915", len(profiled)), REGISTER_STAGES),
    ]
    return parts, stages


# -- the run ------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "–" if value != value else f"{value:.{digits}f}"  # NaN → dash


def row(name, result: loadgen.RunResult, bare: loadgen.RunResult | None, *, samples=None, throughput=None,
        note=""):
    samples = result.samples if samples is None else samples
    latencies = [s.ms for s in samples]
    throughput = result.throughput if throughput is None else throughput
    ratio = f"{throughput / bare.throughput:.2f}" if bare and bare.throughput else "–"
    errors = sum(1 for s in samples if s.error)
    ours, others = getattr(result, "cpu", (math.nan, math.nan))
    per_core = throughput / ours if ours else math.nan
    bare_per_core = bare.throughput / bare.cpu[0] if bare and getattr(bare, "cpu", None) and bare.cpu[0] else math.nan
    core_ratio = per_core / bare_per_core if bare else math.nan
    return (
        f"| {name} | {result.concurrency} | {len(samples)} | {fmt(loadgen.percentile(latencies, 0.50))} | "
        f"{fmt(loadgen.percentile(latencies, 0.95))} | {fmt(loadgen.percentile(latencies, 0.99))} | "
        f"{throughput:.0f} | {ratio} | {errors}{note} | {fmt(ours)} / {fmt(others)} | {fmt(per_core, 0)} | "
        f"{fmt(core_ratio, 2)} |"
    )


def paced_scans(args) -> int:
    return int(8 * args.paced_seconds / args.paced_interval) + 16


def run_all(args, data: Data, server: Gunicorn, log) -> dict:
    host, port = "127.0.0.1", server.port
    runs: dict = {}

    meter = CpuMeter(server.process.pid, server.dbname)

    def go(name, concurrency, items, factory, time_cap=args.time_cap, interval=None):
        meter.start()
        result = loadgen.run(name, host=host, port=port, concurrency=concurrency, items=items,
                             client_factory=factory, time_cap=time_cap, interval=interval)
        result.cpu = meter.stop()
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.process.returncode}) during {name}:\n{server.log_tail()}")
        extra = f", {len(result.errors)} errors ({result.error_summary()})" if result.errors else ""
        if result.setup_errors:
            extra += f", {len(result.setup_errors)} clients failed to start ({result.setup_errors[0]})"
        log(f"  {name} ×{concurrency}: {result.requests} requests, p50 {fmt(result.percentile(0.5))} ms, "
            f"p99 {fmt(result.percentile(0.99))} ms, {result.throughput:.0f} req/s, CPU cores ours "
            f"{result.cpu[0]:.2f} / others {result.cpu[1]:.2f}{extra}")
        return result

    def scans(name, concurrency, n, expected="ok", **options):
        items = data.take_secrets(n)
        if len(items) < n:
            raise RuntimeError(f"not enough fresh tickets for {name}")
        counter = iter(range(10**9))
        result = go(name, concurrency, items,
                    lambda: ScanClient(data, expected, f"scanner-{next(counter)}"), **options)
        data.used(result.requests)
        return result

    # Warm every worker (imports, first connection, template and phone metadata caches).
    log("Warming up")
    go("warm-up bare", 4, [data.hot_pk] * 80, BareClient)
    scans("warm-up scans", 4, 80)
    go("warm-up registrations", 4, phones("0913", 40), lambda: RegisterClient(data.warmup_date.pk))

    log("Measuring")
    for concurrency, n_bare, n_scans in zip(CONCURRENCIES, args.bare, args.scans):
        runs[("bare hot", concurrency)] = go("bare, same row", concurrency, [data.hot_pk] * n_bare, BareClient)
        spread = [data.spread_pks[i % SPREAD_ROWS] for i in range(n_bare)]
        runs[("bare spread", concurrency)] = go("bare, row per request", concurrency, spread, BareClient)
        first_admitted = data._next
        runs[("scan", concurrency)] = scans("check-in", concurrency, n_scans)
        if concurrency == 8:
            admitted = data.secrets[first_admitted:data._next][: args.rescans]
            runs[("rescan", 8)] = go(
                "re-scan", 8, admitted, lambda: ScanClient(data, "already_checked_in", "scanner-rescan")
            )
            data.rescan_pool = admitted
            # The bare endpoint at the same pace first: what the machine itself adds to a paced request.
            runs[("paced bare", 8)] = go(
                "bare, paced", 8, itertools.islice(itertools.cycle(spread), paced_scans(args)), BareClient,
                interval=args.paced_interval, time_cap=args.paced_seconds,
            )
            runs[("paced", 8)] = scans(
                "check-in, paced", 8, paced_scans(args), interval=args.paced_interval, time_cap=args.paced_seconds
            )
            # More pairs of bare and check-in: the machine's speed drifts between scenarios.
            for k in range(1, args.pairs):
                runs[("bare spread", 8, k)] = go(f"bare, row per request (pair {k + 1})", 8, spread, BareClient)
                runs[("scan", 8, k)] = scans(f"check-in (pair {k + 1})", 8, n_scans)

    # The bursts: each client fetches the form first (untimed), then all start together.
    for k, date in enumerate(data.burst_dates):
        # Each burst beside its own bare run: the machine's speed drifts between scenarios.
        runs[("burst bare", k)] = go(f"bare, same row (beside burst {k + 1})", args.clients,
                                     [data.hot_pk] * args.bare[-1], BareClient)
        runs[("burst", k)] = go(f"registration burst {k + 1}", args.clients, phones("0912", args.attempts),
                                lambda date=date: RegisterClient(date.pk), time_cap=args.burst_cap)
    return runs


def verify(data: Data, runs: dict) -> dict:
    """What the database says after the runs."""
    from django.db.models import Count, Sum

    from attendance.models import CheckIn, Registration, Ticket
    from events.models import Occurrence

    S = Registration.Status
    bursts = []
    for k, date in enumerate(data.burst_dates):
        burst = Registration.objects.filter(occurrence=date)
        confirmed_seats = burst.filter(status__in=Registration.HOLDS_SEATS).aggregate(n=Sum("party_size"))["n"] or 0
        bursts.append({
            "by_status": dict(burst.values_list("status").annotate(n=Count("pk"))),
            "confirmed_seats": confirmed_seats,
            "seats_taken": Occurrence.objects.values_list("seats_taken", flat=True).get(pk=date.pk),
            "oversold": max(0, confirmed_seats - data.seats),
            "confirmed_phones": set(burst.filter(status=S.CONFIRMED).values_list("phone", flat=True)),
            "waiting": burst.filter(status=S.WAITING).count(),
            "registrations": burst.count(),
            "attempted": len({e164(s.item) for s in runs[("burst", k)].samples}),
        })
    door_ok = CheckIn.objects.filter(occurrence=data.door_date, result=CheckIn.Result.OK).count()
    admitted = Ticket.objects.filter(registration__occurrence=data.door_date).aggregate(n=Sum("admitted"))["n"] or 0
    double = (
        CheckIn.objects.filter(occurrence=data.door_date, result=CheckIn.Result.OK)
        .values("ticket").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    return {
        "bursts": bursts,
        "oversold": sum(b["oversold"] for b in bursts),
        "door_ok": door_ok,
        "admitted": admitted,
        "double_admissions": double,
    }


def handed_over(redis: str | None) -> dict | None:
    """What the broker holds on the bench's queue (no worker reads it), against
    the messages recorded: were all handed over, none twice, in how many tasks."""
    if not redis:
        return None
    import base64

    import redis as redis_py

    from notifications.models import Message

    client = redis_py.Redis.from_url(redis, socket_timeout=10)
    ids: list[int] = []
    tasks = 0
    for key in client.scan_iter(match=f"{os.environ['CELERY_TASK_DEFAULT_QUEUE']}*"):  # priorities: queue + suffix
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            envelope = json.loads(raw)
            body = envelope["body"]
            if envelope.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]  # Celery's protocol 2: [args, kwargs, embed]
            tasks += 1
            ids.extend(args[0] if isinstance(args[0], list) else [args[0]])
    client.close()
    recorded = set(Message.objects.values_list("pk", flat=True))
    return {"recorded": len(recorded), "tasks": tasks, "ids": len(ids), "missing": len(recorded - set(ids)),
            "twice": len(ids) - len(set(ids))}


def report(args, data: Data, server: Gunicorn, runs: dict, db: dict, parts: list[Breakdown], stages: list[str],
           info: dict) -> str:
    import django
    from django.db import connection

    lines = [
        HEADING,
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPU cores shared by server, database "
        f"and load generator; load average {info['load_before']} before, {info['load_after']} after the "
        "HTTP runs (other work on the machine shows here)",
        f"- server: {server.describe(args)}; Django {django.get_version()}, Python {platform.python_version()}, "
        f"DEBUG off, bench.settings_door (config.settings with throttles lifted), DB_CONN_MAX_AGE "
        f"{connection.settings_dict['CONN_MAX_AGE']} s with health checks",
        f"- cache and Celery broker: {info['redis_note']}",
        f"- database: PostgreSQL {info['pg_version']} at 127.0.0.1, temporary database {info['dbname']} "
        f"(dropped afterwards); migrate {info['migrate']:.1f} s, data {data.seconds:.1f} s "
        f"({len(data.secrets)} fresh tickets for one date)",
        "- client: one thread per concurrent client, http.client; "
        + ("sync workers close the connection after each answer, so every request opens a TCP connection; "
           if args.worker_class == "sync" else "connections kept alive; ")
        + "latency measured by the client, queueing included; the client's garbage collector is off while it times "
        "(its pauses would stop every client at once), the server's workers freeze what they load (config.wsgi)",
        f"- warm-up: 80 bare requests, 80 scans, 40 registrations (4 clients) before timing; each scenario "
        f"stops starting requests after {args.time_cap:g} s",
        "",
        "| scenario | concurrency | requests | p50 ms | p95 ms | p99 ms | req/s | ÷ bare | errors "
        "| CPU cores: ours / others | req per core-second | ÷ bare per core |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in CONCURRENCIES:
        hot, spread = runs[("bare hot", concurrency)], runs[("bare spread", concurrency)]
        lines.append(row("bare: SELECT … FOR UPDATE + INSERT, same row", hot, hot))
        lines.append(row("bare: SELECT … FOR UPDATE + INSERT, row per request", spread, spread))
        lines.append(row("check-in `POST /api/door/scan`, fresh ticket → ok", runs[("scan", concurrency)], spread))
        if concurrency == 8 and ("rescan", 8) in runs:
            lines.append(row("re-scan → already_checked_in", runs[("rescan", 8)], spread))
            paced = runs[("paced", 8)]
            offered = 8 / args.paced_interval
            lines.append(row(f"bare, paced: each client one request every {args.paced_interval:g} s "
                             f"({offered:g}/s offered)", runs[("paced bare", 8)], None))
            lines.append(row(f"check-in, paced: each scanner one scan every {args.paced_interval:g} s "
                             f"({offered:g}/s offered)", paced, None))
            for k in range(1, args.pairs):
                bare_k = runs[("bare spread", 8, k)]
                lines.append(row(f"bare: SELECT … FOR UPDATE + INSERT, row per request (pair {k + 1})", bare_k, bare_k))
                lines.append(row(f"check-in, fresh ticket → ok (pair {k + 1})", runs[("scan", 8, k)], bare_k))

    bursts = []  # per burst: its run, its bare run, registrations/s until sold out, when it sold out
    for k, found in enumerate(db["bursts"]):
        burst, bare = runs[("burst", k)], runs[("burst bare", k)]
        confirmed = [s for s in burst.samples if e164(s.item) in found["confirmed_phones"]]
        t0 = min(s.start for s in burst.samples) if burst.samples else 0
        sold_at = max((s.end for s in confirmed), default=t0)
        rate = len(confirmed) / (sold_at - t0) if sold_at > t0 else 0.0
        bursts.append((burst, bare, rate, sold_at - t0))
        lines.append(row(f"bare: SELECT … FOR UPDATE + INSERT, same row (beside burst {k + 1})", bare, bare))
        lines.append(row(f"registration burst {k + 1} until sold out ({len(confirmed)} confirmed; "
                         "req/s = registrations/s)", burst, bare,
                         samples=[s for s in burst.samples if s.end <= sold_at], throughput=rate))
        lines.append(row(f"registration burst {k + 1}, all {burst.requests} attempts (then waiting list)",
                         burst, bare))
    lines.append("")
    lines.append(
        "Scanners and registrants send their next request as soon as they have the answer (closed loop: "
        "throughput is the server's capacity, latency includes the queue), except the paced rows. "
        "÷ bare: throughput over the bare endpoint's at the same concurrency — check-in against a different row "
        "per request (a scan locks its own ticket), registration against the same row (every registration "
        "locks its date). CPU cores: average use during the scenario by the bench (load generator, gunicorn, "
        "our PostgreSQL backends) and by everything else on the machine, out of "
        f"{os.cpu_count()}; when others take a share, throughput drops with it, so the last two columns divide "
        "throughput by the cores the bench itself used (requests per CPU-second: steadier on a shared machine). "
        "Errors: transport failures, non-2xx/3xx answers, and answers other than the one "
        "expected (a scan not `ok` / not `already_checked_in`, a registration not redirected to its ticket)."
    )
    lines.append("")

    pairs = [(runs[("scan", 8)], runs[("bare spread", 8)])] + [
        (runs[("scan", 8, k)], runs[("bare spread", 8, k)]) for k in range(1, args.pairs)
    ]
    p99s = [scan.percentile(0.99) for scan, _bare in pairs]
    p99 = statistics.median(p99s)
    checkin_ratios = [scan.throughput / bare.throughput if bare.throughput else 0.0 for scan, bare in pairs]
    checkin_ratio = statistics.median(checkin_ratios)
    reg_ratios = [rate / bare.throughput if bare.throughput else 0.0 for _, bare, rate, _ in bursts]
    reg_ratio = statistics.median(reg_ratios)

    def per_core(throughput, result):
        return throughput / result.cpu[0] if result.cpu[0] else math.nan

    checkin_core = statistics.median(
        per_core(scan.throughput, scan) / per_core(bare.throughput, bare) for scan, bare in pairs
    )
    reg_core = statistics.median(
        per_core(rate, burst) / per_core(bare.throughput, bare) for burst, bare, rate, _ in bursts
    )
    mark = lambda ok: "✅" if ok else "❌"  # noqa: E731
    paced_p99 = runs[("paced", 8)].percentile(0.99)
    paced_bare_p99 = runs[("paced bare", 8)].percentile(0.99)
    lines += [
        "Aims:",
        f"- check-in p99 at 8 scanners ≤ {P99_AIM_MS} ms: {p99:.1f} ms scanning back to back, the median of "
        f"{len(p99s)} runs ({', '.join(f'{v:.1f}' for v in p99s)}; saturated: queueing for 2 cores) "
        f"{mark(p99 <= P99_AIM_MS)}; {paced_p99:.1f} ms at a door's pace "
        f"({8 / args.paced_interval:g} scans/s) {mark(paced_p99 <= P99_AIM_MS)} (the bare endpoint at that pace: "
        f"{paced_bare_p99:.1f} ms)",
        f"- check-in throughput at 8 scanners ≥ {CHECKIN_RATIO_AIM:.0%} of bare: {checkin_ratio:.1%} "
        f"{mark(checkin_ratio >= CHECKIN_RATIO_AIM)}, the median of {len(checkin_ratios)} runs, each beside its "
        f"own bare run ({', '.join(f'{r:.1%}' for r in checkin_ratios)}; per core used: {checkin_core:.0%})",
        f"- registrations/s until sold out ≥ {REGISTRATION_RATIO_AIM:.0%} of bare: {reg_ratio:.1%} "
        f"{mark(reg_ratio >= REGISTRATION_RATIO_AIM)}, the median of {len(reg_ratios)} bursts "
        f"({', '.join(f'{r:.1%}' for r in reg_ratios)}; per core used: {reg_core:.0%})",
        "",
        *(
            f"Registration burst {k + 1}: {burst.requests} attempts"
            + (f" (of {args.attempts}: stopped after {args.burst_cap:g} s)" if burst.requests < args.attempts else "")
            + f" with distinct phones by {args.clients} clients for {data.seats} seats: sold out after "
            f"{sold_after:.2f} s ({rate:.0f} registrations/s); all attempts in {burst.duration:.2f} s "
            f"({burst.throughput:.0f}/s); {len(burst.errors)} errors"
            + (f" ({burst.error_summary()})" if burst.errors else "")
            + f". In the database: {found['registrations']} registrations for {found['attempted']} phones, by "
            f"status {dict(sorted(found['by_status'].items()))}; seats held {found['confirmed_seats']}, "
            f"seats_taken {found['seats_taken']}, **oversold {found['oversold']}** {mark(found['oversold'] == 0)}.\n"
            for k, ((burst, _bare, rate, sold_after), found) in enumerate(zip(bursts, db["bursts"]))
        ),
        f"Check-in: {db['door_ok']} admitted scans, tickets' admitted total {db['admitted']}, tickets admitted "
        f"twice {db['double_admissions']} {mark(db['double_admissions'] == 0 and db['door_ok'] == db['admitted'])}.",
        "",
    ]
    hand = db.get("handed_over")
    if hand:
        lines += [
            f"Hand-over: {hand['recorded']} messages recorded over HTTP (confirmations and waiting-list notices), "
            f"{hand['tasks']} tasks on the broker ({hand['ids'] / max(hand['tasks'], 1):.1f} messages per task: "
            f"the workers' couriers batch what was recorded in the same 50 ms); missing {hand['missing']}, "
            f"handed over twice {hand['twice']} {mark(hand['missing'] == 0 and hand['twice'] == 0)}.",
            "",
        ]
    holds = {part.name: statistics.median(part.lock_holds) * 1000 for part in parts if part.lock_holds}
    reg_hold = next((v for k, v in holds.items() if k.startswith("registration")), None)
    bare_hold = next((v for k, v in holds.items() if k.startswith("bare")), None)
    if reg_hold and bare_hold:
        lines += [
            f"Ceiling: registrations for one date are serialised by the date's row lock, held {reg_hold:.1f} ms per "
            f"registration (in-process, no contention), so at most ~{1000 / reg_hold:.0f} registrations/s for one "
            f"date on any number of cores; the bare endpoint holds its lock {bare_hold:.1f} ms "
            f"(~{1000 / bare_hold:.0f}/s).",
            "",
        ]
    lines += [
        "### Where the time goes (in-process, one request at a time, same database)",
        "",
        "Each request through Django's test client (no HTTP, no gunicorn, no concurrency). SQL time is measured "
        "around each statement by the client (so it includes the round trip); a COMMIT of its own is not a "
        "statement here and falls in the remainder, while a scan's last write carries its COMMIT in the same "
        "round trip (common.sql.atomic_committed_by_last_write), so that statement's time includes it.",
        "",
    ]
    for part in parts:
        lines += [part.markdown(), ""]
    for stage in stages:
        lines += [stage, ""]
    if info.get("breakdown_error"):
        lines += [f"(Not measured: {info['breakdown_error']}.)", ""]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Append the section to `path`, replacing a previous door section."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    if HEADING in existing:
        existing = existing[: existing.index(HEADING)]
    existing = existing.rstrip("\n")
    path.write_text((existing + "\n\n" if existing else "") + section.rstrip("\n") + "\n", encoding="utf-8")


def main(argv=None) -> int:
    args = parse_args(argv)
    log = lambda message: print(message, flush=True)  # noqa: E731
    if args.maintenance_db in ("test", "test_test"):
        print("Refusing to use a test database as maintenance database.", file=sys.stderr)
        return 2
    why = server_reachable(args)
    if why:
        message = (f"PostgreSQL is unreachable at {args.server} ({why}): the door check-in and registration "
                   "benchmark was skipped.")
        log(message)
        write_section(args.results, f"{HEADING}\n\n{message}\n")
        return SKIPPED

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="bench-door-")
    dbname = None
    server = None
    redis = None
    if args.no_redis:
        redis_note = "local memory and memory:// (--no-redis; messages recorded and enqueued in the request)"
    else:
        url = f"{args.redis.rstrip('/')}/{args.redis_db}"
        why_not = redis_unreachable(url)
        if why_not:
            redis_note = f"local memory and memory://, Redis being unreachable at {url} ({why_not})"
            log(f"  {redis_note}")
        else:
            redis, redis_note = url, (
                f"Redis {url} (flushed before and after), as in production: door tokens and throttles in the "
                "cache; each message handed over after commit, to a queue no worker reads"
            )
    try:
        if redis:
            redis_flush(redis)
        dbname = database_create(args)
        configure(_conninfo(args.server, dbname), workdir, redis)
        log(f"Door bench: database {dbname} on {args.server}")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        info = {"dbname": dbname, "migrate": time.perf_counter() - t, "redis_note": redis_note}
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["pg_version"] = cursor.fetchone()[0]
        log(f"  migrate: {info['migrate']:.1f} s")

        breakdown_n = 65  # in-process requests per kind, 5 of them warm-ups
        fresh = 80 + sum(args.scans) + (args.pairs - 1) * args.scans[1] + paced_scans(args) + breakdown_n + PROFILED_N
        data = Data(fresh_tickets=fresh, seats=args.seats, bursts=args.bursts)
        log(f"  data: {fresh} fresh tickets, a date of {args.seats} seats: {data.seconds:.1f} s")
        connection.close()  # gunicorn's workers open their own

        server = Gunicorn(args, workdir, dbname)
        server.start()
        log(f"  {server.describe(args)} on port {server.port}")
        info["load_before"] = load_average()
        runs = run_all(args, data, server, log)
        info["load_after"] = load_average()
        server.stop()
        server_errors, first_error = server.first_error()
        if server_errors:
            log(f"  gunicorn logged {server_errors} errors; the first:\n{first_error}")

        db = verify(data, runs)
        db["handed_over"] = handed_over(redis)  # gunicorn's workers flushed their couriers as they stopped
        log("Breakdown in-process")
        breakdown_fresh = data.secrets[data._next:data._next + breakdown_n]
        try:
            profiled = data.secrets[data._next + breakdown_n:data._next + breakdown_n + PROFILED_N]
            parts, stages = breakdowns(
                data, breakdown_fresh, getattr(data, "rescan_pool", [])[:breakdown_n], profiled
            )
        except Exception as error:  # the timings above still stand; say why this part is missing
            log(f"  breakdown failed: {type(error).__name__}: {error}")
            parts, stages = [], []
            info["breakdown_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        section = report(args, data, server, runs, db, parts, stages, info)
        if server_errors:
            section += (f"\ngunicorn logged {server_errors} errors; the first:\n\n```\n{first_error}\n```\n")
        print()
        print(section)
        write_section(args.results, section)
        log(f"Appended to {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}"
            f"; door bench took {time.perf_counter() - started:.0f} s")
        return 0 if db["oversold"] == 0 else 1
    except KeyboardInterrupt:
        log("Interrupted.")
        return 130
    finally:
        if server:
            server.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if redis:
            try:
                redis_flush(redis)
            except Exception as error:
                log(f"  could not flush {redis}: {error}")
        if dbname:
            try:
                database_drop(args, dbname)
                log(f"  dropped database {dbname}")
            except Exception as error:
                log(f"  could not drop database {dbname}: {error}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
