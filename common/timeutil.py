"""One notion of time: aware datetimes, shown in the site's zone (Asia/Ho_Chi_Minh)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def to_local(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to the site's ZoneInfo zone.

    django-scheduler expands rules in the zone of the bounds it is given and looks
    that zone up by name, so a fixed offset such as +07:00 must never reach it.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=local_zone())
    return value.astimezone(local_zone())


def local_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=local_zone())
