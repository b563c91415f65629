"""manage.py seed_demo: the demo province, its venues, logins and programmes.

The demo is loaded once for this module inside a transaction that is rolled
back at the end, so each test reads the same data and the rest of the suite
never sees it.
"""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from schedule.models import Event
from schedule.models import Occurrence as SchedulerOccurrence

from events.management.commands.seed_demo import DEMO_PASSWORD, LOGINS
from events.models import Category, CommemorativeDay, Occurrence, Programme
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
    models = [AdminUnit, Venue, StaffRole, get_user_model(), Programme, Occurrence, Event, SchedulerOccurrence]
    counts = {model.__name__ + model._meta.app_label: model.objects.count() for model in models}
    counts["programmes_updated"] = max(Programme.objects.values_list("updated_at", flat=True))
    counts["occurrences_updated"] = max(Occurrence.objects.values_list("updated_at", flat=True))
    counts["group_members"] = AdminUnit.members.through.objects.count()
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
