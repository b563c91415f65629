"""Reminders before a date, each recorded once, no SMS sent in quiet hours.

When. Each of Programme.reminder_hours before the start ("24,2": a day and two
hours before). An instant inside quiet hours (QUIET_HOURS_START to
QUIET_HOURS_END, local time) moves before them: QUIET_MARGIN before they began.
So with the default 21:00–07:00 an 08:00 event gets its 24-hour reminder at
08:00 the day before and its 2-hour reminder (06:00, quiet) at 20:30 the
evening before; a 14:00 event gets them at 14:00 the day before and at 12:00.

Who. Registrations that are confirmed, of dates not cancelled and not
started, confirmed before the reminder's instant (someone who registers an
hour before does not get the 2-hour reminder right after the confirmation).
By SMS those with a phone and SMS reminders on whose number has not opted out
(SmsOptOut); by e-mail, as well, those who gave an address, whatever their
phone's choices (see notifications.emails).

Once. The dispatcher runs every minute and records the reminders whose instant
is in the last REMINDER_LOOKBACK_MINUTES, skipping those recorded already. The
dedupe key "reminder:{registration}:{occurrence}:{hours}h" (the e-mail's:
"email:reminder:...") is unique in the database, so two dispatchers running
at once record one message: the second insert fails and is skipped. A date moved after its reminder went out does not
get it again (the registrants are told of the move instead).

Late. A dispatcher that was down catches up within the look-back. If it
catches up during quiet hours the SMS waits for their end, and is not sent if
the date starts before then (message_send holds SMS reminders in quiet hours
the same way, whatever delayed them); quiet hours never hold an e-mail.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from attendance.models import Registration
from common.timeutil import local_datetime, to_local
from events.models import Occurrence, Programme
from notifications.emails import EMAIL_KEY_PREFIX, email_key, email_render
from notifications.models import Message, SmsOptOut
from notifications.optout import optout_url
from notifications.services import messages_record
from notifications.templating import template_body
from notifications.texts import reminder_text

# How long before quiet hours a reminder that would fall inside them is sent.
QUIET_MARGIN = dt.timedelta(minutes=30)
# Reminders recorded per transaction of the dispatcher.
CHUNK = 500
# A run of the dispatcher task records chunk after chunk for up to this long,
# then queues itself again for the rest (ahead of the batches it handed over:
# services.BULK_PRIORITY). Under beat's one minute, so runs rarely overlap
# (they may: nothing is recorded twice).
DISPATCH_SECONDS = 45


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """Start and end of quiet hours (local clock), or None when there are none."""
    start, end = _clock(settings.QUIET_HOURS_START), _clock(settings.QUIET_HOURS_END)
    return None if start == end else (start, end)


def quiet_period(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The quiet period `moment` falls in, as (start, end) instants, or None."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = to_local(moment)
    for day in (local.date() - dt.timedelta(days=1), local.date()):
        begins = local_datetime(day, start)
        ends = local_datetime(day if end > start else day + dt.timedelta(days=1), end)
        if begins <= local < ends:
            return begins, ends
    return None


def _quiet_length() -> dt.timedelta:
    hours = quiet_hours()
    if hours is None:
        return dt.timedelta(0)
    day = dt.date(2000, 1, 3)
    start, end = (dt.datetime.combine(day, clock) for clock in hours)
    return (end - start) % dt.timedelta(days=1)


def reminder_due_at(start: dt.datetime, hours: int) -> dt.datetime:
    """When the reminder `hours` before `start` is sent: then, or before quiet hours."""
    instant = start - dt.timedelta(hours=hours)
    quiet = quiet_period(instant)
    return instant if quiet is None else quiet[0] - QUIET_MARGIN


def reminder_hours(value: str) -> list[int]:
    """Programme.reminder_hours ("24,2") as whole hours, largest first; what is
    not a positive number is ignored."""
    hours = {int(part) for part in (value or "").replace(" ", "").split(",") if part.isdigit() and int(part) > 0}
    return sorted(hours, reverse=True)


def reminder_key(registration_id: int, occurrence_id: int, hours: int) -> str:
    return f"reminder:{registration_id}:{occurrence_id}:{hours}h"


@dataclass
class DispatchResult:
    created: int = 0
    # A full chunk was recorded: run again for the rest.
    more: bool = False


def reminders_dispatch(*, now: dt.datetime | None = None, limit: int = CHUNK) -> DispatchResult:
    """Record (and hand over after commit) the reminders that are due at `now`,
    by SMS and by e-mail, at most `limit` messages.

    Guarantees: one message per (registration, occurrence, hours before,
    channel) ever, even with dispatchers running concurrently (unique dedupe
    key; a losing insert is skipped); work is picked by state, so a re-run after
    a crash or a second run records only what is missing. Each chunk of a date
    is one transaction, written with one multi-row INSERT … ON CONFLICT DO
    NOTHING (services.messages_record) and handed to workers when it commits,
    services.SEND_BATCH messages per task."""
    now = now or timezone.now()
    result = DispatchResult()
    for due in _due(now):
        occurrence, hours = due.occurrence, due.hours
        by_sms = list(_recipients(occurrence, hours, due.due_at)[: limit - result.created]) if due.sms else []
        by_email = list(_email_recipients(occurrence, hours, due.due_at)[: limit - result.created - len(by_sms)])
        for registration in (*by_sms, *by_email):
            registration.occurrence = occurrence  # read once (with programme, event, venue), not per row
        templates = {}  # one look-up per language, not per registrant
        messages = []
        for registration in by_sms:
            if registration.language not in templates:
                templates[registration.language] = template_body(
                    Message.Kind.REMINDER, venue=occurrence.venue, language=registration.language
                )
            text = reminder_text(
                registration, optout_url=optout_url(registration), template=templates[registration.language]
            )
            messages.append(Message(
                channel=Message.Channel.SMS,
                recipient=registration.phone,
                kind=Message.Kind.REMINDER,
                body=text,
                language=registration.language,
                registration=registration,
                occurrence=occurrence,
                venue=occurrence.venue,
                dedupe_key=reminder_key(registration.pk, occurrence.pk, hours),
                send_after=due.sms_send_after,
            ))
        for registration in by_email:
            # Not held by quiet hours, whatever holds the SMS; what
            # emails.registration_email_create records, in bulk.
            subject, body = email_render(registration, Message.Kind.REMINDER, text="")
            messages.append(Message(
                channel=Message.Channel.EMAIL,
                recipient=registration.email,
                kind=Message.Kind.REMINDER,
                subject=subject,
                body=body,
                language=_email_language(registration.language),
                registration=registration,
                occurrence=occurrence,
                venue=occurrence.venue,
                dedupe_key=email_key(reminder_key(registration.pk, occurrence.pk, hours)),
            ))
        with transaction.atomic():
            result.created += len(messages_record(messages))
        if result.created >= limit:
            result.more = True
            return result
    return result


def _email_language(language: str) -> str:
    """The language an e-mail is recorded in (as notifications.emails does)."""
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


@dataclass
class Due:
    occurrence: Occurrence
    hours: int
    due_at: dt.datetime
    # False when the dispatcher catches up in quiet hours that last until the
    # start: too late for an SMS, not for an e-mail.
    sms: bool = True
    # Not before then (the end of quiet hours when catching up in them).
    sms_send_after: dt.datetime | None = None


def _due(now: dt.datetime):
    """The reminders due at `now`, as Due."""
    lookback = dt.timedelta(minutes=settings.REMINDER_LOOKBACK_MINUTES)
    # A reminder moved before quiet hours is due up to this much before its instant.
    moved = _quiet_length() + QUIET_MARGIN if quiet_hours() else dt.timedelta(0)
    quiet_now = quiet_period(now)
    values = Programme.objects.exclude(reminder_hours="").values_list("reminder_hours", flat=True).distinct()
    all_hours = sorted({hours for value in values for hours in reminder_hours(value)}, reverse=True)
    for hours in all_hours:
        lead = dt.timedelta(hours=hours)
        occurrences = (
            Occurrence.objects.filter(
                cancelled=False,
                start__gt=max(now, now - lookback + lead),
                start__lte=now + lead + moved,
            )
            .exclude(programme__status=Programme.Status.CANCELLED)
            .select_related("programme__event", "venue")
            .order_by("start", "pk")
        )
        for occurrence in occurrences:
            if hours not in reminder_hours(occurrence.programme.reminder_hours):
                continue
            due_at = reminder_due_at(occurrence.start, hours)
            if not now - lookback < due_at <= now:
                continue
            due = Due(occurrence, hours, due_at)
            if quiet_now is not None:  # catching up in quiet hours: the SMS waits for them to end
                if quiet_now[1] >= occurrence.start:
                    due.sms = False
                else:
                    due.sms_send_after = quiet_now[1]
            yield due


def _recorded(occurrence: Occurrence, hours: int, *, prefix: str = ""):
    """The reminders recorded for the outer registration (by the dedupe key)."""
    return Message.objects.filter(
        dedupe_key=Concat(
            Value(f"{prefix}reminder:"), Cast(OuterRef("pk"), CharField()), Value(f":{occurrence.pk}:{hours}h"),
            output_field=CharField(),
        )
    )


def _reminded(occurrence: Occurrence, due_at: dt.datetime):
    """Registrations of `occurrence` that are reminded: confirmed before `due_at`."""
    return (
        Registration.objects.filter(occurrence=occurrence, status=Registration.Status.CONFIRMED)
        .annotate(since=Coalesce("confirmed_at", "created_at"))
        .filter(since__lt=due_at)
        .select_related("ticket")  # the occurrence is the caller's (reminders_dispatch sets it)
        .order_by("pk")
    )


def _recipients(occurrence: Occurrence, hours: int, due_at: dt.datetime):
    """Who gets the SMS: a phone with SMS reminders on that has not opted out."""
    return (
        _reminded(occurrence, due_at)
        .filter(sms_opt_in=True)
        .exclude(phone="")
        .exclude(phone__in=SmsOptOut.objects.values("phone"))
        .exclude(Exists(_recorded(occurrence, hours)))
    )


def _email_recipients(occurrence: Occurrence, hours: int, due_at: dt.datetime):
    """Who gets the e-mail: everyone who gave an address (the phone's choices
    are about SMS; giving an address is the choice of e-mail)."""
    return (
        _reminded(occurrence, due_at)
        .exclude(email="")
        .exclude(Exists(_recorded(occurrence, hours, prefix=EMAIL_KEY_PREFIX)))
    )
