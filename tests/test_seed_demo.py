"""manage.py seed_demo: the demo province, its venues, logins, programmes, a
year of history (registrations, check-ins, no-shows, walk-ins) and targets.

The demo is loaded once for this module inside a transaction that is rolled
back at the end, so each test reads the same data and the rest of the suite
never sees it.
"""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from schedule.models import Event
from schedule.models import Occurrence as SchedulerOccurrence

from attendance.models import (
    CheckIn,
    ManualAttendance,
    Registration,
    Ticket,
    VisitCount,
    VisitMonth,
    WalkIn,
    secret_digest,
)
from attendance.totals import differences
from common.timeutil import to_local
from events.demo_history import DEMO_SOURCE
from events.management.commands.seed_demo import DEMO_PASSWORD, LOGINS
from events.models import Category, CommemorativeDay, Occurrence, Programme
from targets.models import Indicator, Target
from venues.models import AdminUnit, StaffRole, Venue


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            output = seed()
            yield output
            transaction.set_rollback(True)


def snapshot() -> dict:
    models = [
        AdminUnit, Venue, StaffRole, get_user_model(), Programme, Occurrence, Event, SchedulerOccurrence,
        Registration, Ticket, CheckIn, WalkIn, ManualAttendance, VisitCount, Target,
    ]
    counts = {model.__name__ + model._meta.app_label: model.objects.count() for model in models}
    counts["programmes_updated"] = max(Programme.objects.values_list("updated_at", flat=True))
    counts["occurrences_updated"] = max(Occurrence.objects.values_list("updated_at", flat=True))
    counts["group_members"] = AdminUnit.members.through.objects.count()
    counts["visits"] = sum(sum(row) for row in VisitCount.objects.values_list("checked_in", "walk_ins", "manual"))
    counts["seats"] = sum(Occurrence.objects.values_list("seats_taken", flat=True))
    counts["month_rows"] = VisitMonth.objects.count()
    return counts


def test_it_loads_the_province_and_its_communes(demo, db):
    assert AdminUnit.objects.get(code="P33").name == "Tỉnh Hưng Yên"
    assert AdminUnit.objects.filter(parent__code="P33", level=AdminUnit.Level.COMMUNE).count() == 104
    group = AdminUnit.objects.get(level=AdminUnit.Level.GROUP, name="Huyện Khoái Châu (cũ)")
    assert group.members.count() == 5


def test_it_creates_venues_of_every_kind_and_tier(demo, db):
    venues = Venue.objects.all()
    assert 35 <= venues.count() <= 50
    assert {v.kind for v in venues} == set(Venue.Kind.values)
    assert {v.tier for v in venues} == set(Venue.Tier.values)
    assert {v.ownership for v in venues} == set(Venue.Ownership.values)
    assert all(v.admin_unit.level == AdminUnit.Level.COMMUNE and v.admin_unit.parent.code == "P33" for v in venues)
    assert all(v.address and v.opening_hours and v.accessibility for v in venues)
    assert all(v.calendar_id for v in venues)
    assert venues.filter(latitude__isnull=False).count() >= 10
    assert len({v.admin_unit_id for v in venues}) >= 25


@pytest.mark.parametrize("login", LOGINS, ids=lambda login: login.username)
def test_every_demo_login_works(demo, db, login):
    user = authenticate(username=login.username, password=DEMO_PASSWORD)

    assert user is not None
    if login.role == "superuser":
        assert user.is_superuser and user.is_staff
    else:
        assert list(user.staff_roles.values_list("role", flat=True)) == [login.role]


def test_there_is_a_login_for_each_role(demo, db):
    roles = StaffRole.objects.select_related("venue", "admin_unit", "user")
    assert {r.role for r in roles} == set(StaffRole.Role.values)
    officer = roles.get(user__username="canbo.so")
    assert officer.admin_unit.code == "P33"
    manager = roles.get(user__username="quanly.thuvien")
    assert (manager.role, manager.venue.slug) == (StaffRole.Role.MANAGER, "thu-vien-tinh-hung-yen")
    door = roles.get(user__username="soatve.thuvien")
    assert (door.role, door.venue_id) == (StaffRole.Role.DOOR, manager.venue_id)


def test_it_creates_programmes_with_occurrences_in_the_past_and_the_future(demo, db):
    now = timezone.now()
    programmes = Programme.objects.all()
    assert 130 <= programmes.count() <= 180
    assert not programmes.filter(occurrences__isnull=True).exists()
    assert Occurrence.objects.filter(start__lt=now - timezone.timedelta(days=180)).exists()
    assert Occurrence.objects.filter(start__gt=now + timezone.timedelta(days=60)).exists()
    assert Occurrence.objects.filter(start__gt=now).count() >= 300
    assert {p.recurrence for p in programmes} == set(Programme.Recurrence.values)
    assert {p.category for p in programmes} == set(Category.values)
    assert programmes.filter(audiences__isnull=False).distinct().count() == programmes.count()
    assert programmes.filter(group_bookings=True, venue__kind=Venue.Kind.MUSEUM).exists()
    assert set(Programme.Status.values) == set(programmes.values_list("status", flat=True))


def test_programmes_are_real_django_scheduler_series(demo, db):
    weekly = Programme.objects.filter(recurrence=Programme.Recurrence.WEEKLY).select_related("event__rule").first()
    assert weekly.event.rule.frequency == "WEEKLY"
    assert weekly.event.end_recurring_period is not None
    assert weekly.event.calendar_id == weekly.venue.calendar_id
    assert Event.objects.count() == Programme.objects.count()


def test_every_commemorative_day_has_programmes(demo, db):
    tagged = set(Programme.objects.exclude(commemorative_day=None).values_list("commemorative_day", flat=True))
    assert tagged == set(CommemorativeDay.objects.values_list("slug", flat=True))


def test_some_dates_are_cancelled_or_moved_through_django_scheduler(demo, db):
    cancelled = Occurrence.objects.filter(cancelled=True)
    moved = [o for o in Occurrence.objects.exclude(cancelled=True) if o.moved]
    assert cancelled.count() >= 20
    assert len(moved) >= 10
    assert SchedulerOccurrence.objects.filter(cancelled=True).count() >= cancelled.count() - 1
    one = moved[0]
    persisted = SchedulerOccurrence.objects.get(event=one.programme.event, original_start=one.original_start)
    assert (persisted.start, persisted.end) == (one.start, one.end)


def test_a_second_run_creates_and_changes_nothing(demo, db):
    # given
    before = snapshot()

    # when
    output = seed()

    # then
    assert snapshot() == before
    assert "0 venues, 0 logins, 0 programmes created" in output


def test_once_does_nothing_when_the_demo_is_loaded(demo, db):
    before = snapshot()

    output = seed("--once")

    assert output.strip() == "Demo data already loaded; nothing to do."
    assert snapshot() == before


def test_print_logins_prints_every_login_and_the_password(demo, db):
    before = snapshot()

    output = seed("--print-logins")

    assert DEMO_PASSWORD in output
    for login in LOGINS:
        assert login.username in output
    assert snapshot() == before


# -- history ----------------------------------------------------------------------------


def test_kept_visit_totals_equal_a_recount_of_the_raw_rows(demo, db):
    """Given a fresh database, when seed_demo runs, then the kept totals match a recount."""
    assert VisitCount.objects.count() > 1000
    assert differences() == []


def test_there_are_visits_in_most_of_the_past_twelve_months_and_last_year(demo, db):
    """Given the demo, when visits are summed by month, then most of the past 12 months
    and the same months of the previous year have visits (for growth)."""
    today = to_local(timezone.now()).date()
    months = set()
    for day in VisitCount.objects.filter(day__gte=today - timezone.timedelta(days=365)).values_list("day", flat=True):
        months.add((day.year, day.month))
    assert len(months) >= 11
    last_year = VisitCount.objects.filter(day__year=today.year - 1).values_list("day__month", flat=True).distinct()
    assert len(set(last_year)) == 12
    by_source = {
        "checked_in": sum(VisitCount.objects.values_list("checked_in", flat=True)),
        "walk_ins": sum(VisitCount.objects.values_list("walk_ins", flat=True)),
        "manual": sum(VisitCount.objects.values_list("manual", flat=True)),
    }
    assert all(by_source.values()), by_source


def test_confirmed_tickets_are_checked_in_or_no_shows(demo, db):
    """Given past confirmed registrations, then 70–90 % are checked in and the rest are no-shows."""
    past = Registration.objects.filter(status="confirmed", occurrence__end__lt=timezone.now())
    shown = past.filter(ticket__checkins__result="ok").distinct().count()
    no_shows = past.filter(ticket__checkins__isnull=True).count()
    assert no_shows > 100
    assert 0.70 <= shown / past.count() <= 0.90
    assert Registration.objects.filter(status="cancelled").exists()
    assert Registration.objects.filter(status="waiting").exists()


def test_groups_are_admitted_with_partial_headcounts(demo, db):
    """Given school groups, then some were admitted with fewer people than booked."""
    groups = Ticket.objects.filter(registration__kind="group", admitted__gt=0).select_related("registration")
    assert groups.exists()
    assert any(t.admitted < t.registration.party_size for t in groups)


def test_raw_rows_are_consistent_with_the_services(demo, db):
    """Given the history, then tickets carry their digests, seats taken are the confirmed
    parties, and admitted counts equal the admitted check-ins."""
    ticket = Ticket.objects.order_by("?").first()
    assert ticket.digest == secret_digest(ticket.secret)
    occurrence = Occurrence.objects.filter(seats_taken__gt=0).order_by("pk").first()
    held = Registration.objects.filter(occurrence=occurrence, status__in=["confirmed", "pending"])
    assert occurrence.seats_taken == sum(held.values_list("party_size", flat=True))
    assert occurrence.capacity is None or occurrence.seats_taken <= occurrence.capacity
    admitted = sum(Ticket.objects.values_list("admitted", flat=True))
    assert admitted == sum(CheckIn.objects.filter(result="ok").values_list("headcount", flat=True))
    assert not CheckIn.objects.filter(scanned_at__gt=timezone.now()).exists()
    assert not Registration.objects.filter(created_at__gt=timezone.now()).exists()
    assert not Registration.objects.filter(created_at__gt=F("occurrence__start")).exists()


def test_upcoming_dates_have_registrations_and_no_check_ins(demo, db):
    upcoming = Registration.objects.filter(occurrence__start__gt=timezone.now())
    assert upcoming.filter(status="confirmed").exists()
    assert not CheckIn.objects.filter(occurrence__start__gt=timezone.now()).exists()


def test_old_personal_data_is_erased_as_the_retention_rule_would(demo, db, settings):
    """Given registrations whose date ended longer ago than the retention period, then
    their names and phones are gone, and newer ones keep them."""
    cutoff = timezone.now() - timezone.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    old = Registration.objects.filter(occurrence__end__lt=cutoff)
    assert old.exists()
    assert not old.filter(erased_at__isnull=True).exists()
    assert not old.exclude(full_name="", phone="").exists()
    recent = Registration.objects.filter(occurrence__end__gte=cutoff + timezone.timedelta(days=1))
    assert recent.exists() and not recent.filter(erased_at__isnull=False).exists()
    assert not recent.filter(phone="").exists()


def test_walk_ins_are_counted_by_audience_and_some_attendance_is_entered_by_hand(demo, db):
    assert set(WalkIn.objects.values_list("audience", flat=True)) == set(WalkIn.Audience.values)
    assert WalkIn.objects.filter(occurrence__isnull=True).exists()
    assert WalkIn.objects.filter(occurrence__isnull=False).exists()
    assert ManualAttendance.objects.filter(superseded_at__isnull=True).count() > 50
    assert ManualAttendance.objects.filter(superseded_at__isnull=False).exists()


def test_the_season_shows_book_day_and_tet(demo, db):
    """Given the demo, then 21/4 is busier for libraries than the Tuesday a week before,
    and the first day of Tết has no visits."""
    from events.demo_history import tet

    today = to_local(timezone.now()).date()
    year = today.year if today >= timezone.datetime(today.year, 4, 22).date() else today.year - 1
    libraries = VisitCount.objects.filter(venue__kind="library")

    def visits(day):
        return sum(r.visits for r in libraries.filter(day=day))

    book_day = timezone.datetime(year, 4, 21).date()
    assert visits(book_day) > 1.5 * visits(book_day - timezone.timedelta(days=7))
    new_year = tet(year)
    assert not VisitCount.objects.filter(day=new_year).exists()


def test_every_demo_venue_has_a_visits_target_this_year_and_last(demo, db):
    year = to_local(timezone.now()).year
    for venue in Venue.objects.all():
        years = set(Target.objects.filter(venue=venue, indicator=Indicator.VISITS).values_list("year", flat=True))
        assert {year - 1, year} <= years, venue.slug
    target = Target.objects.filter(venue__isnull=False, source_document=DEMO_SOURCE).first()
    assert target.value > 0
    province_targets = Target.objects.filter(admin_unit__code="P33", year=year, source_document=DEMO_SOURCE)
    assert {t.indicator for t in province_targets} >= {Indicator.VISITS, Indicator.VISITS_GROWTH}


def test_plan_targets_are_skipped_with_a_note_when_the_command_is_missing(monkeypatch):
    """Given no load_plan_targets command, when the demo loads plan targets, then it says
    so instead of failing."""
    from events.management.commands import seed_demo

    monkeypatch.setattr(seed_demo, "get_commands", lambda: {})

    assert seed_demo.plan_targets_load(StringIO()) == "plan targets skipped (load_plan_targets is not installed)"
