"""What messages say. Short, because every SMS segment costs; in the registrant's language."""

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Message


def _when(occurrence) -> str:
    return timezone.localtime(occurrence.start).strftime("%H:%M %d/%m/%Y")


def registration_text(registration, kind: str, *, position: int | None = None) -> str:
    occurrence = registration.occurrence
    title = occurrence.programme.event.title
    url = settings.SITE_URL + registration.ticket.get_absolute_url()
    values = {"title": title, "when": _when(occurrence), "venue": occurrence.venue.name, "url": url, "position": position}
    with translation.override(registration.language):
        if kind == Message.Kind.CONFIRMATION:
            return _("Registered: %(title)s, %(when)s at %(venue)s. Ticket: %(url)s") % values
        if kind == Message.Kind.WAITING:
            return _("Waiting list no. %(position)s: %(title)s, %(when)s. Details: %(url)s") % values
        if kind == Message.Kind.PENDING:
            return _("Group request received: %(title)s, %(when)s. The venue will confirm. Details: %(url)s") % values
        if kind == Message.Kind.PROMOTED:
            return _("A seat is yours: %(title)s, %(when)s at %(venue)s. Ticket: %(url)s") % values
        if kind == Message.Kind.DECLINED:
            return _("The venue could not accept your group for %(title)s, %(when)s.") % values
        if kind == Message.Kind.CANCELLED:
            return _("Your registration for %(title)s, %(when)s is cancelled.") % values
    raise ValueError(kind)


def ticket_lookup_text(url: str, language: str = "vi") -> str:
    with translation.override(language):
        return _("Your tickets: %(url)s (valid for 1 hour)") % {"url": url}
