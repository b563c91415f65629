"""What messages say. Short, because every SMS segment costs; in the registrant's language."""

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Message
from notifications.templating import fill, registration_values, template_body


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


def reminder_text(registration, *, optout_url: str, template: str | None = None) -> str:
    """The reminder before `registration`'s date, in its language: the venue's
    template or the built-in text ("Reminder: %(title)s, %(when)s at %(venue)s.
    Ticket: %(url)s Stop reminders: %(optout)s"); `template` when the caller
    looked it up already. The opt-out link is always there, added at the end if
    the venue's template leaves it out."""
    if template is None:
        template = template_body(Message.Kind.REMINDER, venue=registration.occurrence.venue, language=registration.language)
    text = fill(template, registration_values(registration, optout=optout_url))
    if optout_url not in text:
        text = f"{text} {optout_url}"
    return text
