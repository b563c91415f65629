"""iCalendar for programmes: a pure function of rows already loaded (no queries).

A recurring programme is one VEVENT whose RRULE is derived from the same
django-scheduler Rule the site expands; each cancelled date is an EXDATE and each
moved date a VEVENT with the series' UID and a RECURRENCE-ID, so a subscriber's
calendar shows exactly the dates the site lists. Callers pass programmes loaded
with `event`, `event__rule` and `venue`, and the exceptional occurrences
(cancelled or moved) of those programmes.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from icalendar import Calendar, Event, vDuration

from common.timeutil import to_local
from events.models import Occurrence, Programme

PRODID = "-//Lifelong learning//Programmes//VI"
# A hint to subscribing clients (RFC 7986; Apple and Outlook read X-PUBLISHED-TTL).
REFRESH_INTERVAL = dt.timedelta(hours=6)

# dateutil keyword (as django-scheduler's Rule params spell it) -> RRULE part.
# `byeaster` has no iCalendar equivalent and is deliberately absent.
_RRULE_PARTS = {
    "count": "COUNT",
    "interval": "INTERVAL",
    "bysetpos": "BYSETPOS",
    "bymonth": "BYMONTH",
    "bymonthday": "BYMONTHDAY",
    "byyearday": "BYYEARDAY",
    "byweekno": "BYWEEKNO",
    "byweekday": "BYDAY",
    "byhour": "BYHOUR",
    "byminute": "BYMINUTE",
    "bysecond": "BYSECOND",
}
_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def programmes_calendar(
    programmes: Iterable[Programme], exceptions: Iterable[Occurrence], *, name: str
) -> Calendar:
    """A calendar with every programme: one VEVENT per one-off programme (left
    out when its date is cancelled), and for a series one VEVENT with RRULE and
    EXDATEs plus one RECURRENCE-ID VEVENT per moved date."""
    by_programme = defaultdict(list)
    for occurrence in exceptions:
        by_programme[occurrence.programme_id].append(occurrence)
    calendar = _calendar(name)
    for programme in programmes:
        for component in programme_events(programme, by_programme[programme.pk]):
            calendar.add_component(component)
    calendar.add_missing_timezones()
    return calendar


def occurrence_calendar(occurrence: Occurrence) -> Calendar:
    """One dated occurrence as a standalone event, to import into a calendar.

    It has its own UID: a lone RECURRENCE-ID instance without its series is
    poorly supported by importing clients. A cancelled date (or programme) is
    still served, with STATUS:CANCELLED, so a re-import removes it.
    """
    programme = occurrence.programme
    vevent = _vevent(
        programme,
        uid=_uid("occurrence", occurrence.pk),
        start=occurrence.start,
        end=occurrence.end,
        modified=max(programme.updated_at, occurrence.updated_at),
    )
    if occurrence.cancelled or programme.status == Programme.Status.CANCELLED:
        vevent.add("status", "CANCELLED")
    calendar = _calendar(programme.title)
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar


def programme_events(programme: Programme, exceptions: list[Occurrence]) -> list[Event]:
    """The VEVENTs of one programme, given its cancelled or moved occurrences."""
    event = programme.event
    uid = _uid("programme", programme.pk)
    if event.rule is None:
        # A one-off has a single date: its row says whether it moved or was cancelled
        # (rows left from an earlier schedule are cancelled and do not match).
        occurrence = next((o for o in exceptions if o.original_start == event.start), None)
        if occurrence is not None and occurrence.cancelled:
            return []
        start, end = (occurrence.start, occurrence.end) if occurrence else (event.start, event.end)
        return [_vevent(programme, uid=uid, start=start, end=end)]

    series = _vevent(programme, uid=uid, start=event.start, end=event.end)
    series.add("rrule", rrule_for(event))
    exceptions = sorted(exceptions, key=lambda o: o.original_start)
    cancelled = [to_local(o.original_start) for o in exceptions if o.cancelled]
    if cancelled:
        series.add("exdate", cancelled)
    components = [series]
    for occurrence in exceptions:
        if occurrence.cancelled or not occurrence.moved:
            continue
        moved = _vevent(programme, uid=uid, start=occurrence.start, end=occurrence.end)
        moved.add("recurrence-id", to_local(occurrence.original_start))
        components.append(moved)
    return components


def rrule_for(event) -> dict:
    """The RRULE of a django-scheduler Event, as a dict for icalendar's vRecur.

    Built from `Event._event_params()`, the very parameters django-scheduler hands
    to dateutil when the site materialises occurrences (it adjusts the Rule's
    params to the start date), so the feed and the site expand the same dates.
    UNTIL is the series' end in UTC, as RFC 5545 requires with a zoned DTSTART.
    """
    recur = {"FREQ": event.rule.frequency}
    for param, value in event._event_params().items():
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if param == "byweekday":
            values = [_day_code(v) for v in values]
        recur[_RRULE_PARTS[param]] = values
    if event.end_recurring_period is not None:
        recur["UNTIL"] = event.end_recurring_period.astimezone(dt.timezone.utc)
    return recur


def _day_code(value) -> str:
    # dateutil weekday objects (MO, TU(+2)) or plain numbers 0-6 (Monday = 0).
    if isinstance(value, int):
        return _DAY_CODES[value]
    code = _DAY_CODES[value.weekday]
    return f"{value.n}{code}" if value.n else code


def _uid(kind: str, pk: int) -> str:
    return f"{kind}-{pk}@{urlsplit(settings.SITE_URL).hostname}"


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    return calendar


def _vevent(programme: Programme, *, uid: str, start, end, modified=None) -> Event:
    """A VEVENT with what every event of the programme shares; times in the site's zone."""
    venue = programme.venue
    modified = (modified or programme.updated_at).astimezone(dt.timezone.utc)
    vevent = Event()
    vevent.add("uid", uid)
    vevent.add("dtstamp", modified)
    vevent.add("last-modified", modified)
    vevent.add("dtstart", to_local(start))
    vevent.add("dtend", to_local(end))
    vevent.add("summary", programme.title)
    if programme.description:
        vevent.add("description", programme.description)
    vevent.add("categories", [str(programme.get_category_display())])
    vevent.add("url", settings.SITE_URL + programme.get_absolute_url())
    vevent.add("location", f"{venue.name}, {venue.address}" if venue.address else venue.name)
    if venue.has_coordinates:
        vevent.add("geo", (float(venue.latitude), float(venue.longitude)))
    return vevent
