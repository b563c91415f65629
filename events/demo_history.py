"""Demo history for `seed_demo`: what the demo venues saw over the past year and
the year before, so dashboards and reports show real shapes on first run.

- Dates that take registrations get registrations (confirmed, a few cancelled,
  a waiting list where demand passed the seats, school groups where allowed),
  each with its ticket, and check-ins for 72–88 % of the confirmed (the rest
  are no-shows); groups are admitted with partial headcounts. Upcoming dates of
  the next month get registrations only.
- Dates without registration are counted at the door (walk-ins by audience) or
  entered by hand afterwards (some corrected once).
- Every venue counts walk-ins by audience on its open days, from 1 January of
  last year to today.
- Seasonality: weekends busier, Tết closed and quiet around it, summer up for
  children (school libraries closed), peaks on 21/4 (books), 18/5 (museums),
  23/11 (heritage) and the lifelong-learning week from 1/10; closed on public
  holidays except museums and culture centres; ~8 % growth a year.

Rows are bulk-created raw (what the services would have written), then the kept
totals (`VisitCount`, and its monthly roll-up `VisitMonth`) are built once from a
recount of those rows (`attendance.totals.recount`, `months_of`), so they match
by construction (`attendance.totals.differences()` is empty). Personal data of
registrations whose date ended more than PERSONAL_DATA_RETENTION_DAYS ago is
erased as the nightly job would have done. Counts are deterministic (seeded
random); ticket secrets are real random secrets.
"""

import datetime as dt
import random
import secrets
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, fields

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum

from attendance.models import CheckIn, ManualAttendance, Registration, Ticket, VisitCount, WalkIn, secret_digest
from attendance.services import CONSENT_VERSION
from attendance.totals import rebuild, recount

try:  # the monthly roll-up of the kept totals
    from attendance.models import VisitMonth
    from attendance.totals import months_of
except ImportError:  # pragma: no cover - before the roll-up existed
    VisitMonth = months_of = None
from common.timeutil import local_datetime, to_local
from events.models import Occurrence, Programme
from venues.models import StaffRole, Venue

SEED = 20_26_05
MARK = "demo-"  # prefix of the demo's scan and walk-in client ids
BATCH = 2000

K, T = Venue.Kind, Venue.Tier
# First day of the lunar new year.
TET = {2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3)}
MONTH = {1: 0.9, 2: 0.9, 3: 1.0, 4: 1.05, 5: 1.05, 6: 1.2, 7: 1.25, 8: 1.15, 9: 0.95, 10: 1.05, 11: 1.0, 12: 0.95}
GROWTH = 0.08  # a year

# Walk-ins on an ordinary weekday, and the audience mix (children, adults, elderly).
LEVEL = {
    (K.LIBRARY, T.PROVINCIAL): 110, (K.LIBRARY, T.DISTRICT): 28, (K.LIBRARY, T.COMMUNE): 12,
    (K.LIBRARY, T.SCHOOL): 45, (K.LIBRARY, T.UNIVERSITY): 90, (K.LIBRARY, T.ARMED_FORCES): 14,
    (K.LIBRARY, T.PRIVATE): 10, (K.MUSEUM, T.PROVINCIAL): 95, (K.MUSEUM, T.COMMUNE): 5, (K.MUSEUM, T.PRIVATE): 14,
    (K.CULTURE_CENTRE, T.PROVINCIAL): 80, (K.CULTURE_CENTRE, T.DISTRICT): 35, (K.CULTURE_CENTRE, T.COMMUNE): 15,
    (K.LEARNING_CENTRE, T.COMMUNE): 7, (K.OTHER, T.COMMUNE): 9,
}
MIX = {
    T.SCHOOL: (0.9, 0.1, 0.0), T.UNIVERSITY: (0.0, 1.0, 0.0), T.ARMED_FORCES: (0.0, 1.0, 0.0),
    K.MUSEUM: (0.3, 0.55, 0.15), K.CULTURE_CENTRE: (0.25, 0.45, 0.3), K.LEARNING_CENTRE: (0.1, 0.5, 0.4),
    K.LIBRARY: (0.35, 0.45, 0.2), K.OTHER: (0.1, 0.5, 0.4),
}
AUDIENCES = (WalkIn.Audience.CHILDREN, WalkIn.Audience.ADULTS, WalkIn.Audience.ELDERLY)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Dương", "Lương", "Đào", "Đinh",
          "Phan", "Trịnh", "Lại", "Tô", "Hà", "Mai"]
MIDDLE = ["Văn", "Thị", "Minh", "Đức", "Thu", "Ngọc", "Quang", "Thanh", "Hữu", "Thùy", "Xuân", "Hải", "Kim", "Bảo"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh", "Lan", "Linh",
         "Long", "Mai", "Nam", "Nga", "Ngọc", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang",
         "Trung", "Tú", "Tuấn", "Vy", "Yến"]
PHONE_PREFIXES = ["90", "91", "93", "94", "96", "97", "98", "86", "88", "32", "33", "35", "36", "38", "39", "70",
                  "76", "77", "79", "81", "83", "84", "85"]
SCHOOLS = ["Trường THCS {c}", "Trường Tiểu học {c}", "Trường THPT {c}", "Trường Mầm non {c}", "Chi đoàn thanh niên {c}",
           "Hội Người cao tuổi {c}", "Câu lạc bộ Đọc sách {c}"]


@dataclass
class HistoryCounts:
    registrations: int = 0
    tickets: int = 0
    checkins: int = 0
    no_shows: int = 0
    walkins: int = 0
    manual: int = 0
    visit_rows: int = 0
    visits: int = 0
    erased: int = 0

    def __str__(self):
        return ", ".join(f"{self.__dict__[f.name]} {f.name.replace('_', ' ')}" for f in fields(self))


def history_loaded() -> bool:
    return WalkIn.objects.filter(client_id__startswith=MARK).exists()


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def tet(year: int) -> dt.date | None:
    return dt.date(year, *TET[year]) if year in TET else None


def season(day: dt.date, venue: Venue, today: dt.date) -> float:
    """How busy `venue` is on `day` relative to an ordinary weekday (0 = closed)."""
    kind, tier, weekday = venue.kind, venue.tier, day.weekday()
    from_tet = (day - tet(day.year)).days if tet(day.year) else 99
    if tet(day.year + 1) and day.month == 12:
        from_tet = (day - tet(day.year + 1)).days
    if -2 <= from_tet <= 3:
        return 0.0
    holiday = (day.month, day.day) in {(1, 1), (4, 30), (5, 1), (9, 2)}
    if holiday and kind not in (K.MUSEUM, K.CULTURE_CENTRE):
        return 0.0
    # Weekly closures, from the demo's opening hours (open on the days the plans ask them to mark).
    marked = (day.month, day.day) in {(4, 21), (5, 18), (11, 23)}
    if tier in (T.SCHOOL, T.ARMED_FORCES) and weekday >= 5:
        return 0.0
    if tier == T.DISTRICT and kind == K.LIBRARY and weekday in (0, 6) and not marked:
        return 0.0
    if kind == K.MUSEUM and tier == T.PROVINCIAL and weekday == 0 and not (holiday or marked):
        return 0.0
    if tier == T.UNIVERSITY and weekday == 6:
        return 0.0
    if tier == T.SCHOOL and (day.month in (6, 7) or (day.month == 8 and day.day < 20)):
        return 0.0  # summer holidays
    factor = MONTH[day.month]
    if tier in (T.SCHOOL, T.UNIVERSITY):
        factor = 1.0 if day.month not in (1, 2, 8) else 0.7
    if weekday >= 5 and tier not in (T.SCHOOL, T.UNIVERSITY, T.ARMED_FORCES):
        factor *= 1.4
    if tier == T.PRIVATE and weekday < 5:
        factor *= 0.25
    if 4 <= from_tet <= 10:
        factor *= 0.6
    elif -12 <= from_tet <= -3:
        factor *= 0.75
    if holiday:
        factor *= 2.0
    md = (day.month, day.day)
    if kind == K.LIBRARY and dt.date(day.year, 4, 19) <= day <= dt.date(day.year, 4, 23):
        factor *= 2.6 if md == (4, 21) else 1.6
    if kind == K.MUSEUM and md == (5, 18):
        factor *= 3.0
    if kind == K.MUSEUM and md == (11, 23):
        factor *= 2.6
    elif kind == K.CULTURE_CENTRE and md == (11, 23):
        factor *= 1.5
    if day.month == 10 and day.day <= 7:
        factor *= 1.35  # lifelong-learning week
    return factor * (1 + GROWTH) ** (-(today - day).days / 365)


class _Names:
    """A pool of citizens (name, phone), so people come back and find several tickets."""

    def __init__(self, rng: random.Random, size: int = 3000):
        self.people = []
        seen = set()
        while len(self.people) < size:
            phone = "+84" + rng.choice(PHONE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7))
            if phone in seen:
                continue
            seen.add(phone)
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            self.people.append((name, phone))

    def sample(self, rng: random.Random, n: int):
        return rng.sample(self.people, min(n, len(self.people)))


@contextmanager
def _keep_given_timestamps(*models):
    """bulk_create would stamp auto_now_add fields with now; the history has its own times."""
    changed = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now_add", False):
                f.auto_now_add = False
                changed.append(f)
    try:
        yield
    finally:
        for f in changed:
            f.auto_now_add = True


def _noise(rng: random.Random) -> float:
    return rng.uniform(0.7, 1.3)


class History:
    def __init__(self, *, venues: list[Venue], now: dt.datetime):
        self.rng = random.Random(SEED)
        self.now = now
        self.today = to_local(now).date()
        self.first_day = dt.date(self.today.year - 1, 1, 1)
        self.events_from = self.today - dt.timedelta(days=365)
        self.venues = sorted(venues, key=lambda v: v.slug)
        self.people = _Names(self.rng)
        self.counts = HistoryCounts()
        self.pending_walkins: list[WalkIn] = []  # door walk-ins on dates with registration
        self.seats_changed: list[Occurrence] = []
        self.retention = dt.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
        User = get_user_model()
        self.admin = User.objects.filter(username="admin").first()
        self.staff = defaultdict(list)  # venue id -> users (door staff first)
        roles = StaffRole.objects.filter(venue__in=self.venues).select_related("user").order_by("-role", "pk")
        for role in roles:
            self.staff[role.venue_id].append(role.user)

    def user_for(self, venue_id):
        users = self.staff.get(venue_id)
        return users[0] if users else None

    # -- the whole history -----------------------------------------------------

    def create(self) -> HistoryCounts:
        occurrences = list(
            Occurrence.objects.filter(
                venue__in=self.venues,
                start__gte=local_datetime(self.events_from, dt.time()),
                start__lt=self.now + dt.timedelta(days=30),
                cancelled=False,
                programme__status=Programme.Status.PUBLISHED,
            )
            .select_related("programme", "venue", "venue__admin_unit")
            .order_by("start", "pk")
        )
        registrations = []
        walkins, manual = [], []
        for occurrence in occurrences:
            if occurrence.programme.registration_required:
                self._registrations(occurrence, registrations)
            elif occurrence.start < self.now:
                self._counted_at_the_door(occurrence, walkins, manual)
        self._venue_days(walkins)
        self._write(registrations, walkins, manual)
        self._visit_counts()
        return self.counts

    # -- registrations, tickets and check-ins ---------------------------------------

    def _registrations(self, occurrence: Occurrence, out: list):
        rng, programme, venue = self.rng, occurrence.programme, occurrence.venue
        day = to_local(occurrence.start).date()
        busy = max(season(day, venue, self.today), 0.3)
        capacity = occurrence.capacity
        if capacity:
            demand = capacity * min(1.6, rng.uniform(0.35, 1.05) * busy ** 0.6)
        else:
            demand = rng.uniform(8, 35) * busy
        if occurrence.start > self.now:
            ahead = (occurrence.start - self.now).days
            demand *= max(0.0, 1 - ahead / 32)
        demand = int(demand)
        if demand <= 0:
            return
        max_party = programme.max_party_size or 4
        opens = dt.timedelta(days=programme.registration_opens_days or 30)
        past = occurrence.start < self.now
        erased = past and occurrence.end < self.now - self.retention
        show_rate = rng.uniform(0.72, 0.88)
        people = iter(self.people.sample(rng, demand + 10))
        commune = venue.admin_unit.name.removeprefix("Xã ").removeprefix("Phường ")
        taken = 0
        queue = False  # once someone waits, nobody behind them gets a seat
        requested = 0
        while requested < demand:
            group = programme.group_bookings and rng.random() < 0.5
            if group:
                party = rng.randint(min(15, max_party), max_party)
            else:
                party = min(max_party, rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0])
            requested += party
            name, phone = next(people, (None, None))
            if name is None:
                break
            created = occurrence.start - dt.timedelta(seconds=rng.uniform(3600, opens.total_seconds()))
            created = min(created, self.now - dt.timedelta(minutes=rng.uniform(5, 600)))  # nobody registers ahead of now
            status = Registration.Status.CONFIRMED
            if queue or (capacity and taken + party > capacity):
                if rng.random() < 0.6:
                    continue  # saw it full and did not queue
                status = Registration.Status.WAITING
                queue = True
            elif rng.random() < 0.07:
                status = Registration.Status.CANCELLED
            elif group and programme.group_approval_required and rng.random() < 0.1:
                status = Registration.Status.DECLINED
            if status == Registration.Status.CONFIRMED:
                taken += party
            registration = Registration(
                occurrence=occurrence,
                kind=Registration.Kind.GROUP if group else Registration.Kind.INDIVIDUAL,
                status=status,
                source=rng.choices(("online", "desk", "api"), weights=(85, 12, 3))[0],
                full_name=name,
                phone=phone,
                email=f"{phone[3:]}@example.vn" if rng.random() < 0.15 else "",
                party_size=party,
                organisation=rng.choice(SCHOOLS).format(c=commune) if group else "",
                sms_opt_in=rng.random() < 0.9,
                consent_at=created,
                consent_version=CONSENT_VERSION,
                created_at=created,
                confirmed_at=created if status == Registration.Status.CONFIRMED else None,
                cancelled_at=(
                    min(created + (occurrence.start - created) * rng.random(), self.now)
                    if status in (Registration.Status.CANCELLED, Registration.Status.DECLINED) else None
                ),
            )
            if erased:
                registration.full_name = registration.phone = registration.email = registration.organisation = ""
                registration.erased_at = min(self.now, local_datetime(
                    to_local(occurrence.end + self.retention).date() + dt.timedelta(days=1), dt.time(2, 0)))
                self.counts.erased += 1
            scan = None
            if past and status == Registration.Status.CONFIRMED:
                if group:
                    shows = rng.random() < 0.95
                    headcount = max(1, party - rng.choice((0, 0, 1, 2, 3, 5)))
                else:
                    shows = rng.random() < show_rate
                    headcount = party if rng.random() < 0.93 else max(1, party - 1)
                if shows:
                    scanned = occurrence.start + dt.timedelta(minutes=rng.uniform(-25, 15))
                    scan = (min(scanned, self.now), headcount, rng.random() < 0.02, rng.random() < 0.08)
                else:
                    self.counts.no_shows += 1
            out.append((registration, scan))
        if taken:
            occurrence.seats_taken += taken
            self.seats_changed.append(occurrence)
        if past and capacity and rng.random() < 0.2 and taken < capacity:
            # A few people without a ticket let in at the door.
            self._walkin(occurrence.venue, to_local(occurrence.start), rng.randint(1, max(1, (capacity - taken) // 3)),
                         self._audience(venue), occurrence, self.pending_walkins)

    # -- dates without registration -----------------------------------------------------

    def _audience(self, venue: Venue) -> str:
        mix = MIX.get(venue.tier) or MIX[venue.kind]
        return self.rng.choices(AUDIENCES, weights=mix)[0]

    def _walkin(self, venue, at: dt.datetime, count: int, audience: str, occurrence, out: list):
        # (venue, occurrence, local day, count, audience, recorded at, offline, user): inserted raw.
        at = min(at, self.now)
        user = self.user_for(venue.pk)
        out.append((
            venue.pk, occurrence.pk if occurrence else None, to_local(at).date(),
            max(1, min(count, settings.WALKIN_MAX_COUNT)), audience, at, self.rng.random() < 0.05,
            user.pk if user else None,
        ))

    def _counted_at_the_door(self, occurrence: Occurrence, walkins: list, manual: list):
        rng, venue = self.rng, occurrence.venue
        start = to_local(occurrence.start)
        busy = season(start.date(), venue, self.today)
        if busy == 0:
            busy = 0.3
        size = occurrence.capacity or (60 if occurrence.end - occurrence.start > dt.timedelta(hours=5) else 25)
        count = max(1, int(size * rng.uniform(0.25, 0.75) * busy ** 0.7))
        if rng.random() < 0.55:
            # Counted at the door, by audience.
            for audience, share in zip(AUDIENCES, MIX.get(venue.tier) or MIX[venue.kind], strict=True):
                n = round(count * share)
                if n:
                    at = start + dt.timedelta(minutes=rng.uniform(0, 30))
                    self._walkin(venue, at, n, audience, occurrence, walkins)
        else:
            entered = min(occurrence.end + dt.timedelta(hours=rng.uniform(0.5, 40)), self.now)
            user = self.user_for(venue.pk) or self.admin
            if rng.random() < 0.15:
                # First entered wrong, then corrected.
                manual.append(ManualAttendance(
                    occurrence=occurrence, count=count + rng.choice((-5, 5, 10)) if count > 5 else count + 3,
                    entered_by=user, entered_at=entered, superseded_at=entered + dt.timedelta(minutes=10),
                ))
                entered += dt.timedelta(minutes=10)
            manual.append(ManualAttendance(
                occurrence=occurrence, count=count, entered_by=user, entered_at=entered,
                note="Đếm theo sổ ký tên" if rng.random() < 0.5 else "",
            ))

    # -- the venues' own days -----------------------------------------------------

    def _venue_days(self, walkins: list):
        rng = self.rng
        day = self.first_day
        while day <= self.today:
            for venue in self.venues:
                busy = season(day, venue, self.today)
                if not busy:
                    continue
                level = LEVEL.get((venue.kind, venue.tier), 10) * (0.8 + (_stable(venue.slug) % 40) / 100)
                total = level * busy * _noise(rng)
                if day < self.events_from:
                    total *= 1.1  # before the demo's programmes, their public came as walk-ins
                opens = local_datetime(day, dt.time(8, 0))
                for audience, share in zip(AUDIENCES, MIX.get(venue.tier) or MIX[venue.kind], strict=True):
                    n = int(total * share + rng.random())
                    if not n:
                        continue
                    # Counted as the day goes: two entries on busier days of the past year.
                    parts = (n,) if n < 8 or day < self.events_from else (n // 2, n - n // 2)
                    for k, part in enumerate(parts):
                        at = opens + dt.timedelta(hours=rng.uniform(0, 4) + 4 * k)
                        if at > self.now:
                            continue
                        self._walkin(venue, at, part, audience, None, walkins)
            day += dt.timedelta(days=1)

    # -- writing ------------------------------------------------------------------

    def _write(self, registrations: list, walkins: list, manual: list):
        walkins.extend(self.pending_walkins)
        with _keep_given_timestamps(Registration, Ticket):
            Registration.objects.bulk_create([r for r, _ in registrations], batch_size=BATCH)
            tickets = []
            for registration, scan in registrations:
                secret = secrets.token_urlsafe(20)
                ticket = Ticket(registration=registration, secret=secret, digest=secret_digest(secret),
                                admitted=scan[1] if scan else 0, created_at=registration.created_at)
                tickets.append(ticket)
            Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        checkins = []
        for ticket, (registration, scan) in zip(tickets, registrations, strict=True):
            if not scan:
                continue
            scanned, headcount, duplicate, offline = scan
            occurrence = registration.occurrence
            user = self.user_for(occurrence.venue_id)
            row = [None, ticket.pk, occurrence.pk, occurrence.venue_id, CheckIn.Result.OK, headcount, scanned,
                   scanned, offline, "demo-door", user.pk if user else None]
            checkins.append(row)
            if duplicate:
                again = min(scanned + dt.timedelta(minutes=2), self.now)
                checkins.append([None, ticket.pk, occurrence.pk, occurrence.venue_id, CheckIn.Result.ALREADY, 0,
                                 again, again, offline, "demo-door", row[-1]])
        for n, row in enumerate(checkins):
            row[0] = f"{MARK}c{n}"
        _insert(CheckIn, ["scan_id", "ticket", "occurrence", "venue", "result", "headcount", "scanned_at",
                          "received_at", "offline", "device", "user"], checkins)
        _insert(WalkIn, ["client_id", "venue", "occurrence", "day", "count", "audience", "recorded_at",
                         "received_at", "offline", "device", "user"],
                [(f"{MARK}w{n}", v, o, d, c, a, at, at, off, "demo-door", u)
                 for n, (v, o, d, c, a, at, off, u) in enumerate(walkins)])
        ManualAttendance.objects.bulk_create(manual, batch_size=BATCH)
        Occurrence.objects.bulk_update(self.seats_changed, ["seats_taken"], batch_size=BATCH)
        self.counts.registrations = len(registrations)
        self.counts.tickets = len(tickets)
        self.counts.checkins = len(checkins)
        self.counts.walkins = len(walkins)
        self.counts.manual = len(manual)

    def _visit_counts(self):
        """The kept totals, built once from a recount of the raw rows."""
        if VisitCount.objects.exists() or (VisitMonth is not None and VisitMonth.objects.exists()):
            rebuild()  # someone counted on the demo already: reconcile row by row
        else:
            totals = recount()
            occurrence_ids = {key[2] for key in totals if key[2] is not None}
            programmes = dict(
                Occurrence.objects.filter(pk__in=occurrence_ids).values_list("pk", "programme_id")
            )
            categories = dict(Programme.objects.filter(occurrences__pk__in=occurrence_ids).values_list("pk", "category"))
            rows = []
            for (venue_id, day, occurrence_id, audience), (checked_in, walk_ins, manual) in sorted(
                totals.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0, kv[0][3])
            ):
                if not (checked_in or walk_ins or manual):
                    continue
                programme_id = programmes.get(occurrence_id)
                category = categories.get(programme_id, "") if programme_id else ""
                rows.append((venue_id, day, occurrence_id, programme_id, category, audience,
                             checked_in, walk_ins, manual))
            _insert(VisitCount, ["venue", "day", "occurrence", "programme", "category", "audience", "checked_in",
                                 "walk_ins", "manual"], rows)
            if VisitMonth is not None:
                # The monthly roll-up the year and province figures read, from the same recount.
                months = [
                    (*key, *counters) for key, counters in sorted(months_of(totals).items()) if any(counters)
                ]
                _insert(VisitMonth, ["venue", "month", "category", "audience", "checked_in", "walk_ins", "manual"],
                        months)
        self.counts.visit_rows = VisitCount.objects.count()
        self.counts.visits = sum(VisitCount.objects.aggregate(
            a=Sum("checked_in"), b=Sum("walk_ins"), c=Sum("manual")).values(), start=0) if self.counts.visit_rows else 0


def _insert(model, names: list[str], rows: list) -> None:
    """INSERT raw rows (tuples in the order of `names`) with executemany: the ORM's
    bulk_create costs more than the database here. Values are adapted per column."""
    if not rows:
        return
    ops = connection.ops
    columns, adapters = [], []
    for name in names:
        f = model._meta.get_field(name)
        columns.append(ops.quote_name(f.column))
        kind = f.get_internal_type()
        if kind == "DateTimeField":
            adapters.append(ops.adapt_datetimefield_value)
        elif kind == "DateField":
            adapters.append(ops.adapt_datefield_value)
        else:
            adapters.append(None)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        ops.quote_name(model._meta.db_table), ", ".join(columns), ", ".join(["%s"] * len(columns))
    )
    with connection.cursor() as cursor:
        for first in range(0, len(rows), 10 * BATCH):
            cursor.executemany(sql, [
                [adapt(v) if adapt and v is not None else v for adapt, v in zip(adapters, row, strict=True)]
                for row in rows[first:first + 10 * BATCH]
            ])


def history_create(*, venues: list[Venue], now: dt.datetime) -> HistoryCounts:
    return History(venues=venues, now=now).create()


# -- targets ----------------------------------------------------------------------------

DEMO_SOURCE = "Dữ liệu minh hoạ"
# How ambitious each venue's target is against what it does: some are met, some not.
AMBITION = (0.8, 0.9, 0.97, 1.05, 1.12, 1.25)


def _nice(value: float) -> int:
    step = 100 if value >= 2000 else 10
    return max(step, int(round(value / step)) * step)


def demo_targets(*, venues: list[Venue], today: dt.date) -> int:
    """A visits target for every demo venue, this year and last, scaled to what the
    venue does in the demo (last year's visits, this year's pace), so the
    dashboards show targets met, on track and behind. Keyed on `preset`, so a
    second run creates nothing. Returns targets created."""
    from targets.models import Indicator, Target

    year = today.year
    start = dt.date(year, 1, 1)
    elapsed = max(1, (today - start).days + 1) / ((dt.date(year + 1, 1, 1) - start).days)
    visits = defaultdict(int)
    for venue_id, day_year, n in _visits_by_year([v.pk for v in venues], year - 1, year):
        visits[(venue_id, day_year)] += n
    existing = set(Target.objects.filter(preset__startswith=MARK).values_list("preset", flat=True))
    created = []
    for venue in venues:
        ambition = AMBITION[_stable(venue.slug) % len(AMBITION)]
        for y in (year - 1, year):
            preset = f"{MARK}visits:{venue.slug}:{y}"
            if preset in existing:
                continue
            done = visits[(venue.pk, y)]
            expected = done if y < year else done / elapsed
            value = _nice(expected * (ambition if y == year else AMBITION[(_stable(venue.slug) + 2) % len(AMBITION)]))
            created.append(Target(
                venue=venue, year=y, indicator=Indicator.VISITS, value=value, source_document=DEMO_SOURCE,
                preset=preset,
            ))
    created += _unit_targets(venues, year, visits, elapsed, existing)
    Target.objects.bulk_create(created)
    return len(created)


def _unit_targets(venues: list[Venue], year: int, visits: dict, elapsed: float, existing: set) -> list:
    """This year's targets for the demo province, shaped like the plan's (whose own
    targets are for its milestone years), so its dashboard has indicators now."""
    from targets.models import Indicator, Target

    province = venues[0].admin_unit.parent
    total = sum(n for (_, y), n in visits.items() if y == year) / elapsed
    specs = [
        ("visits", {"indicator": Indicator.VISITS, "value": _nice(total * 1.05)}),
        ("growth", {"indicator": Indicator.VISITS_GROWTH, "value": 8, "venue_kind": K.LIBRARY}),
        ("lll", {"indicator": Indicator.LIFELONG_LEARNING_SHARE, "value": 90}),
        ("digital", {"indicator": Indicator.DIGITAL_SHARE, "value": 60}),
        ("displays", {"indicator": Indicator.ACTIVITIES, "value": 2, "value_max": 4, "category": "exhibition",
                      "venue_kind": K.LIBRARY, "venue_tier": T.PROVINCIAL, "per_venue": True}),
    ]
    created = []
    for key, fields_ in specs:
        preset = f"{MARK}unit:{province.code}:{year}:{key}"
        if preset not in existing:
            created.append(Target(admin_unit=province, year=year, source_document=DEMO_SOURCE, preset=preset,
                                  **fields_))
    return created


def _visits_by_year(venue_ids, first: int, last: int):
    rows = (
        VisitCount.objects.filter(venue_id__in=venue_ids, day__gte=dt.date(first, 1, 1), day__lt=dt.date(last + 1, 1, 1))
        .values_list("venue_id", "day__year")
        .annotate(n=Sum("checked_in") + Sum("walk_ins") + Sum("manual"))
        .order_by()
    )
    return list(rows)
