"""Links that put events in people's calendars.

Usage in templates:
    {% load calendar_tags %}
    <a href="{% webcal_url 'feeds:venue' venue.slug %}">...</a>       (webcal:// subscription)
    <a href="{% google_calendar_url occurrence %}">...</a>            (Add to Google Calendar)
"""

import datetime as dt
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


def _absolute(request, path: str) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL + path


@register.simple_tag(takes_context=True)
def webcal_url(context, url_name, *args):
    """A webcal:// link to a feed, for one-tap subscription on phones."""
    url = _absolute(context.get("request"), reverse(url_name, args=args))
    return "webcal://" + url.split("://", 1)[1]


@register.simple_tag(takes_context=True)
def google_calendar_url(context, occurrence):
    fmt = "%Y%m%dT%H%M%SZ"
    start = occurrence.start.astimezone(dt.timezone.utc).strftime(fmt)
    end = occurrence.end.astimezone(dt.timezone.utc).strftime(fmt)
    venue = occurrence.venue
    details = _absolute(context.get("request"), occurrence.get_absolute_url())
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": occurrence.programme.title,
            "dates": f"{start}/{end}",
            "details": details,
            "location": f"{venue.name}, {venue.address}",
            "ctz": settings.TIME_ZONE,
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"
