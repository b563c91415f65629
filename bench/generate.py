"""Bulk data for the benchmark: venues across the whole map, each with weekly
programmes running for a year around today.

Rows are built in bulk, but in the shape events.services gives them: the
schedule is derived by the service's own helpers (django-scheduler Event + shared
Rule, first start aligned to the rule, end of series), the dates are expanded
with the rrule django-scheduler builds for the event, and the Occurrence rows are
what `occurrences_materialise` would write. `shape_check()` proves it on one
programme before anything is measured. Cancellations and moves go through the
services, so django-scheduler records them as it does for staff.
"""

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from schedule.models import Calendar, Event

from common.text import unaccent
from common.timeutil import local_datetime, local_zone, to_local
from events.models import Occurrence, Programme
from events.services import (
    _apply_schedule,
    _horizon_end,
    _search_text,
    occurrence_cancel,
    occurrence_move,
    programme_create,
)
from venues.management.commands.load_admin_units import admin_units_load
from venues.models import AdminUnit, Venue

VENUES_PER_SCALE = 200
BATCH = 2000

KINDS = [
    # (kind, tier, name prefix), weighted by how common they are
    (Venue.Kind.LIBRARY, Venue.Tier.COMMUNE, "Thư viện"),
    (Venue.Kind.LIBRARY, Venue.Tier.COMMUNE, "Thư viện"),
    (Venue.Kind.CULTURE_CENTRE, Venue.Tier.COMMUNE, "Nhà văn hóa"),
    (Venue.Kind.LEARNING_CENTRE, Venue.Tier.COMMUNE, "Trung tâm học tập cộng đồng"),
    (Venue.Kind.LIBRARY, Venue.Tier.DISTRICT, "Thư viện khu vực"),
    (Venue.Kind.LIBRARY, Venue.Tier.SCHOOL, "Thư viện Trường THCS"),
    (Venue.Kind.MUSEUM, Venue.Tier.PROVINCIAL, "Bảo tàng"),
    (Venue.Kind.LIBRARY, Venue.Tier.UNIVERSITY, "Thư viện Trường Cao đẳng"),
    (Venue.Kind.LIBRARY, Venue.Tier.PRIVATE, "Tủ sách tư nhân"),
]

TITLES = [
    ("Câu lạc bộ Đọc sách thiếu nhi", "club", ("children", "families")),
    ("Giờ kể chuyện cho bé", "reading", ("children",)),
    ("Lớp kỹ năng số cho người cao tuổi", "digital", ("elderly",)),
    ("Hướng dẫn dịch vụ công trực tuyến", "digital", ("adults", "elderly")),
    ("Câu lạc bộ Tiếng Anh cuối tuần", "club", ("students", "adults")),
    ("Lớp vẽ thiếu nhi", "workshop", ("children",)),
    ("Câu lạc bộ Thơ", "club", ("adults", "elderly")),
    ("Tham quan có hướng dẫn cho lớp học", "experiential", ("students",)),
    ("Sinh hoạt chuyên đề pháp luật", "talk", ("adults",)),
    ("Câu lạc bộ Khoa học vui STEM", "workshop", ("children", "students")),
    ("Lớp tin học văn phòng", "digital", ("adults",)),
    ("Câu lạc bộ Hát dân ca", "club", ("adults", "elderly")),
]
WEEKDAY_SETS = [("SA",), ("SU",), ("TU", "TH"), ("MO", "WE"), ("WE",), ("FR",), ("SA", "SU"), ("MO", "WE", "FR")]
HOURS = [dt.time(7, 30), dt.time(8, 30), dt.time(9, 0), dt.time(14, 0), dt.time(15, 30), dt.time(19, 0)]


@dataclass(frozen=True)
class SeriesSpec:
    title: str
    description: str
    category: str
    start: dt.datetime
    end: dt.datetime
    weekdays: tuple[str, ...]
    repeat_until: dt.date
    capacity: int | None
    audiences: tuple[str, ...]


@dataclass
class Generated:
    venues: int = 0
    programmes: int = 0
    occurrences: int = 0
    cancelled: int = 0
    moved: int = 0
    seconds: float = 0.0
    steps: list = field(default_factory=list)


def build_event(spec: SeriesSpec, venue: Venue) -> Event:
    """The django-scheduler Event programme_create would save (unsaved here)."""
    event = Event(title=spec.title, description=spec.description, calendar_id=venue.calendar_id)
    _apply_schedule(
        event, start=spec.start, end=spec.end, recurrence=Programme.Recurrence.WEEKLY,
        weekdays=list(spec.weekdays), nth=None, repeat_until=spec.repeat_until,
    )
    return event


def build_programme(spec: SeriesSpec, venue: Venue, event: Event, now: dt.datetime) -> Programme:
    return Programme(
        venue=venue,
        event=event,
        category=spec.category,
        recurrence=Programme.Recurrence.WEEKLY,
        weekdays=",".join(spec.weekdays),
        repeat_until=spec.repeat_until,
        capacity=spec.capacity,
        status=Programme.Status.PUBLISHED,
        search_text=_search_text(spec.title, spec.description, venue),
        materialised_until=to_local(_horizon_end(event, now)),
    )


def expand(event: Event, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of every date `occurrences_materialise` writes for a new
    programme: from its first start to the horizon, as django-scheduler's
    `Event._get_occurrence_list` computes them (the same dateutil rrule, the
    same bounds), without building a model instance per date."""
    zone = local_zone()
    since = to_local(event.start)
    until = to_local(_horizon_end(event, now))
    if event.end_recurring_period and event.end_recurring_period < until:
        until = to_local(event.end_recurring_period)
    duration = event.end - event.start
    rule = event.get_rrule_object(zone)
    naive_since, naive_until = since.replace(tzinfo=None), until.replace(tzinfo=None)
    starts = rule.between(naive_since, naive_until, inc=True)
    if starts and starts[-1] == naive_until:
        starts.pop()
    # No DST in Asia/Ho_Chi_Minh: attaching the zone is what pytz's localize() does.
    return [(s.replace(tzinfo=zone), s.replace(tzinfo=zone) + duration) for s in starts]


def occurrence_rows(programme: Programme, event: Event, now: dt.datetime) -> list[tuple]:
    """Column values of the Occurrence rows of a new programme (OCCURRENCE_COLUMNS order)."""
    return [
        (programme.pk, programme.venue_id, start, end, start, end, False, programme.capacity, False, 0, now)
        for start, end in expand(event, now)
    ]


OCCURRENCE_COLUMNS = (
    "programme_id", "venue_id", "start", "end", "original_start", "original_end",
    "cancelled", "capacity", "capacity_overridden", "seats_taken", "updated_at",
)
DATETIME_COLUMNS = {2, 3, 4, 5, 10}


def insert_occurrences(rows: list[tuple]) -> None:
    """One multi-row executemany: bulk_create's per-row model instances and
    value preparation cost more than the rows themselves at this size."""
    table = connection.ops.quote_name(Occurrence._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in OCCURRENCE_COLUMNS)
    placeholders = ", ".join(["%s"] * len(OCCURRENCE_COLUMNS))
    adapt = connection.ops.adapt_datetimefield_value
    values = [
        tuple(adapt(v) if i in DATETIME_COLUMNS else v for i, v in enumerate(row)) for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def series_specs(rng: random.Random, today: dt.date, count: int, place: str) -> list[SeriesSpec]:
    specs = []
    for n in range(count):
        title, category, audiences = TITLES[(n + rng.randrange(len(TITLES))) % len(TITLES)]
        # A year of dates around today: begun 5-7 months ago.
        first = today - dt.timedelta(days=rng.randint(150, 210))
        start = local_datetime(first, rng.choice(HOURS))
        specs.append(
            SeriesSpec(
                title=f"{title} – nhóm {n + 1}",
                description=f"{title} tại {place}: sinh hoạt hằng tuần, miễn phí, đăng ký trước để giữ chỗ.",
                category=category,
                start=start,
                end=start + dt.timedelta(minutes=rng.choice([60, 90, 120])),
                weekdays=rng.choice(WEEKDAY_SETS),
                repeat_until=first + dt.timedelta(days=364),
                capacity=rng.choice([None, 20, 25, 30, 40, 60]),
                audiences=audiences,
            )
        )
    return specs


def shape_check(*, venue: Venue, spec: SeriesSpec) -> None:
    """Create one programme with programme_create and compare it with what the
    generator builds for the same input; roll the service's rows back. Raises
    AssertionError when the generator's shape differs from the service's."""
    now = timezone.now()
    with transaction.atomic():
        real = programme_create(
            venue=venue, title=spec.title, description=spec.description, start=spec.start, end=spec.end,
            category=spec.category, recurrence=Programme.Recurrence.WEEKLY, weekdays=list(spec.weekdays),
            repeat_until=spec.repeat_until, capacity=spec.capacity, status=Programme.Status.PUBLISHED,
        )
        real.refresh_from_db()
        event = build_event(spec, venue)
        built = build_programme(spec, venue, event, now)
        want_event = (real.event.start, real.event.end, real.event.rule_id, real.event.end_recurring_period)
        got_event = (event.start, event.end, event.rule_id, event.end_recurring_period)
        assert got_event == want_event, f"event differs: {got_event} != {want_event}"
        fields = ("category", "recurrence", "weekdays", "nth", "repeat_until", "capacity", "status", "search_text")
        for name in fields:
            assert getattr(built, name) == getattr(real, name), f"programme.{name} differs"
        assert abs(built.materialised_until - real.materialised_until) < dt.timedelta(minutes=5)
        columns = ("start", "end", "original_start", "original_end", "cancelled", "capacity")
        want = [tuple(getattr(o, c) for c in columns) for o in real.occurrences.order_by("original_start")]
        built.pk = real.pk
        got = [row[2:8] for row in occurrence_rows(built, event, now)]
        assert got == want, f"occurrences differ: {len(got)} built, {len(want)} from the service"
        # And the rows read back as the service's do.
        Occurrence.objects.filter(programme=real).delete()
        insert_occurrences(occurrence_rows(built, event, now))
        again = [tuple(getattr(o, c) for c in columns) for o in real.occurrences.order_by("original_start")]
        assert again == want, "inserted occurrence rows read back differently"
        transaction.set_rollback(True)


def generate(*, scale: float, programmes_per_venue: int, seed: int = 1520, say=print) -> Generated:
    """Load the map and create `200 × scale` venues with `programmes_per_venue`
    weekly programmes each. Expects an empty database."""
    started = time.perf_counter()
    result = Generated()
    rng = random.Random(seed)
    now = timezone.now()
    today = to_local(now).date()

    def step(label: str, since: float) -> float:
        moment = time.perf_counter()
        result.steps.append((label, moment - since))
        say(f"  {label}: {moment - since:.1f} s")
        return moment

    mark = time.perf_counter()
    admin_units_load()
    mark = step("administrative units", mark)

    n_venues = max(1, round(VENUES_PER_SCALE * scale))
    communes = list(AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE).order_by("code"))
    stride = max(1, len(communes) // n_venues)
    venues = []
    for n in range(n_venues):
        commune = communes[(n * stride) % len(communes)]
        kind, tier, prefix = KINDS[n % len(KINDS)]
        place = commune.name[0].lower() + commune.name[1:]
        name = f"{prefix} {place}"
        slug = f"{slugify(unaccent(name))}-{n + 1}"[:120]
        venues.append(
            Venue(
                name=name, slug=slug, kind=kind, tier=tier, admin_unit=commune,
                ownership=Venue.Ownership.PRIVATE if tier == Venue.Tier.PRIVATE else Venue.Ownership.PUBLIC,
                address=f"Trung tâm {place}", opening_hours="Thứ Ba – Chủ nhật: 8h00–17h00",
            )
        )
    calendars = Calendar.objects.bulk_create(
        [Calendar(name=v.name[:200], slug=f"venue-{v.slug}"[:200]) for v in venues], batch_size=BATCH
    )
    for venue, calendar in zip(venues, calendars, strict=True):
        venue.calendar = calendar
    venues = Venue.objects.bulk_create(venues, batch_size=BATCH)
    result.venues = len(venues)
    mark = step(f"{len(venues)} venues", mark)

    shape_check(venue=venues[0], spec=series_specs(random.Random(seed), today, 1, venues[0].name)[0])
    mark = step("shape check against programme_create", mark)

    plan = []  # (venue, spec, event)
    for venue in venues:
        for spec in series_specs(rng, today, programmes_per_venue, venue.name):
            plan.append((venue, spec, build_event(spec, venue)))
    events = Event.objects.bulk_create([e for _, _, e in plan], batch_size=BATCH)
    if events and events[0].pk is None:
        raise RuntimeError("This database does not return ids from bulk inserts (SQLite >= 3.35 is needed).")
    programmes = Programme.objects.bulk_create(
        [build_programme(spec, venue, event, now) for venue, spec, event in plan], batch_size=BATCH
    )
    through = Programme.audiences.through
    through.objects.bulk_create(
        [through(programme_id=p.pk, audience_id=code) for p, (_, spec, _) in zip(programmes, plan) for code in spec.audiences],
        batch_size=BATCH,
    )
    result.programmes = len(programmes)
    mark = step(f"{len(programmes)} programmes (events, rules, audiences)", mark)

    batch = []
    with transaction.atomic():
        for programme, (_, _, event) in zip(programmes, plan, strict=True):
            batch.extend(occurrence_rows(programme, event, now))
            if len(batch) >= 20_000:
                insert_occurrences(batch)
                result.occurrences += len(batch)
                batch = []
        insert_occurrences(batch)
        result.occurrences += len(batch)
    mark = step(f"{result.occurrences} occurrences", mark)

    # Exceptions through the services, so feeds carry EXDATEs and RECURRENCE-IDs.
    for n, programme in enumerate(programmes):
        if n % 10 and n % 25 != 3:
            continue
        upcoming = list(Occurrence.objects.filter(programme=programme, start__gt=now).order_by("start")[:6])
        if n % 10 == 0 and len(upcoming) > 2:
            occurrence_cancel(occurrence=upcoming[2])
            result.cancelled += 1
        if n % 25 == 3 and len(upcoming) > 5:
            row = upcoming[5]
            occurrence_move(occurrence=row, start=row.start + dt.timedelta(hours=1), end=row.end + dt.timedelta(hours=1))
            result.moved += 1
    mark = step(f"{result.cancelled} cancelled and {result.moved} moved dates (services)", mark)
    # Planner statistics, as a database that has lived with these rows would have.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    step("ANALYZE", mark)
    result.seconds = time.perf_counter() - started
    return result
