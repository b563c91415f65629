"""What messages say. Short, because every SMS segment costs; in the registrant's language."""

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Message
from notifications.templating import fill, registration_values, template_body


def _when(occurrence) -> str:
    return timezone.localtime(occurrence.start).strftime("%H:%M %d/%m/%Y")


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
