"""A venue's own wording of its messages, with placeholders.

A template is plain text with placeholders in braces: "{title}, {when} tại
{venue}. Vé: {url}". Each kind of message knows which placeholders it can fill
(PLACEHOLDERS_BY_KIND); anything else in braces is refused when the template is
saved (`template_errors`). Without a venue template, the built-in text of the
kind is used, in the registrant's language.

Placeholders are filled by a regular expression, never by str.format: a
template is typed by staff and must not reach attributes of the values.
"""

import re

from django.conf import settings
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.models import Message, MessageTemplate

K = Message.Kind

# Every placeholder a template may use, with what it becomes.
PLACEHOLDERS = {
    "title": gettext_lazy("title of the programme"),
    "when": gettext_lazy("time and date, e.g. 09:00 21/04/2026"),
    "venue": gettext_lazy("name of the venue"),
    "url": gettext_lazy("link to the ticket"),
    "name": gettext_lazy("name of the registrant"),
    "position": gettext_lazy("place on the waiting list"),
    "optout": gettext_lazy("link to stop reminders"),
}
_COMMON = ("title", "when", "venue", "url", "name")

# Kinds sent to registrants that a venue may word itself, in the editor's order.
TEMPLATE_KINDS = (
    K.CONFIRMATION,
    K.WAITING,
    K.PROMOTED,
    K.PENDING,
    K.DECLINED,
    K.CANCELLED,
    K.REMINDER,
    K.OCCURRENCE_CANCELLED,
    K.OCCURRENCE_MOVED,
)

PLACEHOLDERS_BY_KIND = {kind: _COMMON for kind in TEMPLATE_KINDS}
PLACEHOLDERS_BY_KIND[K.WAITING] = (*_COMMON, "position")
PLACEHOLDERS_BY_KIND[K.REMINDER] = (*_COMMON, "optout")
# A staff message to the registrants of a date is filled per registrant too.
PLACEHOLDERS_BY_KIND[K.STAFF] = _COMMON

TEMPLATE_LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)

# "{name}" is a placeholder; anything else in braces is an error when saved.
_BRACED = re.compile(r"\{([^{}]*)\}")


def builtin_template(kind: str, language: str) -> str:
    """The built-in text of `kind` in `language`, with {placeholders}.

    The messages are those of notifications.texts (same msgids, so the same
    translations), written with braces here."""
    with translation.override(_language(language)):
        texts = {
            K.CONFIRMATION: _("Registered: %(title)s, %(when)s at %(venue)s. Ticket: %(url)s"),
            K.WAITING: _("Waiting list no. %(position)s: %(title)s, %(when)s. Details: %(url)s"),
            K.PENDING: _("Group request received: %(title)s, %(when)s. The venue will confirm. Details: %(url)s"),
            K.PROMOTED: _("A seat is yours: %(title)s, %(when)s at %(venue)s. Ticket: %(url)s"),
            K.DECLINED: _("The venue could not accept your group for %(title)s, %(when)s."),
            K.CANCELLED: _("Your registration for %(title)s, %(when)s is cancelled."),
            K.REMINDER: _("Reminder: %(title)s, %(when)s at %(venue)s. Ticket: %(url)s Stop reminders: %(optout)s"),
            K.OCCURRENCE_CANCELLED: _("Cancelled by the venue: %(title)s, %(when)s at %(venue)s. We are sorry."),
            K.OCCURRENCE_MOVED: _(
                "New time: %(title)s is now %(when)s at %(venue)s. Your ticket stays valid: %(url)s"
            ),
        }
    if kind not in texts:
        raise ValueError(kind)
    return re.sub(r"%\((\w+)\)[sd]", r"{\1}", texts[kind])


def template_errors(body: str, kind: str) -> list[str]:
    """What is wrong with the placeholders of `body` for `kind` (empty: nothing)."""
    allowed = PLACEHOLDERS_BY_KIND.get(kind, ())
    errors = []
    seen = set()
    for match in _BRACED.finditer(body):
        name = match.group(1)
        if name in allowed or match.group(0) in seen:
            continue
        seen.add(match.group(0))
        available = ", ".join("{%s}" % p for p in allowed)
        if name in PLACEHOLDERS:
            errors.append(
                _("%(placeholder)s cannot be used in this message. Available: %(available)s.")
                % {"placeholder": match.group(0), "available": available}
            )
        else:
            errors.append(
                _("Unknown placeholder %(placeholder)s. Available: %(available)s.")
                % {"placeholder": match.group(0), "available": available}
            )
    return errors


def fill(body: str, values: dict) -> str:
    """`body` with each known {placeholder} replaced by its value ("" when missing)."""

    def replace(match):
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        value = values.get(name)
        return "" if value is None else str(value)

    return _BRACED.sub(replace, body)


def venue_template(kind: str, *, venue, language: str) -> MessageTemplate | None:
    if venue is None:
        return None
    return MessageTemplate.objects.filter(venue=venue, kind=kind, language=_language(language)).first()


def venue_template_read(venue_column: str, kind: str, language: str) -> tuple[str, list]:
    """A scalar SQL subquery (and its parameters): the body of the template of `kind`
    in `language` of the venue whose id is in `venue_column` of the enclosing
    query, NULL when it has none. What venue_template reads, read inside another
    statement (see message_text's `venue_body`)."""
    quote = connection.ops.quote_name
    meta = MessageTemplate._meta
    column = lambda name: quote(meta.get_field(name).column)  # noqa: E731
    sql = (
        f"(SELECT {column('body')} FROM {quote(meta.db_table)} WHERE {column('venue')} = {venue_column} "
        f"AND {column('kind')} = %s AND {column('language')} = %s)"  # at most one: template_one_per_kind
    )
    return sql, [kind, _language(language)]


_UNREAD = object()


def template_body(kind: str, *, venue, language: str, venue_body=_UNREAD) -> str:
    """The venue's template of `kind` in `language`, or the built-in one.
    `venue_body`: the venue's template body as already read (venue_template_read;
    None when it has none), saving the query."""
    if venue_body is _UNREAD:
        template = venue_template(kind, venue=venue, language=language)
        venue_body = template.body if template else None
    return venue_body if venue_body is not None else builtin_template(kind, language)


def message_text(kind: str, *, venue, language: str, values: dict, venue_body=_UNREAD) -> str:
    """The text of a message: the venue's template for `kind` and `language`
    filled with `values`, or the built-in text when the venue has none."""
    return fill(template_body(kind, venue=venue, language=language, venue_body=venue_body), values)


# -- values -------------------------------------------------------------------------


def when_text(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M %d/%m/%Y")


def registration_values(registration, **extra) -> dict:
    """Placeholder values for a message to `registration` (`extra`: position, optout)."""
    occurrence = registration.occurrence
    ticket = getattr(registration, "ticket", None)
    path = ticket.get_absolute_url() if ticket is not None else occurrence.get_absolute_url()
    values = {
        "title": occurrence.programme.event.title,
        "when": when_text(occurrence.start),
        "venue": occurrence.venue.name,
        "url": settings.SITE_URL + path,
        "name": registration.full_name,
    }
    values.update(extra)
    return values


def registration_message_text(registration, kind: str, *, venue_body=_UNREAD, **extra) -> str:
    """Drop-in for notifications.texts.registration_text that uses the venue's
    template when there is one (`venue_body`: see template_body)."""
    return message_text(
        kind,
        venue=registration.occurrence.venue,
        language=registration.language,
        values=registration_values(registration, **extra),
        venue_body=venue_body,
    )


def sample_values(*, venue) -> dict:
    """Realistic values for a preview, of the length of real ones. Titles and
    names are Vietnamese whatever the registrant's language, so an English
    message is usually UCS-2 too unless sent without diacritics."""
    return {
        "title": "Ngày Sách và Văn hóa đọc Việt Nam",
        "when": "09:00 21/04/2026",
        "venue": venue.name if venue is not None else "Thư viện tỉnh",
        # A ticket secret is 27 characters (secrets.token_urlsafe(20)).
        "url": settings.SITE_URL + reverse("attendance:ticket", args=["x" * 27]),
        "name": "Nguyễn Thị Minh Anh",
        "position": "3",
        "optout": settings.SITE_URL + _sample_optout_path(),
    }


def _sample_optout_path() -> str:
    # An opt-out token is about 17 characters (notifications.optout).
    try:
        return reverse("sms_optout:optout", args=["a1b2-AbCdEfGhIjKl"])
    except NoReverseMatch:
        return "/sms/optout/a1b2-AbCdEfGhIjKl/"


def _language(language: str) -> str:
    return language if language in TEMPLATE_LANGUAGES else settings.LANGUAGE_CODE
