"""Writes for programmes and their occurrences.

The django-scheduler Event and Rule are derived from what staff chose (a
recurrence preset), and the dated occurrences are materialised as rows for a
rolling horizon, so no page ever expands a rule while serving a request.
"""

import datetime as dt
import logging

from dateutil import rrule as du_rrule
from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from schedule.models import Event, Rule
from schedule.models import Occurrence as SchedulerOccurrence

from common.errors import DomainError
from common.text import unaccent
from common.timeutil import to_local
from events.models import Occurrence, Programme, spans_days
from venues.models import Venue

logger = logging.getLogger(__name__)

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class ProgrammeError(DomainError):
    pass


def _rule_for(*, recurrence: str, weekdays: list[str], nth: int | None) -> Rule | None:
    """The shared django-scheduler Rule for a preset (weekday names, never numbers:
    django-scheduler drops numeric `byweekday` values)."""
    if recurrence == Programme.Recurrence.ONCE:
        return None
    if recurrence == Programme.Recurrence.DAILY:
        frequency, params = "DAILY", ""
    elif recurrence == Programme.Recurrence.WEEKLY:
        frequency, params = "WEEKLY", "byweekday:" + ",".join(weekdays)
    else:
        frequency, params = "MONTHLY", f"byweekday:{weekdays[0]};bysetpos:{nth}"
    rule, _created = Rule.objects.get_or_create(
        frequency=frequency,
        params=params,
        defaults={"name": f"{frequency.lower()} {params}"[:32], "description": f"{frequency} {params}"},
    )
    return rule


def _validate_schedule(*, start, end, recurrence, weekdays, nth, repeat_until) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ProgrammeError("end_before_start", _("The end must be after the start."), field="end")
    if end - start > dt.timedelta(days=1) and recurrence != Programme.Recurrence.ONCE:
        raise ProgrammeError(
            "too_long", _("A repeating occurrence must last less than a day."), field="end"
        )
    if recurrence not in Programme.Recurrence.values:
        raise ProgrammeError("bad_recurrence", _("Choose how the programme repeats."), field="recurrence")
    bad = [d for d in weekdays if d not in WEEKDAY_CODES]
    if bad:
        raise ProgrammeError("bad_weekday", _("Unknown weekday."), field="weekdays")
    if recurrence == Programme.Recurrence.WEEKLY and not weekdays:
        raise ProgrammeError("weekdays_required", _("Choose at least one weekday."), field="weekdays")
    if recurrence == Programme.Recurrence.MONTHLY_NTH:
        if len(weekdays) != 1:
            raise ProgrammeError("one_weekday", _("Choose exactly one weekday."), field="weekdays")
        if nth not in (1, 2, 3, 4, -1):
            raise ProgrammeError("bad_nth", _("Choose which week of the month."), field="nth")
    if recurrence != Programme.Recurrence.ONCE:
        if repeat_until is None:
            raise ProgrammeError("until_required", _("A repeating programme needs an end date."), field="repeat_until")
        local_start = to_local(start).date()
        if repeat_until < local_start:
            raise ProgrammeError("until_before_start", _("The end date is before the first date."), field="repeat_until")
        if (repeat_until - local_start).days > settings.MAX_SERIES_DAYS:
            raise ProgrammeError(
                "series_too_long",
                _("A series may run for at most %(days)d days; create a new one after.") % {"days": settings.MAX_SERIES_DAYS},
                field="repeat_until",
            )


def _first_start(start: dt.datetime, rule: Rule | None, until: dt.datetime | None) -> dt.datetime | None:
    """The first instant the rule produces at or after `start` (iCalendar counts
    DTSTART as an instance, django-scheduler does not, so DTSTART must match the rule)."""
    if rule is None:
        return start
    local = to_local(start)
    params = Event(start=local, end=local, rule=rule)._event_params()
    naive_until = to_local(until).replace(tzinfo=None) if until else None
    first = du_rrule.rrule(
        rule.rrule_frequency(), dtstart=local.replace(tzinfo=None), until=naive_until, **params
    ).after(local.replace(tzinfo=None), inc=True)
    if first is None:
        return None
    return first.replace(tzinfo=local.tzinfo)


def _until_datetime(repeat_until: dt.date | None) -> dt.datetime | None:
    if repeat_until is None:
        return None
    return to_local(dt.datetime.combine(repeat_until, dt.time(23, 59, 59)))


def _search_text(title: str, description: str, venue: Venue) -> str:
    return unaccent(" ".join([title, description, venue.name, venue.address]))


def _apply_schedule(event: Event, *, start, end, recurrence, weekdays, nth, repeat_until) -> None:
    _validate_schedule(
        start=start, end=end, recurrence=recurrence, weekdays=weekdays, nth=nth, repeat_until=repeat_until
    )
    rule = _rule_for(recurrence=recurrence, weekdays=weekdays, nth=nth)
    until = _until_datetime(repeat_until) if rule else None
    first = _first_start(start, rule, until)
    if first is None:
        raise ProgrammeError("no_dates", _("These settings produce no date before the end date."), field="repeat_until")
    event.start = first
    event.end = first + (end - start)
    event.rule = rule
    event.end_recurring_period = until


@transaction.atomic
def programme_create(
    *,
    venue: Venue,
    title: str,
    description: str = "",
    start: dt.datetime,
    end: dt.datetime,
    category: str,
    recurrence: str = Programme.Recurrence.ONCE,
    weekdays: list[str] | None = None,
    nth: int | None = None,
    repeat_until: dt.date | None = None,
    audiences=(),
    created_by=None,
    **fields,
) -> Programme:
    """Create a programme, its django-scheduler Event and its occurrences.

    The first start is moved forward to the first date the rule yields. Raises
    ProgrammeError (with a code) for a schedule that cannot be built.
    """
    weekdays = list(weekdays or [])
    event = Event(title=title, description=description, calendar=venue.calendar, creator=created_by)
    _apply_schedule(
        event, start=start, end=end, recurrence=recurrence, weekdays=weekdays, nth=nth, repeat_until=repeat_until
    )
    event.save()
    programme = Programme.objects.create(
        venue=venue,
        event=event,
        category=category,
        recurrence=recurrence,
        weekdays=",".join(weekdays),
        nth=nth if recurrence == Programme.Recurrence.MONTHLY_NTH else None,
        repeat_until=repeat_until if recurrence != Programme.Recurrence.ONCE else None,
        search_text=_search_text(title, description, venue),
        created_by=created_by,
        **fields,
    )
    if audiences:
        programme.audiences.set(audiences)
    occurrences_materialise(programme=programme, since=event.start)
    return programme


SCHEDULE_FIELDS = ("start", "end", "recurrence", "weekdays", "nth", "repeat_until")


@transaction.atomic
def programme_update(*, programme: Programme, audiences=None, **changes) -> Programme:
    """Update a programme. A change of dates or recurrence re-materialises the
    future: past occurrences are history and stay as they were."""
    programme = Programme.objects.select_for_update().select_related("event", "venue").get(pk=programme.pk)
    _refuse_if_cancelled(programme)
    event = programme.event
    title = changes.pop("title", event.title)
    description = changes.pop("description", event.description)
    schedule = {key: changes.pop(key) for key in SCHEDULE_FIELDS if key in changes}
    schedule_changed = False
    old_start = event.start
    if schedule:
        current = {
            "start": event.start,
            "end": event.end,
            "recurrence": programme.recurrence,
            "weekdays": [d for d in programme.weekdays.split(",") if d],
            "nth": programme.nth,
            "repeat_until": programme.repeat_until,
        }
        new = {**current, **schedule}
        new["weekdays"] = list(new["weekdays"] or [])
        if new["recurrence"] == Programme.Recurrence.ONCE:
            new["repeat_until"] = None
        if new["recurrence"] != Programme.Recurrence.MONTHLY_NTH:
            new["nth"] = None
        schedule_changed = new != current
        if schedule_changed:
            _apply_schedule(event, **new)
            programme.recurrence = new["recurrence"]
            programme.weekdays = ",".join(new["weekdays"])
            programme.nth = new["nth"]
            programme.repeat_until = new["repeat_until"]
    event.title = title
    event.description = description
    event.save()
    capacity_changed = "capacity" in changes and changes["capacity"] != programme.capacity
    for key, value in changes.items():
        setattr(programme, key, value)
    programme.search_text = _search_text(title, description, programme.venue)
    programme.save()
    if audiences is not None:
        programme.audiences.set(audiences)
    if capacity_changed:
        future = Occurrence.objects.filter(programme=programme, capacity_overridden=False, end__gt=timezone.now())
        future.update(capacity=programme.capacity)
        _fill_freed_seats(future.values_list("pk", flat=True))
    if schedule_changed:
        since = max(timezone.now(), min(old_start, event.start))
        occurrences_materialise(programme=programme, since=since, prune=True)
    return programme


def _refuse_if_cancelled(programme: Programme) -> None:
    # A cancelled programme stays cancelled: re-scheduling would materialise fresh,
    # uncancelled dates and unpublishing would turn it back into a draft.
    if programme.status == Programme.Status.CANCELLED:
        raise ProgrammeError("cancelled", _("A cancelled programme cannot be changed."))


def programme_publish(*, programme: Programme) -> Programme:
    _refuse_if_cancelled(programme)
    programme.status = Programme.Status.PUBLISHED
    programme.save(update_fields=["status", "updated_at"])
    return programme


def programme_unpublish(*, programme: Programme) -> Programme:
    _refuse_if_cancelled(programme)
    programme.status = Programme.Status.DRAFT
    programme.save(update_fields=["status", "updated_at"])
    return programme


@transaction.atomic
def programme_cancel(*, programme: Programme) -> Programme:
    """Cancel a whole programme: its future occurrences are cancelled too."""
    programme.status = Programme.Status.CANCELLED
    programme.save(update_fields=["status", "updated_at"])
    for occurrence in Occurrence.objects.filter(programme=programme, start__gt=timezone.now(), cancelled=False):
        occurrence_cancel(occurrence=occurrence)
    return programme


def _horizon_end(event: Event, now: dt.datetime) -> dt.datetime:
    horizon = now + dt.timedelta(days=settings.OCCURRENCE_HORIZON_DAYS)
    if event.rule is None:
        return max(event.end, horizon) + dt.timedelta(seconds=1)
    if event.end_recurring_period:
        return min(horizon, event.end_recurring_period + (event.end - event.start))
    return horizon


@transaction.atomic
def occurrences_materialise(*, programme: Programme, since: dt.datetime | None = None, prune: bool = False) -> int:
    """Bring the programme's Occurrence rows in line with its django-scheduler
    event from `since` to the horizon. Idempotent; returns rows created.

    With `prune`, rows from `since` on that the rule no longer yields are removed
    (or cancelled when something points at them), together with their
    django-scheduler exceptions.
    """
    now = timezone.now()
    event = Event.objects.select_related("rule").get(pk=programme.event_id)
    since = to_local(since or programme.materialised_until or event.start)
    until = to_local(_horizon_end(event, now))
    generated = event.get_occurrences(since, until) if since < until else []
    generated = [o for o in generated if o.original_start >= since]
    existing = {o.original_start: o for o in Occurrence.objects.filter(programme=programme, original_start__gte=since)}
    created = 0
    to_create = []
    for occ in generated:
        row = existing.pop(occ.original_start, None)
        if row is None:
            to_create.append(
                Occurrence(
                    programme=programme,
                    venue_id=programme.venue_id,
                    start=occ.start,
                    end=occ.end,
                    original_start=occ.original_start,
                    original_end=occ.original_end,
                    cancelled=occ.cancelled,
                    capacity=programme.capacity,
                    spans_days=spans_days(occ.start, occ.end),
                )
            )
        elif (row.start, row.end, row.cancelled, row.original_end, row.spans_days) != (
            occ.start, occ.end, occ.cancelled, occ.original_end, spans_days(occ.start, occ.end)
        ):
            row.start, row.end, row.cancelled, row.original_end = occ.start, occ.end, occ.cancelled, occ.original_end
            row.spans_days = spans_days(occ.start, occ.end)
            row.save(update_fields=["start", "end", "cancelled", "original_end", "spans_days", "updated_at"])
    if to_create:
        Occurrence.objects.bulk_create(to_create, ignore_conflicts=True)
        created = len(to_create)
    if prune:
        stale = list(existing.values())
        SchedulerOccurrence.objects.filter(
            event=event, original_start__in=[o.original_start for o in stale]
        ).delete()
        for row in stale:
            try:
                with transaction.atomic():
                    row.delete()
            except ProtectedError:
                row.cancelled = True
                row.save(update_fields=["cancelled", "updated_at"])
    Programme.objects.filter(pk=programme.pk).update(materialised_until=until)
    return created


def occurrences_extend_horizon(*, now: dt.datetime | None = None) -> int:
    """Materialise every live programme up to the rolling horizon (periodic task)."""
    now = now or timezone.now()
    created = 0
    programmes = Programme.objects.exclude(status=Programme.Status.CANCELLED).select_related("event")
    for programme in programmes.iterator():
        if programme.materialised_until and programme.materialised_until >= _horizon_end(programme.event, now):
            continue
        created += occurrences_materialise(programme=programme)
    return created


def _scheduler_occurrence(occurrence: Occurrence) -> SchedulerOccurrence:
    """django-scheduler's persisted Occurrence for this row, created on first change."""
    event = occurrence.programme.event
    persisted = SchedulerOccurrence.objects.filter(event=event, original_start=occurrence.original_start).first()
    if persisted:
        return persisted
    return SchedulerOccurrence(
        event=event,
        start=occurrence.start,
        end=occurrence.end,
        original_start=occurrence.original_start,
        original_end=occurrence.original_end,
        cancelled=occurrence.cancelled,
    )


def _touch(programme_id: int) -> None:
    # Feeds derive ETag/Last-Modified from the programme: an exception changes it.
    Programme.objects.filter(pk=programme_id).update(updated_at=timezone.now())


@transaction.atomic
def occurrence_cancel(*, occurrence: Occurrence) -> Occurrence:
    """Cancel one date (django-scheduler records it; the row mirrors it)."""
    occurrence = Occurrence.objects.select_for_update().select_related("programme__event").get(pk=occurrence.pk)
    if occurrence.cancelled:
        return occurrence
    _scheduler_occurrence(occurrence).cancel()
    occurrence.cancelled = True
    occurrence.save(update_fields=["cancelled", "updated_at"])
    _touch(occurrence.programme_id)
    from notifications.staff_services import occurrence_change_notify

    occurrence_change_notify(occurrence=occurrence, change="cancelled")
    return occurrence


@transaction.atomic
def occurrence_restore(*, occurrence: Occurrence) -> Occurrence:
    occurrence = Occurrence.objects.select_for_update().select_related("programme__event").get(pk=occurrence.pk)
    if occurrence.programme.status == Programme.Status.CANCELLED:
        raise ProgrammeError("programme_cancelled", _("The programme is cancelled."))
    _scheduler_occurrence(occurrence).uncancel()
    occurrence.cancelled = False
    occurrence.save(update_fields=["cancelled", "updated_at"])
    _touch(occurrence.programme_id)
    return occurrence


@transaction.atomic
def occurrence_move(*, occurrence: Occurrence, start: dt.datetime, end: dt.datetime) -> Occurrence:
    """Move one date. Raises ProgrammeError `end_before_start` or `collides` when
    the new start is another date's original start."""
    if end <= start:
        raise ProgrammeError("end_before_start", _("The end must be after the start."), field="end")
    occurrence = Occurrence.objects.select_for_update().select_related("programme__event").get(pk=occurrence.pk)
    if occurrence.cancelled:
        raise ProgrammeError("cancelled", _("A cancelled date cannot be moved; restore it first."))
    if (
        Occurrence.objects.filter(programme_id=occurrence.programme_id, original_start=start)
        .exclude(pk=occurrence.pk)
        .exists()
    ):
        raise ProgrammeError("collides", _("Another date of this programme starts then."), field="start")
    _scheduler_occurrence(occurrence).move(start, end)
    _move_hand_count(occurrence, start)
    occurrence.start, occurrence.end = start, end
    occurrence.spans_days = spans_days(start, end)
    occurrence.save(update_fields=["start", "end", "spans_days", "updated_at"])
    _touch(occurrence.programme_id)
    from notifications.staff_services import occurrence_change_notify

    occurrence_change_notify(occurrence=occurrence, change="moved")
    return occurrence


def _move_hand_count(occurrence: Occurrence, start: dt.datetime) -> None:
    """Visits entered by hand count on the day the date starts: they move with it."""
    from attendance.models import ManualAttendance
    from attendance.totals import local_day, visits_add

    entry = ManualAttendance.objects.filter(occurrence=occurrence, superseded_at__isnull=True).first()
    old_day, new_day = local_day(occurrence.start), local_day(start)
    if entry is None or not entry.count or old_day == new_day:
        return
    common = {"venue_id": occurrence.venue_id, "occurrence": occurrence, "audience": entry.audience}
    visits_add(day=old_day, manual=-entry.count, **common)
    visits_add(day=new_day, manual=entry.count, **common)


def occurrence_set_capacity(*, occurrence: Occurrence, capacity: int | None) -> Occurrence:
    """Give one date its own capacity (None: back to the programme's)."""
    with transaction.atomic():
        occurrence = Occurrence.objects.select_for_update().select_related("programme").get(pk=occurrence.pk)
        if capacity is None:
            occurrence.capacity = occurrence.programme.capacity
            occurrence.capacity_overridden = False
        else:
            if capacity < 0:
                raise ProgrammeError("bad_capacity", _("Capacity cannot be negative."), field="capacity")
            occurrence.capacity = capacity
            occurrence.capacity_overridden = True
        occurrence.save(update_fields=["capacity", "capacity_overridden", "updated_at"])
        _fill_freed_seats([occurrence.pk])
    return occurrence


def _fill_freed_seats(occurrence_ids) -> None:
    # More seats may let people on the waiting list in (attendance owns that line).
    from attendance.services import waiting_list_promote

    for occurrence_id in occurrence_ids:
        waiting_list_promote(occurrence_id=occurrence_id)
