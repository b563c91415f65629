"""E-mail copies of the messages to registrants who gave an address.

SMS is the main channel (every registration has a phone). A registrant who
also gave an e-mail address (Registration.email, optional) gets every message
about their registration by e-mail as well: confirmation with the ticket link,
waiting list, group request and its answer, promotion, cancellation,
reminders, a date cancelled or moved by the venue, and messages from staff.

Each e-mail is its own outbox row (channel "email"), recorded in the same
transaction as what causes it, with the SMS's dedupe key prefixed by "email:"
("email:registration:12:confirmation:0"): the SMS and the e-mail are each
recorded exactly once, and a key never matches the prefixes the SMS keys are
counted by. The text is rendered when recorded, in the registrant's language
(subject and plain-text body); the transport adds a simple HTML alternative
when it sends.

What differs from SMS (see notifications.services._refusal):
- the phone's choices (SmsOptOut, Registration.sms_opt_in) are about SMS and
  stop no e-mail; there is no separate e-mail choice: giving an address is it,
  so an e-mail reminder goes to every confirmed registrant who gave one;
- quiet hours, the SMS rate, the monthly SMS cap and segments/cost are SMS
  only (an e-mail has 0 segments and costs 0).
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.models import Message
from notifications.templating import registration_values

K = Message.Kind

# The kinds sent by e-mail too.
EMAIL_KINDS = (
    K.CONFIRMATION,
    K.WAITING,
    K.PENDING,
    K.PROMOTED,
    K.DECLINED,
    K.CANCELLED,
    K.REMINDER,
    K.OCCURRENCE_CANCELLED,
    K.OCCURRENCE_MOVED,
    K.STAFF,
)
# Copied by message_create next to their SMS. Reminders are not: their audience
# differs (an opted-out phone still gets its e-mail), so reminders_dispatch
# records them itself.
EMAIL_COPY_KINDS = tuple(kind for kind in EMAIL_KINDS if kind != K.REMINDER)

SUBJECT_MAX = Message._meta.get_field("subject").max_length
# Before the SMS's key in the e-mail's.
EMAIL_KEY_PREFIX = "email:"


def email_key(dedupe_key: str | None) -> str | None:
    """The dedupe key of the e-mail that goes with the SMS keyed `dedupe_key`."""
    return f"{EMAIL_KEY_PREFIX}{dedupe_key}" if dedupe_key else None


def email_subject(kind: str, values: dict) -> str:
    """The subject of an e-mail of `kind`, in the active language."""
    subjects = {
        K.CONFIRMATION: _("Registration confirmed: %(title)s"),
        K.WAITING: _("You are on the waiting list: %(title)s"),
        K.PENDING: _("Group request received: %(title)s"),
        K.PROMOTED: _("A seat is yours: %(title)s"),
        K.DECLINED: _("Group request declined: %(title)s"),
        K.CANCELLED: _("Registration cancelled: %(title)s"),
        K.REMINDER: _("Reminder: %(title)s, %(when)s"),
        K.OCCURRENCE_CANCELLED: _("Cancelled by the venue: %(title)s, %(when)s"),
        K.OCCURRENCE_MOVED: _("New time: %(title)s, %(when)s"),
        K.STAFF: _("Message from %(venue)s: %(title)s"),
    }
    subject = subjects[kind] % values
    # A header is one line.
    subject = " ".join(subject.split())
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def reminder_email_text(values: dict) -> str:
    """The reminder's own sentence: the SMS text (venue template) is not used
    because it carries the SMS opt-out link, which stops no e-mail."""
    return _("This is a reminder of your registration for %(title)s, %(when)s at %(venue)s.") % values


def email_render(registration, kind: str, *, text: str) -> tuple[str, str]:
    """(subject, plain-text body) of an e-mail of `kind` to `registration`,
    in its language: `text` (what the SMS says, with its diacritics), then
    the programme, date, place and ticket link."""
    language = _language(registration.language)
    values = registration_values(registration)
    occurrence = registration.occurrence
    with translation.override(language):
        if kind == K.REMINDER:
            text = reminder_email_text(values)
        subject = email_subject(kind, values)
        body = render_to_string(
            "notifications/email/message.txt",
            {
                **values,
                "text": text.strip(),
                "address": occurrence.venue.address,
                "has_ticket": getattr(registration, "ticket", None) is not None,
                "show_link": kind not in (K.CANCELLED, K.DECLINED, K.OCCURRENCE_CANCELLED),
            },
        )
    return subject, body.strip() + "\n"


def registration_email_create(
    *, registration, kind: str, text: str, dedupe_key: str | None, occurrence=None, venue=None, send_after=None
) -> Message | None:
    """Record the e-mail of `kind` to `registration` in the caller's transaction
    (sent after commit), keyed email_key(`dedupe_key`). None when the registrant
    gave no address or the e-mail is recorded already.

    `text` is the message's own text (the SMS body before SMS encoding); for a
    reminder it is replaced by reminder_email_text."""
    if not registration.email or kind not in EMAIL_KINDS:
        return None
    from notifications.services import message_create

    subject, body = email_render(registration, kind, text=text)
    return message_create(
        channel=Message.Channel.EMAIL,
        recipient=registration.email,
        kind=kind,
        subject=subject,
        body=body,
        language=_language(registration.language),
        registration=registration,
        occurrence=occurrence or registration.occurrence,
        venue=venue,
        dedupe_key=email_key(dedupe_key),
        send_after=send_after,
    )


def _language(language: str) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE
