"""python -m bench.national — the province dashboard and the annual report at national scale.

Generates, on PostgreSQL, a country-sized history with set-based SQL (INSERT …
SELECT from generate_series; no ORM objects): the 34 provinces and their
communes, N venues spread over them, two weekly programmes per venue (one with
registration, one without) over the past Y years and the next quarter, their
occurrences, registrations with tickets, check-ins for ~80 % of the confirmed
(the rest no-shows), a walk-in tally per venue and week and a walk-in count on
every past date without registration; then the kept visit totals
(`attendance.VisitCount`) by one INSERT … SELECT … GROUP BY with the semantics of
`attendance.totals.recount`, seats taken, ANALYZE. The database (default
`bench_national` on postgres://postgres@127.0.0.1:5432) is kept, and reused
while its generation parameters match (`--regenerate` forces a new one, `--drop`
drops it at the end).

Then, in-process with Django's test client (DEBUG off), logged in as an officer
of the measured province (Hưng Yên, with the plan's targets when
`load_plan_targets` is installed, plus generated targets), after warm-ups:
a one-row baseline page, `SELECT 1`, the province dashboard, the venue
dashboard, `targets.indicators.unit_results` and the annual report build
(`targets.report`). p50/p95/p99 ms and SQL queries per request, as a Markdown
table printed and written to bench/results/national.md. The aim (p50 ≤ 200 ms
for the province dashboard) is reported, never asserted.

    python -m bench.national                       # 3,000 venues, 5 years, ~10 M check-ins
    python -m bench.national --quick               # 300 venues, 2 years, ~200 k check-ins
    python -m bench.national --venues 1000 --years 3 --checkins 2000000
"""

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
PROTECTED = {"postgres", "test", "template0", "template1"}
PROVINCE_AIM_MS = 200
MEASURED_PROVINCE = "P33"  # Hưng Yên: the plan whose targets are loaded
SKIPPED = 75


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=3000, help="venues over the 34 provinces (default 3,000)")
    parser.add_argument("--years", type=int, default=5, help="years of history (default 5)")
    parser.add_argument("--checkins", type=int, default=10_000_000, help="check-ins, roughly (default 10,000,000)")
    parser.add_argument("--quick", action="store_true", help="300 venues, 2 years, ~200,000 check-ins")
    parser.add_argument("--regenerate", action="store_true", help="generate again even if the parameters match")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed requests first (default 3)")
    parser.add_argument("--server", default=os.getenv("BENCH_NATIONAL_SERVER", DEFAULT_SERVER),
                        help="PostgreSQL server URL without a database (default %(default)s)")
    parser.add_argument("--database", default="bench_national", help="database name (default bench_national)")
    parser.add_argument("--results", type=Path, default=RESULTS / "national.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.venues, args.years, args.checkins = 300, 2, 200_000
    if args.database in PROTECTED:
        parser.error(f"refusing to use the database {args.database!r}")
    return args


def _url(server: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def _admin(args, sql: str) -> None:
    import psycopg

    with psycopg.connect(_url(args.server, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _exists(args) -> bool:
    import psycopg

    with psycopg.connect(_url(args.server, "postgres"), autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone() is not None


def step(label: str):
    """Print a step and its duration."""

    class _Step:
        def __enter__(self):
            self.started = time.perf_counter()
            print(f"  {label} …", end="", flush=True)
            return self

        def __exit__(self, *exc):
            print(f" {time.perf_counter() - self.started:.1f} s", flush=True)

    return _Step()


# -- generation ---------------------------------------------------------------------------

PARAMS_TABLE = "bench_national_params"
KINDS = [
    # kind, tier, name prefix: weighted by how common they are
    ("library", "commune", "Thư viện xã"), ("library", "commune", "Thư viện phường"),
    ("culture_centre", "commune", "Nhà văn hóa xã"), ("learning_centre", "commune", "Trung tâm học tập cộng đồng xã"),
    ("library", "district", "Thư viện khu vực"), ("library", "school", "Thư viện Trường THCS"),
    ("museum", "provincial", "Bảo tàng"), ("library", "provincial", "Thư viện tỉnh"),
    ("culture_centre", "district", "Trung tâm Văn hóa – Thể thao"), ("library", "university", "Thư viện Trường Cao đẳng"),
    ("library", "private", "Tủ sách tư nhân"),
]
CATEGORIES = ["reading", "club", "digital", "talk", "workshop", "exhibition", "experiential", "other"]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# Month factors (Tết in Jan/Feb, summer up) for how many register and come.
SEASON_SQL = (
    "(CASE extract(month FROM {t}) WHEN 1 THEN 0.85 WHEN 2 THEN 0.6 WHEN 6 THEN 1.2 WHEN 7 THEN 1.25 "
    "WHEN 8 THEN 1.15 WHEN 4 THEN 1.1 WHEN 10 THEN 1.1 ELSE 1.0 END)"
)


def _kinds_values() -> str:
    return ", ".join(f"({n}, '{k}', '{t}', '{p}')" for n, (k, t, p) in enumerate(KINDS))


def generate(args, cursor, *, now: dt.datetime) -> dict:
    """Every row by set-based SQL; returns what was generated."""
    from venues.management.commands.load_admin_units import admin_units_load

    V, years = args.venues, args.years
    first_day = (now - dt.timedelta(days=365 * years)).date()
    first_monday = first_day - dt.timedelta(days=first_day.weekday())
    weeks = (now.date() - first_monday).days // 7 + 13  # and a quarter ahead
    P = 2 * V
    info = {"venues": V, "programmes": P, "weeks": weeks}

    with step("administrative units (admin_units_load)"):
        admin_units_load()
    cursor.execute("SELECT count(*) FROM venues_adminunit WHERE level = 'commune'")
    info["communes"] = cursor.fetchone()[0]

    with step(f"{V:,} venues"):
        cursor.execute("CREATE TEMP TABLE communes AS SELECT row_number() OVER (ORDER BY code) AS n, id, name "
                       "FROM venues_adminunit WHERE level = 'commune'")
        cursor.execute(f"CREATE TEMP TABLE kinds (n int, kind text, tier text, prefix text); "
                       f"INSERT INTO kinds VALUES {_kinds_values()}")
        cursor.execute(
            "INSERT INTO schedule_calendar (id, name, slug) "
            "SELECT g, 'Lịch ' || g, 'bench-calendar-' || g FROM generate_series(1, %s) g", [V])
        cursor.execute(
            f"""
            INSERT INTO venues_venue (id, name, slug, kind, tier, ownership, address, phone, email, website,
                opening_hours, accessibility, description, is_active, created_at, updated_at, admin_unit_id, calendar_id)
            SELECT g, k.prefix || ' ' || replace(replace(c.name, 'Xã ', ''), 'Phường ', '') || ' số ' || g,
                   'bench-venue-' || g, k.kind, k.tier, CASE WHEN k.tier = 'private' THEN 'private' ELSE 'public' END,
                   c.name, '', '', '', 'Thứ Hai – Chủ nhật: 7h30–17h00', '', '', true, %s, %s, c.id, g
            FROM generate_series(1, %s) g
            JOIN kinds k ON k.n = g %% {len(KINDS)}
            JOIN communes c ON c.n = 1 + (g::bigint * 7919) %% (SELECT count(*) FROM communes)
            """, [now, now, V])

    with step(f"{P:,} weekly programmes (django-scheduler events + programmes)"):
        from schedule.models import Rule

        rules = {}
        for day in WEEKDAYS:
            rules[day], _ = Rule.objects.get_or_create(name=f"bench weekly {day}", defaults={
                "description": "bench", "frequency": "WEEKLY", "params": f"byweekday:{day}"})
        cursor.execute("CREATE TEMP TABLE wd (n int, code text, rule int); INSERT INTO wd VALUES " + ", ".join(
            f"({n}, '{d}', {rules[d].pk})" for n, d in enumerate(WEEKDAYS)))
        cursor.execute("CREATE TEMP TABLE cats (n int, code text); INSERT INTO cats VALUES " + ", ".join(
            f"({n}, '{c}')" for n, c in enumerate(CATEGORIES)))
        # Programme p: venue (p+1)/2; odd p takes registration, even p does not.
        # Its first date: weekday p % 7 of the first week, at 8:00 + (p % 10) hours (local).
        cursor.execute(
            """
            CREATE TEMP TABLE prog AS
            SELECT p, (p + 1) / 2 AS venue, p %% 2 = 1 AS reg, wd.code AS weekday, wd.rule,
                   ((%s::date + (p %% 7)) + make_interval(hours => 8 + p %% 10))::timestamp
                       AT TIME ZONE 'Asia/Ho_Chi_Minh' AS first_start,
                   cats.code AS category
            FROM generate_series(1, %s) p
            JOIN wd ON wd.n = (extract(isodow FROM %s::date)::int - 1 + p %% 7) %% 7
            JOIN cats ON cats.n = p %% 8
            """, [first_monday, P, first_monday])
        until = first_monday + dt.timedelta(days=7 * weeks)
        cursor.execute(
            """
            INSERT INTO schedule_event (id, start, "end", title, description, created_on, updated_on,
                end_recurring_period, calendar_id, creator_id, rule_id, color_event)
            SELECT p, first_start, first_start + interval '90 minutes',
                   CASE WHEN reg THEN 'Câu lạc bộ Đọc sách ' ELSE 'Giờ đọc tự do ' END || p, '', %s, %s,
                   %s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh', venue, NULL, rule, ''
            FROM prog
            """, [now, now, until])
        cursor.execute(
            """
            INSERT INTO events_programme (id, category, language, capacity, registration_required,
                registration_opens_days, registration_closes_minutes, max_party_size, group_bookings,
                group_approval_required, image, status, recurrence, weekdays, nth, repeat_until, search_text,
                materialised_until, created_at, updated_at, commemorative_day_id, created_by_id, event_id, venue_id,
                reminder_hours)
            SELECT p, category, 'vi', CASE WHEN reg THEN 60 END, reg, 30, 0, 4, false, false, '', 'published',
                   'weekly', weekday, NULL, %s, 'cau lac bo doc sach', %s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                   %s, %s, NULL, NULL, p, venue, '24'
            FROM prog
            """, [until, until, now, now])
        cursor.execute("INSERT INTO events_programme_audiences (programme_id, audience_id) "
                       "SELECT p, CASE p % 3 WHEN 0 THEN 'children' WHEN 1 THEN 'adults' ELSE 'elderly' END FROM prog")

    loading = bulk_load(cursor, BIG_TABLES).__enter__()
    with step(f"{P * weeks:,} occurrences"):
        cursor.execute(
            """
            INSERT INTO events_occurrence (id, start, "end", original_start, original_end, cancelled, capacity,
                capacity_overridden, seats_taken, updated_at, venue_id, programme_id, spans_days)
            SELECT (p - 1)::bigint * %s + w + 1, s, s + interval '90 minutes', s, s + interval '90 minutes',
                   -- Tết week and a few others cancelled
                   (w %% 52 = 5 OR (p + w) %% 97 = 0), CASE WHEN reg THEN 60 END, false, 0, %s, venue, p, false
            FROM prog CROSS JOIN generate_series(0, %s - 1) w
            CROSS JOIN LATERAL (SELECT first_start + w * interval '7 days' AS s) x
            """, [weeks, now, weeks])
    cursor.execute("SELECT count(*) FROM events_occurrence o JOIN prog ON prog.p = o.programme_id "
                   "WHERE prog.reg AND NOT o.cancelled AND o.start < %s", [now])
    past_with_registration = cursor.fetchone()[0]
    # Registrations per date so that ~80 % of the confirmed give the check-ins asked for.
    per_date = max(1.0, args.checkins / 0.8 / 0.95 / max(1, past_with_registration))
    info["registrations_per_date"] = round(per_date, 1)
    retention = dt.timedelta(days=180)

    with step(f"registrations (~{per_date:.0f} a date over {past_with_registration:,} past dates)"):
        # ~5 % cancelled; phone and name erased after the retention period (as the nightly job does).
        cursor.execute(
            f"""
            INSERT INTO attendance_registration (kind, status, source, full_name, phone, email, party_size,
                organisation, language, sms_opt_in, consent_at, consent_version, created_at, confirmed_at,
                cancelled_at, erased_at, occurrence_id)
            SELECT 'individual', CASE WHEN (o.id * 31 + g) % 20 = 0 THEN 'cancelled' ELSE 'confirmed' END,
                   'online',
                   CASE WHEN o."end" < %(erase_before)s THEN '' ELSE 'Người đăng ký ' || g END,
                   CASE WHEN o."end" < %(erase_before)s THEN '' ELSE '+849' || lpad((o.id %% 1000000)::text, 6, '0')
                        || lpad(g::text, 2, '0') END,
                   '', 1, '', 'vi', true, o.start - interval '3 days', '2025-01', o.start - interval '3 days',
                   CASE WHEN (o.id * 31 + g) % 20 = 0 THEN NULL ELSE o.start - interval '3 days' END,
                   CASE WHEN (o.id * 31 + g) % 20 = 0 THEN o.start - interval '1 day' END,
                   CASE WHEN o."end" < %(erase_before)s THEN o."end" + interval '181 days' END,
                   o.id
            FROM events_occurrence o JOIN prog ON prog.p = o.programme_id
            CROSS JOIN LATERAL generate_series(1, greatest(1, round(%(per_date)s * {SEASON_SQL.format(t='o.start')}
                * (0.6 + (o.id %% 9) * 0.1))::int)) g
            WHERE prog.reg AND NOT o.cancelled AND o.start < %(now)s
            """.replace("% 20", "%% 20"),
            {"erase_before": now - retention, "per_date": per_date, "now": now})
    checked = "(r.id * 2654435761) % 1000 < 800"  # the same ~80 % in tickets and check-ins
    with step("tickets"):
        cursor.execute(
            f"""
            INSERT INTO attendance_ticket (id, secret, digest, admitted, created_at, registration_id)
            SELECT r.id, s, encode(sha256(convert_to(s, 'UTF8')), 'hex'),
                   CASE WHEN r.status = 'confirmed' AND {checked} THEN 1 ELSE 0 END, r.created_at, r.id
            FROM attendance_registration r CROSS JOIN LATERAL (SELECT md5('bench' || r.id) AS s) x
            """)
    with step("check-ins"):
        cursor.execute(
            f"""
            INSERT INTO attendance_checkin (scan_id, result, headcount, scanned_at, received_at, offline, device,
                undone_at, occurrence_id, user_id, venue_id, ticket_id)
            SELECT 'b' || r.id, 'ok', 1, o.start + ((r.id % 40) - 25) * interval '1 minute',
                   o.start + ((r.id % 40) - 25) * interval '1 minute', false, 'bench', NULL, o.id, NULL, o.venue_id, r.id
            FROM attendance_registration r JOIN events_occurrence o ON o.id = r.occurrence_id
            WHERE r.status = 'confirmed' AND {checked}
            """)
    with step("walk-ins (a tally per venue and week, and every past date without registration)"):
        cursor.execute(
            f"""
            INSERT INTO attendance_walkin (client_id, day, count, audience, recorded_at, received_at, offline, device,
                undone_at, occurrence_id, user_id, venue_id)
            SELECT 'bv' || v || '-' || w, d, greatest(1, round((20 + v % 60) * {SEASON_SQL.format(t='d')}))::int,
                   CASE (v + w) % 3 WHEN 0 THEN 'children' WHEN 1 THEN 'adults' ELSE 'elderly' END,
                   (d + time '16:00') AT TIME ZONE 'Asia/Ho_Chi_Minh', (d + time '16:00') AT TIME ZONE 'Asia/Ho_Chi_Minh',
                   false, 'bench', NULL, NULL, NULL, v
            FROM generate_series(1, %s) v CROSS JOIN generate_series(0, %s - 1) w
            CROSS JOIN LATERAL (SELECT (%s::date + w * 7 + 5) AS d) x
            WHERE d < %s::date
            """.replace("% 60", "%% 60").replace("% 3", "%% 3"), [V, weeks, first_monday, now.date()])
        cursor.execute(
            f"""
            INSERT INTO attendance_walkin (client_id, day, count, audience, recorded_at, received_at, offline, device,
                undone_at, occurrence_id, user_id, venue_id)
            SELECT 'bo' || o.id, (o.start AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
                   greatest(1, round((10 + o.id % 40) * {SEASON_SQL.format(t='o.start')}))::int,
                   CASE o.id % 3 WHEN 0 THEN 'children' WHEN 1 THEN 'adults' ELSE 'elderly' END,
                   o.start, o.start, false, 'bench', NULL, o.id, NULL, o.venue_id
            FROM events_occurrence o JOIN prog ON prog.p = o.programme_id
            WHERE NOT prog.reg AND NOT o.cancelled AND o.start < %s
            """.replace("% 40", "%% 40").replace("% 3", "%% 3"), [now])
    with step("seats taken"):
        cursor.execute(
            """
            UPDATE events_occurrence o SET seats_taken = s.n
            FROM (SELECT occurrence_id, sum(party_size) AS n FROM attendance_registration
                  WHERE status IN ('confirmed', 'pending') GROUP BY occurrence_id) s
            WHERE o.id = s.occurrence_id
            """)
    with step("visit totals (one INSERT … SELECT … GROUP BY, as attendance.totals.recount)"):
        visit_counts_rebuild(cursor)
    with step("monthly roll-up of the visit totals"):
        visit_months_refresh(cursor)
    loading.__exit__(None, None, None)
    with step("sequences, ANALYZE"):
        for table in ("schedule_calendar", "venues_venue", "schedule_event", "events_programme", "events_occurrence",
                      "attendance_ticket"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    return info


BIG_TABLES = ["attendance_registration", "attendance_ticket", "attendance_checkin", "attendance_walkin",
              "attendance_visitcount", "events_occurrence"]  # (VisitMonth is small: a few hundred thousand rows)


class bulk_load:
    """While loading: secondary indexes and unique constraints of the big tables
    dropped (rebuilt after in one sorted pass each, much faster than row by row),
    foreign-key triggers off (session_replication_role = replica; the rows are
    consistent by construction). Everything is put back on the way out."""

    def __init__(self, cursor, tables):
        self.cursor, self.tables = cursor, tables
        self.indexes, self.constraints = [], []

    def __enter__(self):
        c = self.cursor
        for table in self.tables:
            c.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE conrelid = %s::regclass AND contype = 'u'", [table])
            for name, definition in c.fetchall():
                self.constraints.append((table, name, definition))
                c.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                      "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table])
            for name, definition in c.fetchall():
                self.indexes.append(definition)
                c.execute(f'DROP INDEX "{name}"')
        c.execute("SET LOCAL session_replication_role = replica")
        c.execute("SET LOCAL maintenance_work_mem = '1GB'")
        c.execute("SET LOCAL work_mem = '256MB'")
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        c = self.cursor
        c.execute("SET LOCAL session_replication_role = origin")
        with step(f"rebuilding {len(self.indexes)} indexes and {len(self.constraints)} unique constraints"):
            for table, name, definition in self.constraints:
                c.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for definition in self.indexes:
                c.execute(definition)
        return False


def visit_counts_rebuild(cursor) -> None:
    """VisitCount from raw rows, set-based: admitted check-ins not undone (by the
    local day of the scan), walk-ins not undone, current hand-entered attendance."""
    cursor.execute("DELETE FROM attendance_visitcount")
    cursor.execute(
        """
        INSERT INTO attendance_visitcount (venue_id, day, occurrence_id, programme_id, category, audience,
            checked_in, walk_ins, manual)
        SELECT raw.venue_id, raw.day, raw.occurrence_id, o.programme_id, coalesce(p.category, ''), raw.audience,
               sum(raw.checked_in), sum(raw.walk_ins), sum(raw.manual)
        FROM (
            SELECT venue_id, (scanned_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, occurrence_id,
                   '' AS audience, headcount AS checked_in, 0 AS walk_ins, 0 AS manual
            FROM attendance_checkin WHERE result = 'ok' AND undone_at IS NULL AND headcount > 0
            UNION ALL
            SELECT venue_id, day, occurrence_id, audience, 0, count, 0
            FROM attendance_walkin WHERE undone_at IS NULL
            UNION ALL
            SELECT oc.venue_id, (oc.start AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, m.occurrence_id, m.audience, 0, 0,
                   m.count
            FROM attendance_manualattendance m JOIN events_occurrence oc ON oc.id = m.occurrence_id
            WHERE m.superseded_at IS NULL
        ) raw
        LEFT JOIN events_occurrence o ON o.id = raw.occurrence_id
        LEFT JOIN events_programme p ON p.id = o.programme_id
        GROUP BY raw.venue_id, raw.day, raw.occurrence_id, o.programme_id, p.category, raw.audience
        HAVING sum(raw.checked_in) + sum(raw.walk_ins) + sum(raw.manual) <> 0
        """)


def visit_months_refresh(cursor) -> str:
    """The monthly roll-up of the kept totals (attendance.VisitMonth, where the
    installed code has it), built from VisitCount by one INSERT … SELECT … GROUP BY
    (as `attendance.totals.months_of`) when its sum differs from VisitCount's."""
    cursor.execute("SELECT to_regclass('attendance_visitmonth') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return "no monthly roll-up in this code"
    cursor.execute("SELECT (SELECT coalesce(sum(checked_in + walk_ins + manual), 0) FROM attendance_visitcount), "
                   "(SELECT coalesce(sum(checked_in + walk_ins + manual), 0) FROM attendance_visitmonth)")
    days, months = cursor.fetchone()
    if days == months:
        return "monthly roll-up up to date"
    cursor.execute("DELETE FROM attendance_visitmonth")
    cursor.execute(
        """
        INSERT INTO attendance_visitmonth (venue_id, month, category, audience, checked_in, walk_ins, manual)
        SELECT venue_id, date_trunc('month', day)::date, category, audience,
               sum(checked_in), sum(walk_ins), sum(manual)
        FROM attendance_visitcount
        GROUP BY venue_id, date_trunc('month', day)::date, category, audience
        """)
    cursor.execute("ANALYZE attendance_visitmonth")
    return "monthly roll-up rebuilt"


def people_and_targets(unit_code: str, year: int) -> tuple:
    """An officer of the measured province, a manager of its busiest venue, the plan's
    targets (load_plan_targets, when installed) and generated ones."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command, get_commands

    from targets.models import Indicator, Target
    from venues.models import AdminUnit, StaffRole, Venue

    unit = AdminUnit.objects.get(code=unit_code)
    User = get_user_model()
    officer, _ = User.objects.get_or_create(username="bench.officer")
    StaffRole.objects.get_or_create(user=officer, role=StaffRole.Role.OFFICER, admin_unit=unit, venue=None)
    venue = Venue.objects.filter(admin_unit__parent=unit, tier="provincial").order_by("pk").first() or \
        Venue.objects.filter(admin_unit__parent=unit).order_by("pk").first()
    manager, _ = User.objects.get_or_create(username="bench.manager")
    StaffRole.objects.get_or_create(user=manager, role=StaffRole.Role.MANAGER, venue=venue, admin_unit=None)
    plan = "not installed"
    if "load_plan_targets" in get_commands():
        try:
            call_command("load_plan_targets", plan="hung-yen", stdout=io.StringIO())
            plan = "loaded"
        except Exception as error:  # noqa: BLE001 - report, keep measuring
            plan = f"failed: {type(error).__name__}: {error}"[:120]
    source = "Bench: chỉ tiêu sinh tự động"
    for y in (year - 1, year):
        for n, (kind, tier, value) in enumerate([
            ("library", "provincial", 80_000), ("museum", "provincial", 15_000), ("library", "commune", 4_000),
            ("culture_centre", "commune", 5_000), ("library", "district", 10_000),
        ]):
            Target.objects.get_or_create(
                preset=f"bench:{unit_code}:{y}:visits:{n}",
                defaults={"admin_unit": unit, "venue_kind": kind, "venue_tier": tier, "year": y,
                          "indicator": Indicator.VISITS, "value": value, "per_venue": True,
                          "source_document": source})
        extra = [
            ("growth", Indicator.VISITS_GROWTH, 8, {}), ("lll", Indicator.LIFELONG_LEARNING_SHARE, 80, {}),
            ("digital", Indicator.DIGITAL_SHARE, 60, {}), ("total", Indicator.VISITS, 1_500_000, {}),
            ("digital-activities", Indicator.ACTIVITIES, 500, {"category": "digital"}),
        ]
        for key, indicator, value, more in extra:
            Target.objects.get_or_create(
                preset=f"bench:{unit_code}:{y}:{key}",
                defaults={"admin_unit": unit, "year": y, "indicator": indicator, "value": value,
                          "source_document": source, **more})
    return unit, venue, officer, manager, plan


# -- measuring ----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Row:
    def __init__(self, name, what):
        self.name, self.what = name, what
        self.timings, self.queries, self.note, self.aim = [], None, "", None

    def cells(self, baseline) -> str:
        if not self.timings:
            return f"| {self.name} | {self.what} | – | – | – | – | – | {self.note} |"
        p50 = statistics.median(self.timings)
        ratio = f"{p50 / baseline:.1f}×" if baseline else "–"
        aim = ""
        if self.aim:
            aim = f"aim p50 ≤ {self.aim} ms {'✅' if p50 <= self.aim else '❌'}"
        note = "; ".join(x for x in (aim, self.note) if x)
        return (f"| {self.name} | {self.what} | {p50:.1f} | {percentile(self.timings, 0.95):.1f} | "
                f"{percentile(self.timings, 0.99):.1f} | {self.queries if self.queries is not None else '–'} | "
                f"{ratio} | {note} |")


def timed(row: Row, call, *, requests: int, warmups: int, check=None) -> Row:
    """Time `call()` after warm-ups; count the queries of one more call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        for _ in range(warmups):
            result = call()
            if check:
                problem = check(result)
                if problem:
                    row.note = problem
                    return row
        for _ in range(requests):
            started = time.perf_counter()
            call()
            row.timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            call()
        row.queries = len(captured)
    except Exception as error:  # noqa: BLE001 - code being written may still break: report it
        row.timings = []
        row.note = f"error: {type(error).__name__}: {error}".splitlines()[0][:160]
    return row


def _page_ok(response):
    if response.status_code != 200:
        return f"HTTP {response.status_code}" + (" (view not there yet?)" if response.status_code == 404 else "")
    return None


def report_call(unit, year, user):
    """The annual report build as the Celery task does it (targets.report: a run,
    its data, the .xlsx and .csv files saved), or, if that is not there, whatever
    targets.report offers (data, then the spreadsheet). Returns (call, label)."""
    from targets import report

    if callable(getattr(report, "report_run_start", None)) and callable(getattr(report, "report_run_build", None)):
        def build():
            run = report.report_run_start(unit=unit, year=year, user=user)
            run = report.report_run_build(run_id=run.pk)
            if run.status != "done":
                raise RuntimeError(f"report run {run.status}: {run.error}")
            return run

        return build, f"`report_run_start` + `report_run_build` ({unit.code}, {year}): data, .xlsx and .csv saved"

    def data_and_sheet():
        data = report.report_data(unit, year)
        if callable(getattr(report, "report_xlsx", None)):
            report.report_xlsx(data)
        return data

    return data_and_sheet, f"`report_data` (+ `report_xlsx` if there) ({unit.code}, {year})"


def measure(args, info) -> str:
    import django
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from bench.urls import BASELINE_PATH
    from common.timeutil import to_local

    today = to_local(timezone.now()).date()
    year = today.year
    unit, venue, officer, manager, plan = people_and_targets(MEASURED_PROVINCE, year)
    officer_client, manager_client = Client(), Client()
    officer_client.force_login(officer)
    manager_client.force_login(manager)
    rows = []
    n, w = args.requests, args.warmups
    print(f"Measuring ({n} timed after {w} warm-ups each) in {unit.name}, venue {venue.name}")

    def select_one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    baseline = timed(Row("baseline", "`SELECT 1` through Django's connection"), select_one, requests=n, warmups=w)
    rows.append(baseline)
    with override_settings(ROOT_URLCONF="bench.urls"):
        page = timed(Row("baseline page", f"`{BASELINE_PATH}` (one-row view, logged in)"),
                     lambda: officer_client.get(BASELINE_PATH), requests=n, warmups=w, check=_page_ok)
        rows.append(page)
        for label, name, kwargs, client, params, aim in [
            ("province dashboard", "targets:unit_dashboard", {"code": unit.code}, officer_client,
             f"?year={year}", PROVINCE_AIM_MS),
            ("province dashboard, last year", "targets:unit_dashboard", {"code": unit.code}, officer_client,
             f"?year={year - 1}", PROVINCE_AIM_MS),
            ("province dashboard, compare", "targets:unit_dashboard", {"code": unit.code}, officer_client,
             f"?year={year}&compare=1", None),
            ("venue dashboard", "targets:venue_dashboard", {"slug": venue.slug}, manager_client,
             f"?year={year}", None),
        ]:
            try:
                url = reverse(name, kwargs=kwargs) + params
            except NoReverseMatch:
                row = Row(label, f"`{name}`")
                row.note = "not available (URL name not defined yet)"
                rows.append(row)
                continue
            row = Row(label, f"`{url}`")
            row.aim = aim
            rows.append(timed(row, lambda url=url, client=client: client.get(url), requests=n, warmups=w,
                              check=_page_ok))
            print(f"  {label}: {statistics.median(row.timings):.1f} ms" if row.timings else f"  {label}: {row.note}")
    try:
        from targets.indicators import unit_results
    except ImportError:
        row = Row("indicators", "`targets.indicators.unit_results`")
        row.note = "not available"
        rows.append(row)
    else:
        row = timed(Row("indicators", f"`unit_results({unit.code}, {year})`"), lambda: unit_results(unit, year),
                    requests=n, warmups=w)
        rows.append(row)
    try:
        call, what = report_call(unit, year - 1, officer)
    except (ImportError, AttributeError) as error:
        row = Row("annual report build", "`targets.report`")
        row.note = f"not available ({error})"
        rows.append(row)
    else:
        rows.append(timed(Row("annual report build", what), call, requests=max(3, n // 5), warmups=1))

    base = statistics.median(page.timings) if page.timings else None
    table = [
        "| what | how | p50 ms | p95 ms | p99 ms | SQL queries | p50 ÷ baseline page | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        *[r.cells(base) for r in rows],
    ]
    from attendance.models import CheckIn, Registration, VisitCount, WalkIn
    from events.models import Occurrence
    from venues.models import Venue

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    in_unit = Venue.objects.filter(admin_unit__parent=unit).count()
    counts = {
        "venues": Venue.objects.count(), "occurrences": Occurrence.objects.count(),
        "registrations": Registration.objects.count(), "check-ins": CheckIn.objects.count(),
        "walk-ins": WalkIn.objects.count(), "visit-count rows": VisitCount.objects.count(),
    }
    try:
        from attendance.models import VisitMonth
    except ImportError:
        pass
    else:
        counts["visit-month rows"] = VisitMonth.objects.count()
    header = [
        "# National scale: province dashboard, indicators and annual report",
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}; PostgreSQL, database `{args.database}` ({size}); "
        f"Python {platform.python_version()}, Django {django.get_version()}; DEBUG off, in-process test client; "
        f"machine: {os.cpu_count()} CPUs, shared with other work",
        f"- asked: {args.venues:,} venues, {args.years} years, ~{args.checkins:,} check-ins; "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
        f"- measured province: {unit.name} ({unit.code}), {in_unit} venues; plan targets (load_plan_targets): {plan}; "
        "plus generated unit targets (visits per venue by kind/tier, total visits, growth, shares, digital activities)",
        f"- generated: {info.get('generated', '')}",
        "- every raw row is there: registrations (one person each, ~5 % cancelled), a ticket each, "
        "check-ins for ~80 % of the confirmed, walk-in tallies; visit totals built from them by one "
        "INSERT … SELECT … GROUP BY with the semantics of `attendance.totals.recount` (and their monthly "
        "roll-up `VisitMonth` from them, as `months_of`)",
        f"- method: {w} warm-ups, then {n} timed calls each (the report: fewer); queries counted on one more call; "
        "no page caches its figures: every request computes them",
        "",
    ]
    return "\n".join(header) + "\n" + "\n".join(table) + "\n"


# -- main -------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    try:
        exists = _exists(args)
    except Exception as error:  # noqa: BLE001
        print(f"PostgreSQL is unreachable at {args.server}: {error}", file=sys.stderr)
        return SKIPPED
    params = {"venues": args.venues, "years": args.years, "checkins": args.checkins, "version": 1}
    if exists and args.regenerate:
        print(f"Dropping {args.database} (--regenerate)")
        _admin(args, f'DROP DATABASE "{args.database}" WITH (FORCE)')
        exists = False
    if not exists:
        _admin(args, f'CREATE DATABASE "{args.database}" TEMPLATE template0 ENCODING \'UTF8\'')

    from bench.__main__ import configure

    workdir = tempfile.mkdtemp(prefix="bench-national-")
    configure(_url(args.server, args.database), workdir)
    # The report files go to a temporary directory, removed at the end.
    os.environ["MEDIA_ROOT"] = os.path.join(workdir, "media")
    os.environ["PRIVATE_MEDIA_ROOT"] = os.path.join(workdir, "private-media")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    try:
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {PARAMS_TABLE} (params jsonb, info jsonb)")
            cursor.execute(f"SELECT params, info FROM {PARAMS_TABLE}")
            stored = cursor.fetchone()
        # Django's PostgreSQL backend hands jsonb back as text.
        stored = stored and [json.loads(v) if isinstance(v, str) else v for v in stored]
        if stored and stored[0] == params:
            info = stored[1]
            print(f"Reusing {args.database}: generated with {params} ({info.get('generated')})")
        else:
            if stored or _has_rows():
                connection.close()
                print(f"{args.database} holds other data than asked; generating it again")
                _admin(args, f'DROP DATABASE "{args.database}" WITH (FORCE)')
                _admin(args, f'CREATE DATABASE "{args.database}" TEMPLATE template0 ENCODING \'UTF8\'')
                call_command("migrate", verbosity=0, interactive=False)
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE TABLE IF NOT EXISTS {PARAMS_TABLE} (params jsonb, info jsonb)")
            print(f"Generating {args.venues:,} venues, {args.years} years, ~{args.checkins:,} check-ins "
                  f"in {args.database}")
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                info = generate(args, cursor, now=timezone.now())
            seconds = time.perf_counter() - started
            info["generated"] = f"{time.strftime('%Y-%m-%d %H:%M')} in {seconds / 60:.1f} min"
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {PARAMS_TABLE}")
                cursor.execute(f"INSERT INTO {PARAMS_TABLE} VALUES (%s, %s)", [json.dumps(params), json.dumps(info)])
        with connection.cursor() as cursor:
            print(f"Kept totals: {visit_months_refresh(cursor)}")
            # As autovacuum does after a bulk load (outside any transaction): the visibility
            # map lets the covering indexes of the totals and the dates be read without the table.
            for table in ("attendance_visitmonth", "attendance_visitcount", "events_occurrence"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        report = measure(args, info)
        print()
        print(report)
        args.results.parent.mkdir(exist_ok=True)
        args.results.write_text(report, encoding="utf-8")
        print(f"Written to {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
        return 0
    finally:
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.drop:
            _admin(args, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            print(f"Dropped {args.database}")


def _has_rows() -> bool:
    from venues.models import Venue

    return Venue.objects.exists()


if __name__ == "__main__":
    sys.exit(main())
