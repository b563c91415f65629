"""Programmes on django-scheduler: presets become rules, dates become rows."""

import calendar
import datetime as dt

import pytest
from django.utils import timezone
from schedule.models import Occurrence as SchedulerOccurrence

from common.timeutil import local_datetime, local_zone, to_local
from events.models import Occurrence, Programme
from events.services import (
    ProgrammeError,
    occurrence_cancel,
    occurrence_move,
    occurrence_restore,
    occurrence_set_capacity,
    occurrences_extend_horizon,
    occurrences_materialise,
    programme_cancel,
    programme_publish,
    programme_unpublish,
    programme_update,
)
from tests.factories import make_programme


def _next_monday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=(7 - after.weekday()) % 7)


# A Monday a few weeks ahead: in the future, within the materialisation horizon.
MONDAY = _next_monday(dt.date.today() + dt.timedelta(days=21))


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    return days[nth - 1] if nth > 0 else days[nth]


def next_months(count: int) -> list[tuple[int, int]]:
    first = (MONDAY.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    months = []
    for _ in range(count):
        months.append((first.year, first.month))
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months


def local_starts(programme):
    return [to_local(o.start) for o in programme.occurrences.order_by("start")]


def test_weekly_on_named_weekdays_keeps_every_chosen_day(venue):
    # given a weekly programme on Monday, Wednesday and Friday for two weeks
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO", "WE", "FR"],
        repeat_until=MONDAY + dt.timedelta(days=13),
    )
    # then all six dates exist (numeric byweekday would silently drop days)
    assert [d.date() for d in local_starts(programme)] == [
        MONDAY + dt.timedelta(days=n) for n in (0, 2, 4, 7, 9, 11)
    ]
    assert programme.event.rule.params == "byweekday:MO,WE,FR"


def test_times_stay_local_at_nine(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, start_time=dt.time(9), recurrence="daily",
        repeat_until=MONDAY + dt.timedelta(days=3),
    )
    starts = local_starts(programme)
    assert len(starts) == 4
    assert {s.time() for s in starts} == {dt.time(9)}
    # stored in UTC: 02:00
    assert programme.occurrences.first().start.astimezone(dt.timezone.utc).hour == 2


def test_monthly_on_the_second_tuesday(venue):
    months = next_months(4)
    programme = make_programme(
        venue=venue, day=dt.date(*months[0], 1), recurrence="monthly_nth", weekdays=["TU"], nth=2,
        repeat_until=dt.date(*months[-1], 28),
    )
    assert [d.date() for d in local_starts(programme)] == [nth_weekday(y, m, calendar.TUESDAY, 2) for y, m in months]


def test_monthly_on_the_last_friday(venue):
    months = next_months(3)
    last_day = calendar.monthrange(*months[-1])[1]
    programme = make_programme(
        venue=venue, day=dt.date(*months[0], 1), recurrence="monthly_nth", weekdays=["FR"], nth=-1,
        repeat_until=dt.date(*months[-1], last_day),
    )
    assert [d.date() for d in local_starts(programme)] == [nth_weekday(y, m, calendar.FRIDAY, -1) for y, m in months]


def test_first_start_is_snapped_to_the_rule(venue):
    # given a weekly Wednesday series entered with a Monday start
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["WE"], repeat_until=MONDAY + dt.timedelta(days=20)
    )
    # then the event starts on the first Wednesday, so iCalendar's DTSTART is an instance
    assert to_local(programme.event.start).date() == MONDAY + dt.timedelta(days=2)


def test_once_makes_one_occurrence(venue):
    programme = make_programme(venue=venue, day=MONDAY)
    assert programme.occurrences.count() == 1
    assert programme.event.rule is None


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"recurrence": "weekly", "weekdays": [], "repeat_until": MONDAY + dt.timedelta(days=7)}, "weekdays_required"),
        ({"recurrence": "weekly", "weekdays": ["MO"]}, "until_required"),
        ({"recurrence": "weekly", "weekdays": ["XX"], "repeat_until": MONDAY}, "bad_weekday"),
        ({"recurrence": "monthly_nth", "weekdays": ["MO"], "nth": 7, "repeat_until": MONDAY}, "bad_nth"),
        ({"recurrence": "daily", "repeat_until": MONDAY - dt.timedelta(days=1)}, "until_before_start"),
        ({"recurrence": "daily", "repeat_until": MONDAY + dt.timedelta(days=5000)}, "series_too_long"),
        ({"minutes": -30}, "end_before_start"),
    ],
)
def test_bad_schedules_are_refused_with_a_code(venue, kwargs, code):
    with pytest.raises(ProgrammeError) as error:
        make_programme(venue=venue, day=MONDAY, **kwargs)
    assert error.value.code == code
    assert Programme.objects.count() == 0


def test_materialise_is_idempotent(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=28)
    )
    before = list(programme.occurrences.values_list("pk", "start"))
    assert occurrences_materialise(programme=programme, since=programme.event.start) == 0
    assert list(programme.occurrences.values_list("pk", "start")) == before


def test_horizon_bounds_materialisation_and_the_periodic_task_extends_it(venue, settings):
    # given a long daily series and a 10-day horizon
    settings.OCCURRENCE_HORIZON_DAYS = 10
    today = timezone.localdate()
    programme = make_programme(
        venue=venue, day=today + dt.timedelta(days=1), recurrence="daily", repeat_until=today + dt.timedelta(days=60)
    )
    assert 9 <= programme.occurrences.count() <= 11
    # when the horizon moves (time passes, here: the setting grows) and the task runs
    settings.OCCURRENCE_HORIZON_DAYS = 30
    created = occurrences_extend_horizon()
    # then the rows reach the new horizon, without duplicates
    assert created > 0
    assert 29 <= programme.occurrences.count() <= 31
    assert occurrences_extend_horizon() == 0


def test_cancel_and_restore_one_date_uses_django_schedulers_persisted_occurrence(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=21)
    )
    second = programme.occurrences.order_by("start")[1]
    occurrence_cancel(occurrence=second)
    persisted = SchedulerOccurrence.objects.get(event=programme.event, original_start=second.original_start)
    assert persisted.cancelled
    # django-scheduler itself now reports the date as cancelled
    expanded = programme.event.get_occurrences(to_local(second.start), to_local(second.end))
    assert [o.cancelled for o in expanded] == [True]
    occurrence_restore(occurrence=second)
    second.refresh_from_db()
    assert not second.cancelled
    assert not SchedulerOccurrence.objects.get(pk=persisted.pk).cancelled


def test_move_one_date_and_survive_rematerialisation(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=21)
    )
    first = programme.occurrences.order_by("start")[0]
    new_start = first.start + dt.timedelta(hours=26)
    occurrence_move(occurrence=first, start=new_start, end=new_start + dt.timedelta(hours=1))
    occurrences_materialise(programme=programme, since=programme.event.start)
    first.refresh_from_db()
    assert first.start == new_start and first.moved
    assert programme.occurrences.count() == 4


def test_move_onto_another_dates_original_start_is_refused(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=14)
    )
    first, second = programme.occurrences.order_by("start")[:2]
    with pytest.raises(ProgrammeError) as error:
        occurrence_move(occurrence=first, start=second.original_start, end=second.original_end)
    assert error.value.code == "collides"


def test_own_capacity_for_one_date_survives_a_programme_capacity_change(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=14),
        capacity=30,
    )
    first, second = programme.occurrences.order_by("start")[:2]
    occurrence_set_capacity(occurrence=first, capacity=12)
    programme_update(programme=programme, capacity=40)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.capacity, second.capacity) == (12, 40)
    occurrence_set_capacity(occurrence=first, capacity=None)
    first.refresh_from_db()
    assert first.capacity == 40 and not first.capacity_overridden


def test_changing_weekdays_replaces_future_dates(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO", "WE"], repeat_until=MONDAY + dt.timedelta(days=13)
    )
    programme_update(programme=programme, weekdays=["TU"])
    assert [d.date() for d in local_starts(programme)] == [MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=8)]
    programme.refresh_from_db()
    assert programme.event.rule.params == "byweekday:TU"


def test_past_dates_are_history_and_stay_when_the_series_changes(venue):
    today = timezone.localdate()
    programme = make_programme(
        venue=venue, day=today - dt.timedelta(days=14), recurrence="daily", repeat_until=today + dt.timedelta(days=14)
    )
    past = set(programme.occurrences.filter(end__lt=timezone.now()).values_list("pk", flat=True))
    assert len(past) >= 13
    programme_update(programme=programme, recurrence="weekly", weekdays=["SA"])
    assert past <= set(programme.occurrences.values_list("pk", flat=True))
    future = programme.occurrences.filter(start__gt=timezone.now())
    assert {to_local(o.start).weekday() for o in future} == {5}


def test_cancelling_a_programme_cancels_its_future_dates(venue):
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=14)
    )
    programme_cancel(programme=programme)
    assert not programme.occurrences.filter(cancelled=False).exists()
    assert Occurrence.objects.public().count() == 0


def test_fixed_offset_bounds_are_converted_before_reaching_django_scheduler(venue):
    # django-scheduler raises UnknownTimeZoneError for a +07:00 bound; to_local converts it
    fixed = dt.datetime(MONDAY.year, MONDAY.month, MONDAY.day, 9, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert str(to_local(fixed).tzinfo) == str(local_zone())
    programme = make_programme(venue=venue, day=MONDAY, recurrence="daily", repeat_until=MONDAY + dt.timedelta(days=2))
    assert len(programme.event.get_occurrences(to_local(fixed), to_local(fixed + dt.timedelta(days=3)))) == 3
    assert local_datetime(MONDAY, dt.time(9)) == fixed


@pytest.mark.parametrize("change", ["update", "publish", "unpublish"])
def test_a_cancelled_programme_stays_cancelled(venue, change):
    # given a cancelled weekly programme
    programme = make_programme(
        venue=venue, day=MONDAY, recurrence="weekly", weekdays=["MO"], repeat_until=MONDAY + dt.timedelta(days=14)
    )
    programme_cancel(programme=programme)
    # when staff try to reschedule, publish or unpublish it
    actions = {
        "update": lambda: programme_update(programme=programme, weekdays=["TU"]),
        "publish": lambda: programme_publish(programme=programme),
        "unpublish": lambda: programme_unpublish(programme=programme),
    }
    with pytest.raises(ProgrammeError) as error:
        actions[change]()
    # then it is refused and nothing comes back to life
    assert error.value.code == "cancelled"
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CANCELLED
    assert not programme.occurrences.filter(cancelled=False, start__gt=timezone.now()).exists()
