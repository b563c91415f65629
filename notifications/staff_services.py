"""What venue staff do with messages: their templates and SMS policy, the
messages to every registrant of a date (cancelled or moved by the venue, or a
message written by staff), resending a failed message, and the monthly count.

Messages are only ever recorded through notifications.services.message_create,
in the caller's transaction, with a dedupe key that makes a repeated action
(a double click, a second call) record nothing more. Registrants who gave an
e-mail address get each message by e-mail too (notifications.emails; the
e-mail's key is the SMS's prefixed with "email:").
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import DomainError
from notifications.models import Message, MessageTemplate, SmsPolicy
from notifications.services import message_create
from notifications.templating import (
    TEMPLATE_KINDS,
    TEMPLATE_LANGUAGES,
    fill,
    registration_values,
    template_body,
    template_errors,
)

# Monthly totals are counted in the venues' own calendar.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

OCCURRENCE_CHANGES = {
    "cancelled": Message.Kind.OCCURRENCE_CANCELLED,
    "moved": Message.Kind.OCCURRENCE_MOVED,
}

# Who a staff message goes to.
AUDIENCE_CONFIRMED = "confirmed"
AUDIENCE_WAITING = "waiting"
AUDIENCE_ALL = "all"

# A failed message may be sent again; the others are on their way or arrived.
RESENDABLE = (Message.Status.FAILED, Message.Status.UNDELIVERED)

STAFF_MESSAGE_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class MessagingError(DomainError):
    pass


def _audience_statuses(audience: str) -> tuple[str, ...]:
    from attendance.models import Registration

    S = Registration.Status
    statuses = {
        AUDIENCE_CONFIRMED: (S.CONFIRMED,),
        AUDIENCE_WAITING: (S.WAITING,),
        AUDIENCE_ALL: tuple(Registration.ACTIVE),
    }
    if audience not in statuses:
        raise MessagingError("bad_audience", _("Choose who receives the message."), field="audience")
    return statuses[audience]


def _recipients(occurrence, statuses):
    from attendance.models import Registration

    # Erased registrations have no phone left: nothing to send to.
    return (
        Registration.objects.filter(occurrence=occurrence, status__in=statuses)
        .exclude(phone="")
        .select_related("ticket", "occurrence__programme__event", "occurrence__venue")
        .order_by("pk")
    )


# -- templates and policy -----------------------------------------------------------


def template_save(*, venue, kind: str, language: str, body: str, user=None) -> MessageTemplate:
    """Save the venue's wording of `kind` in `language`. Raises MessagingError
    `unknown_placeholder` (the message names it) or `empty`."""
    if kind not in TEMPLATE_KINDS or language not in TEMPLATE_LANGUAGES:
        raise MessagingError("bad_template", _("This message cannot be edited."))
    body = normalise_newlines(body).strip()
    if not body:
        raise MessagingError("empty", _("Enter the text of the message."), field="body")
    errors = template_errors(body, kind)
    if errors:
        raise MessagingError("unknown_placeholder", " ".join(errors), field="body")
    template, _created = MessageTemplate.objects.update_or_create(
        venue=venue, kind=kind, language=language, defaults={"body": body, "updated_by": user}
    )
    return template


def template_reset(*, venue, kind: str, language: str) -> bool:
    """Back to the built-in text; True when the venue had its own."""
    deleted, _rows = MessageTemplate.objects.filter(venue=venue, kind=kind, language=language).delete()
    return bool(deleted)


def sms_policy_for(venue) -> SmsPolicy:
    """The venue's policy (unsaved defaults when it never set one)."""
    return SmsPolicy.objects.filter(venue=venue).first() or SmsPolicy(venue=venue)


def sms_policy_update(*, venue, without_diacritics: bool, monthly_cap: int | None) -> SmsPolicy:
    policy, _created = SmsPolicy.objects.update_or_create(
        venue=venue, defaults={"without_diacritics": without_diacritics, "monthly_cap": monthly_cap}
    )
    return policy


def normalise_newlines(text: str) -> str:
    # Browsers send a textarea's line breaks as CRLF; an SMS counts "\n" once.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


# -- messages to every registrant of a date ----------------------------------------


def occurrence_change_notify(*, occurrence, change: str) -> int:
    """Tell every active registrant (confirmed, pending, waiting) that the venue
    cancelled or moved `occurrence`; returns how many messages were recorded.

    Called at the end of events.services.occurrence_cancel / occurrence_move,
    inside their transaction and with the occurrence row locked. The key
    "occurrence:{id}:{change}:{registration}:{n}" counts the changes of that
    kind already told to the registrant, so a second move is a new message
    while calling twice for the same change in a race is impossible (the row
    lock serialises the callers). A date that is already over is not told.
    """
    kind = OCCURRENCE_CHANGES.get(change)
    if kind is None:
        raise ValueError(change)
    if occurrence.end <= timezone.now():
        return 0
    from attendance.models import Registration

    prefix = f"occurrence:{occurrence.pk}:{change}:"
    told = dict(
        Message.objects.filter(occurrence_id=occurrence.pk, kind=kind, dedupe_key__startswith=prefix)
        .order_by()
        .values_list("registration_id")
        .annotate(n=Count("pk"))
    )
    bodies: dict[str, str] = {}  # the template of each language, read once
    created = 0
    for registration in _recipients(occurrence, Registration.ACTIVE):
        n = told.get(registration.pk, 0)
        language = registration.language
        if language not in bodies:
            bodies[language] = template_body(kind, venue=registration.occurrence.venue, language=language)
        message = message_create(
            channel=Message.Channel.SMS,
            recipient=registration.phone,
            kind=kind,
            body=fill(bodies[language], registration_values(registration)),
            language=registration.language,
            registration=registration,
            occurrence=registration.occurrence,
            dedupe_key=f"{prefix}{registration.pk}:{n}",
        )
        created += message is not None
    return created


def staff_message_recipient_counts(*, occurrence) -> dict[str, int]:
    """How many registrants each audience reaches (registrations with a phone)."""
    from attendance.models import Registration

    S = Registration.Status
    base = Registration.objects.filter(occurrence=occurrence).exclude(phone="")
    counts = base.aggregate(
        confirmed=Count("pk", filter=Q(status=S.CONFIRMED)),
        waiting=Count("pk", filter=Q(status=S.WAITING)),
        all=Count("pk", filter=Q(status__in=Registration.ACTIVE)),
    )
    return {AUDIENCE_CONFIRMED: counts["confirmed"], AUDIENCE_WAITING: counts["waiting"], AUDIENCE_ALL: counts["all"]}


@transaction.atomic
def staff_message_send(*, occurrence, body: str, audience: str, token: str) -> int:
    """Record a message written by staff for the registrants of `occurrence`
    (`audience`: confirmed, waiting or all active), filled per registrant;
    returns how many were recorded.

    `token` identifies the form it came from: the same form submitted twice
    records nothing more ("staff:{occurrence}:{token}:{registration}").
    Raises MessagingError (empty, unknown_placeholder, bad_audience, bad_token).
    """
    body = normalise_newlines(body).strip()
    if not body:
        raise MessagingError("empty", _("Enter the text of the message."), field="body")
    errors = template_errors(body, Message.Kind.STAFF)
    if errors:
        raise MessagingError("unknown_placeholder", " ".join(errors), field="body")
    if not STAFF_MESSAGE_TOKEN.match(token or ""):
        raise MessagingError("bad_token", _("The form has expired: please send it again."))
    statuses = _audience_statuses(audience)
    created = 0
    for registration in _recipients(occurrence, statuses):
        message = message_create(
            channel=Message.Channel.SMS,
            recipient=registration.phone,
            kind=Message.Kind.STAFF,
            body=fill(body, registration_values(registration)),
            language=registration.language,
            registration=registration,
            occurrence=registration.occurrence,
            dedupe_key=f"staff:{occurrence.pk}:{token}:{registration.pk}",
        )
        created += message is not None
    return created


# -- resend -------------------------------------------------------------------------


@transaction.atomic
def message_resend(*, message: Message, n: int | None = None) -> Message | None:
    """Record a copy of a failed message, to be sent again; the original is
    left as it is. The copy's key is "resend:{original}:{n}", n the number of
    copies made before (the form sends the n it saw, so a double click records
    one copy); None when that copy exists already.

    Raises MessagingError `not_failed` for a message that did not fail.
    """
    original = Message.objects.select_for_update().get(pk=message.pk)
    if original.status not in RESENDABLE:
        raise MessagingError("not_failed", _("Only a message that failed can be sent again."))
    prefix = f"resend:{original.pk}:"
    if n is None:
        n = Message.objects.filter(dedupe_key__startswith=prefix).count()
    return message_create(
        channel=original.channel,
        recipient=original.recipient,
        kind=original.kind,
        body=original.body,
        subject=original.subject,
        language=original.language,
        registration=original.registration,
        occurrence=original.occurrence,
        venue=original.venue,
        dedupe_key=f"{prefix}{n}",
        # A copy of this one row: the e-mail of a failed SMS went its own way.
        with_email=False,
    )


def resend_count(message: Message) -> int:
    return Message.objects.filter(dedupe_key__startswith=f"resend:{message.pk}:").count()


def resend_counts(message_ids) -> dict[int, int]:
    """How many copies were made of each of `message_ids` (one query)."""
    message_ids = list(message_ids)
    if not message_ids:
        return {}
    condition = Q()
    for pk in message_ids:
        condition |= Q(dedupe_key__startswith=f"resend:{pk}:")
    counts: dict[int, int] = {}
    for key in Message.objects.filter(condition).values_list("dedupe_key", flat=True):
        original = int(key.split(":")[1])
        counts[original] = counts.get(original, 0) + 1
    return counts


# -- reads: totals ------------------------------------------------------------------


@dataclass
class MonthTotal:
    month: dt.date  # first day of the month
    messages: int = 0
    segments: int = 0
    cost: Decimal = Decimal(0)
    failed: int = 0


def _month_start(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


# What counts: SMS that left or will leave. A failed message cost nothing.
_SENT = ~Q(status=Message.Status.FAILED)


def monthly_totals(*, venue, months: int = 12, now: dt.datetime | None = None) -> list[MonthTotal]:
    """SMS of `venue` per month (Vietnam time) for the last `months` months,
    oldest first, every month present: messages and segments sent or to be
    sent, their estimated cost, and how many failed. One aggregate query."""
    today = timezone.localtime(now or timezone.now(), LOCAL_TZ).date()
    first = _month_start(today, months - 1)
    since = dt.datetime.combine(first, dt.time.min, tzinfo=LOCAL_TZ)
    rows = (
        Message.objects.filter(venue=venue, channel=Message.Channel.SMS, created_at__gte=since)
        .annotate(month=TruncMonth("created_at", tzinfo=LOCAL_TZ))
        .values("month")
        .annotate(
            messages=Count("pk", filter=_SENT),
            segments=Sum("segments", filter=_SENT),
            cost=Sum("cost", filter=_SENT),
            failed=Count("pk", filter=Q(status=Message.Status.FAILED)),
        )
        .order_by("month")
    )
    by_month = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = timezone.localtime(month, LOCAL_TZ).date() if timezone.is_aware(month) else month.date()
        by_month[(month.year, month.month)] = row
    totals = []
    for back in range(months - 1, -1, -1):
        month = _month_start(today, back)
        row = by_month.get((month.year, month.month))
        if row is None:
            totals.append(MonthTotal(month))
        else:
            totals.append(
                MonthTotal(
                    month,
                    messages=row["messages"],
                    segments=row["segments"] or 0,
                    cost=Decimal(row["cost"] or 0),
                    failed=row["failed"],
                )
            )
    return totals


def month_segments_used(*, venue, now: dt.datetime | None = None) -> int:
    """Segments of SMS of `venue` this month (Vietnam time), failed ones excepted."""
    today = timezone.localtime(now or timezone.now(), LOCAL_TZ).date()
    since = dt.datetime.combine(_month_start(today), dt.time.min, tzinfo=LOCAL_TZ)
    used = Message.objects.filter(
        _SENT, venue=venue, channel=Message.Channel.SMS, created_at__gte=since
    ).aggregate(segments=Sum("segments"))["segments"]
    return used or 0
