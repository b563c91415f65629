"""Writes for the outbox: a message is recorded with what causes it, handed to a
worker after commit, and sent by whoever claims it first.

A message's life (Message.status):

    pending ──claim──▶ queued ──provider accepted──▶ sent ──callbacks──▶ delivered / undelivered / failed
       ▲                 │
       └──── transient ──┤  error: back to pending with send_after = back-off
                         └─ permanent error, too many attempts ──▶ failed

Exactly once. A worker claims a pending, due row with a conditional UPDATE that
commits `queued`, `attempts + 1` and the claim time *before* the provider is
called, and records the provider's id with a second conditional UPDATE as soon
as the call returns. A task delivered twice (acks_late, a redelivery after a
lost worker, the sweep handing over a row that is also in the queue) finds the
row queued or sent and does nothing, so the provider is called at most once per
claim.

The one window left is a worker killed after the provider accepted the message
and before the second UPDATE committed: the row stays queued with no provider
id. The sweep settles such a row once its claim is older than
OUTBOX_STALE_SECONDS (longer than any provider call, so the worker is surely
gone): it asks the transport whether the provider has the message
(`find_accepted(message)` → the provider's id or None) and marks it sent, or
pending again to be sent. A transport that cannot tell leaves it failed "in
doubt" (staff can resend it): at most once rather than twice. A transport
that knows a call may have reached the provider without an answer (a read
timeout) raises TransportError with `in_doubt = True`: the claim is then left
for the sweep in the same way, instead of being retried blindly.
"""

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from common.timeutil import to_local
from notifications.models import Message, SmsOptOut, SmsPolicy
from notifications.sms import sms_cost, sms_prepare
from notifications.transports import TransportError, transport_for

logger = logging.getLogger(__name__)

# What `last_error` says when the outbox itself decided not to send.
ERROR_OPTED_OUT = "opted out"
ERROR_MONTHLY_CAP = "monthly cap reached"
ERROR_OBSOLETE = "no longer relevant"  # a reminder for a cancelled registration or date, or one too late
ERROR_IN_DOUBT = "in doubt: the worker was lost while calling the provider; not resent to avoid a duplicate"
NOTE_RECOVERED = "recovered: the provider had accepted it before the worker was lost"
NOTE_LOST = "worker lost before the provider had it; sending again"

# Kinds that stop at the venue's monthly cap. Everything about a person's own
# registration (confirmation, ticket link, waiting list, cancellation, a moved
# or cancelled date) still goes: it answers what they did or changes their plans.
CAPPED_KINDS = (Message.Kind.REMINDER, Message.Kind.STAFF)

# Longer delays are not handed to the broker as a countdown (Redis would redeliver
# a task held past its visibility timeout); the sweep hands them over when due.
MAX_COUNTDOWN_SECONDS = 900
# After the broker refused a task, this process stops trying for a while so that
# registrations do not each wait for a dead broker; the sweep catches up.
BROKER_PAUSE_SECONDS = 30
# One immediate reconnect (a pooled connection gone stale after a broker
# restart), no waiting: the outbox is the retry. (Celery's default retries for
# about 0.6 s, and retry=False waits for the connection timeout, 4 s or more.)
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}
# Messages the sweep hands over at most per run (it never fills the queue beyond).
SWEEP_BATCH = 1000

_broker_down_until = 0.0


def message_create(
    *,
    channel: str,
    recipient: str,
    kind: str,
    body: str,
    subject: str = "",
    language: str = "vi",
    registration=None,
    occurrence=None,
    venue=None,
    dedupe_key: str | None = None,
    send_after=None,
    with_email: bool = True,
) -> Message | None:
    """Record a message in the caller's transaction and hand it to a worker after
    commit. With `dedupe_key`, a second call for the same key records nothing and
    returns None (also when a concurrent transaction recorded it first).

    An SMS about a registration (a kind in emails.EMAIL_COPY_KINDS) whose
    registrant gave an e-mail address is also recorded as an e-mail, in the same
    transaction, keyed "email:{dedupe_key}" (notifications.emails);
    `with_email=False` records the SMS alone (a resend copies one row).

    Never fails or waits because the broker is down: the row stays pending and
    the periodic sweep hands it over later."""
    venue = venue or (occurrence.venue if occurrence is not None else None)
    text = body
    encoding, segments, cost = "", 0, 0
    if channel == Message.Channel.SMS:
        policy = SmsPolicy.objects.filter(venue=venue).first() if venue is not None else None
        sms = sms_prepare(body, without_diacritics=bool(policy and policy.without_diacritics))
        body, encoding, segments, cost = sms.text, sms.encoding, sms.segments, sms_cost(sms.segments)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                channel=channel, recipient=recipient, kind=kind, body=body, subject=subject, language=language,
                registration=registration, occurrence=occurrence, venue=venue, dedupe_key=dedupe_key,
                encoding=encoding, segments=segments, cost=cost, send_after=send_after,
            )
    except IntegrityError:
        if dedupe_key and Message.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    transaction.on_commit(lambda: _hand_over(message.pk, send_after))
    if with_email and channel == Message.Channel.SMS and registration is not None:
        from notifications.emails import EMAIL_COPY_KINDS, registration_email_create

        if kind in EMAIL_COPY_KINDS:
            # Without `send_after`: what holds an SMS (quiet hours) never holds an e-mail.
            registration_email_create(
                registration=registration, kind=kind, text=text, dedupe_key=dedupe_key,
                occurrence=occurrence, venue=venue,
            )
    return message


def _eager() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


def _hand_over(message_id: int, send_after: dt.datetime | None = None) -> bool:
    from notifications.tasks import message_send_task

    countdown = None
    if send_after is not None:
        countdown = (send_after - timezone.now()).total_seconds()
        if countdown <= 0:
            countdown = None
    return _enqueue(message_send_task, message_id, countdown=countdown)


def _enqueue(task, *args, countdown: float | None = None, **kwargs) -> bool:
    """Queue `task`; False when it was not (broker down, delay too long, or no
    broker to hold a delayed task): the row stays pending for the sweep."""
    global _broker_down_until
    eager = task.app.conf.task_always_eager
    if countdown and (countdown > MAX_COUNTDOWN_SECONDS or eager):
        return False
    if eager:
        try:
            task.apply(args, kwargs, throw=True)
        except Exception:  # noqa: BLE001 - what caused the message must not fail with it
            logger.exception("Running %s%s eagerly failed", task.name, args)
        return True
    if time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args, kwargs, countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY)
    except Exception:  # noqa: BLE001 - any broker error
        _broker_down_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("Could not queue %s%s; the outbox sweep will hand it over", task.name, args, exc_info=True)
        return False
    return True


# -- sending ------------------------------------------------------------------------


def message_send(*, message_id: int, now: dt.datetime | None = None) -> Message | None:
    """Send one message if it is pending and due. Safe to run any number of
    times, concurrently: only the caller whose conditional UPDATE moves the row
    from pending to queued calls the provider, once.

    Returns the message after this attempt, or None when there was nothing to do
    (not pending, not due yet, claimed by another worker, or deferred by the rate
    limit; a deferred or not-yet-due message is queued again for its time).
    Before claiming, a reminder that is no longer relevant, an SMS reminder to
    an opted-out number or an SMS past the venue's monthly cap is marked failed
    (see ERROR_*), and an SMS reminder due in quiet hours is held until they
    end; e-mails are not held by quiet hours, opt-outs, the SMS rate or the cap.

    Never raises TransportError: a transient error puts the message back to
    pending with an exponential back-off (failed after OUTBOX_RETRY_MAX_ATTEMPTS
    attempts); a permanent one fails it; one marked `in_doubt` leaves the row
    queued. Any other exception from the transport propagates and leaves the
    row queued too: whether the provider has the message is unknown, and the
    sweep settles it (message_recover).
    """
    now = now or timezone.now()
    message = Message.objects.select_related("registration", "occurrence").filter(pk=message_id).first()
    if message is None or message.status != Message.Status.PENDING:
        return None
    if message.send_after is not None and message.send_after > now:
        _hand_over(message.pk, message.send_after)
        return None

    pending = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING)
    refusal = _refusal(message, now=now)
    if isinstance(refusal, dt.datetime):  # quiet hours: hold it until they end
        if pending.update(send_after=refusal):
            _hand_over(message.pk, refusal)
        return None
    if refusal:
        pending.update(status=Message.Status.FAILED, last_error=refusal, status_changed_at=now)
        message.refresh_from_db()
        return message
    if message.channel == Message.Channel.SMS:
        wait = sms_rate_wait()
        if wait:
            # Over the provider's rate: not dropped, tried again when a slot is free.
            send_after = now + dt.timedelta(seconds=wait)
            if pending.update(send_after=send_after):
                _hand_over(message.pk, send_after)
            return None

    # The claim: committed before the provider is called. `attempts` as read
    # makes it a compare-and-set, so the number is this claim's own token.
    attempt = message.attempts + 1
    claimed = (
        pending.filter(attempts=message.attempts)
        .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
        .update(status=Message.Status.QUEUED, attempts=attempt, status_changed_at=now)
    )
    if not claimed:
        return None
    message.status, message.attempts, message.status_changed_at = Message.Status.QUEUED, attempt, now
    try:
        provider_id = transport_for(message.channel).notify(message)
    except TransportError as error:
        if getattr(error, "in_doubt", False):
            # E.g. a timeout after the request left: the provider may have it.
            # The claim stays, for the sweep to settle like a lost worker's.
            logger.warning("Message %s in doubt after attempt %s: %s", message.pk, attempt, error.message)
            Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, attempts=attempt).update(
                last_error=error.message
            )
            return message
        return _after_error(message, attempt, error)
    # Recorded at once, and only by the claim that called the provider.
    sent_at = timezone.now()
    fields = {"status": Message.Status.SENT, "provider_id": provider_id or "", "sent_at": sent_at,
              "status_changed_at": sent_at, "last_error": ""}
    if not Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, attempts=attempt).update(**fields):
        logger.error("Message %s was settled by the sweep while its provider call was running", message.pk)
        message.refresh_from_db()
        return message
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def _after_error(message: Message, attempt: int, error: TransportError) -> Message:
    now = timezone.now()
    claim = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, attempts=attempt)
    if error.permanent or attempt >= settings.OUTBOX_RETRY_MAX_ATTEMPTS:
        text = error.message if error.permanent else f"gave up after {attempt} attempts: {error.message}"
        claim.update(status=Message.Status.FAILED, last_error=text, status_changed_at=now)
    else:
        delay = retry_delay(attempt, retry_after=getattr(error, "retry_after", None))
        send_after = now + dt.timedelta(seconds=delay)
        if claim.update(
            status=Message.Status.PENDING, send_after=send_after, last_error=error.message, status_changed_at=now
        ):
            _hand_over(message.pk, send_after)
    message.refresh_from_db()
    return message


def retry_delay(attempt: int, *, retry_after: float | None = None) -> float:
    """Seconds before attempt `attempt + 1`: exponential from
    OUTBOX_RETRY_BASE_SECONDS, capped at OUTBOX_RETRY_MAX_SECONDS, with jitter
    (half of it random, so retries of a burst spread out); never shorter than
    what the provider asked for."""
    ceiling = min(settings.OUTBOX_RETRY_MAX_SECONDS, settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, float(retry_after or 0))


def _refusal(message: Message, *, now: dt.datetime) -> str | dt.datetime | None:
    """Why a message must not go now: an ERROR_* text (it never will), a
    datetime (not before then: quiet hours), or None.

    A reminder of a registration or date that is no longer confirmed, upcoming
    and not cancelled is obsolete whatever its channel. The rest is about SMS
    only: the phone's opt-outs, quiet hours and the monthly SMS cap never hold
    an e-mail."""
    if message.kind == Message.Kind.REMINDER:
        registration, occurrence = message.registration, message.occurrence
        if (
            registration is None
            or occurrence is None
            or registration.status != registration.Status.CONFIRMED
            or occurrence.cancelled
            or occurrence.start <= now
        ):
            return ERROR_OBSOLETE
    if message.channel != Message.Channel.SMS:
        return None
    if message.kind == Message.Kind.REMINDER:
        from notifications.reminders import quiet_period

        if not message.registration.sms_opt_in:
            return ERROR_OBSOLETE
        if SmsOptOut.objects.filter(phone=message.recipient).exists():
            return ERROR_OPTED_OUT
        quiet = quiet_period(now)
        if quiet is not None:
            return quiet[1] if quiet[1] < message.occurrence.start else ERROR_OBSOLETE
    if message.kind in CAPPED_KINDS and _over_monthly_cap(message, now=now):
        return ERROR_MONTHLY_CAP
    return None


def _over_monthly_cap(message: Message, *, now: dt.datetime) -> bool:
    """Whether `message` would take its venue past SmsPolicy.monthly_cap segments.

    Counts the segments of the venue's SMS recorded this calendar month (Vietnam
    time) before this one, failed ones excepted, whatever their kind: first
    recorded, first served, so concurrent workers need no lock to agree."""
    if message.venue_id is None:
        return False
    cap = SmsPolicy.objects.filter(venue_id=message.venue_id).values_list("monthly_cap", flat=True).first()
    if cap is None:
        return False
    month_start = to_local(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = (
        Message.objects.filter(
            venue_id=message.venue_id, channel=Message.Channel.SMS, created_at__gte=month_start, pk__lt=message.pk
        )
        .exclude(status=Message.Status.FAILED)
        .aggregate(segments=Sum("segments"))["segments"]
        or 0
    )
    return used + message.segments > cap


def sms_rate_wait(*, at: float | None = None) -> float:
    """Take one slot of settings.SMS_RATE_PER_SECOND; 0 when taken, otherwise
    the seconds to wait before trying again.

    A fixed one-second window counted in the cache (Redis: shared by every
    worker; locmem: per process). The wait grows with how far over the limit the
    caller is, plus up to a second of jitter, so a burst comes back spread over
    the next seconds instead of all at once. If the cache is down the limit is
    not applied (the provider's own 429 is then retried with back-off)."""
    rate = settings.SMS_RATE_PER_SECOND
    if not rate or _eager():
        return 0
    at = time.time() if at is None else at
    second = int(at)
    key = f"outbox:sms-rate:{second}"
    try:
        if cache.add(key, 1, timeout=5):
            taken = 1
        else:
            taken = cache.incr(key)
    except ValueError:  # expired between add and incr
        return 0
    except Exception:  # noqa: BLE001 - a cache outage must not stop sending
        logger.warning("SMS rate limit not applied: cache unavailable", exc_info=True)
        return 0
    if taken <= rate:
        return 0
    return (second + 1 - at) + (taken - rate - 1) // rate + random.random()


# -- recovery -----------------------------------------------------------------------


def message_recover(*, message_id: int, now: dt.datetime | None = None) -> str | None:
    """Settle a message left queued with no provider id by a lost worker (the
    caller checked that its claim is older than OUTBOX_STALE_SECONDS).

    Asks the transport whether the provider accepted it (`find_accepted`): if
    so the message is marked sent with the provider's id, never sent again; if
    not it goes back to pending and is handed over (failed once
    OUTBOX_RETRY_MAX_ATTEMPTS claims were made). A transport that cannot tell
    leaves it failed with ERROR_IN_DOUBT. Every change is a conditional UPDATE
    on the same claim, so concurrent sweeps settle it once.

    Returns the new status, or None when there was nothing to settle or the
    provider could not be asked (the next sweep asks again).
    """
    now = now or timezone.now()
    message = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED, provider_id="").first()
    if message is None:
        return None
    claim = Message.objects.filter(
        pk=message.pk, status=Message.Status.QUEUED, provider_id="", attempts=message.attempts
    )
    find_accepted = getattr(transport_for(message.channel), "find_accepted", None)
    if find_accepted is None:
        status, fields = Message.Status.FAILED, {"last_error": ERROR_IN_DOUBT}
    else:
        try:
            provider_id = find_accepted(message)
        except TransportError as error:
            logger.warning("Could not ask the provider about message %s: %s", message.pk, error.message)
            return None
        if provider_id:
            status, fields = Message.Status.SENT, {"provider_id": provider_id, "sent_at": now, "last_error": NOTE_RECOVERED}
        elif message.attempts >= settings.OUTBOX_RETRY_MAX_ATTEMPTS:
            status, fields = Message.Status.FAILED, {"last_error": f"gave up after {message.attempts} attempts: worker lost"}
        else:
            status, fields = Message.Status.PENDING, {"send_after": None, "last_error": NOTE_LOST}
    if not claim.update(status=status, status_changed_at=now, **fields):
        return None
    if status == Message.Status.PENDING:
        _hand_over(message.pk)
    return status


@dataclass
class SweepResult:
    recovered: int = 0
    handed_over: int = 0
    # Where the next run continues when this one handed over a full batch.
    next_after_id: int | None = None


def outbox_sweep(*, now: dt.datetime | None = None, after_id: int = 0, limit: int = SWEEP_BATCH) -> SweepResult:
    """Find what no worker is going to send, and make sure one does.

    1. Messages claimed more than OUTBOX_STALE_SECONDS ago with no provider id
       (the worker was lost): settled by message_recover.
    2. Pending messages due for more than OUTBOX_SWEEP_AGE_SECONDS (recorded
       while the broker was down, or their task was lost with a worker): handed
       over again, oldest id first after `after_id`, but only as many as leave
       the queue at most `limit` deep. A message that is in fact still waiting
       in the queue is then sent by whichever task comes first; the other finds
       it claimed and does nothing. So a long queue (a burst of reminders under
       the rate limit) is never doubled, and a queue that is being worked
       through gets nothing it does not need.

    Safe to run concurrently and repeatedly. `next_after_id` is set when a full
    batch was handed over: the caller continues from there (the task queues
    itself behind the batch)."""
    from notifications.tasks import message_send_task

    now = now or timezone.now()
    result = SweepResult()
    stale_before = now - dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS)
    stale = (
        Message.objects.filter(status=Message.Status.QUEUED, provider_id="")
        .filter(Q(status_changed_at__lt=stale_before) | Q(status_changed_at__isnull=True, created_at__lt=stale_before))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in list(stale):
        if message_recover(message_id=message_id, now=now):
            result.recovered += 1

    room = limit - queue_depth()
    if room <= 0:
        return result
    due_before = now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_AGE_SECONDS)
    due = list(
        Message.objects.filter(status=Message.Status.PENDING, pk__gt=after_id)
        .filter(Q(send_after__isnull=True, created_at__lt=due_before) | Q(send_after__lt=due_before))
        .order_by("pk")
        .values_list("pk", flat=True)[:room]
    )
    for message_id in due:
        if _enqueue(message_send_task, message_id):
            result.handed_over += 1
    if due and len(due) == room and result.handed_over:
        result.next_after_id = due[-1]
    return result


def queue_depth() -> int:
    """Tasks waiting in the default queue (0 when Celery runs eagerly). When the
    broker cannot be asked, a depth that leaves no room: hand over nothing."""
    from kombu.exceptions import ChannelError

    from config.celery import app

    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_read() as connection:
            try:
                declared = connection.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
            except ChannelError:  # no such queue: nothing waiting
                return 0
            return declared.message_count
    except Exception:  # noqa: BLE001 - any broker error
        logger.warning("Could not measure the queue; handing nothing over", exc_info=True)
        return SWEEP_BATCH


# -- opt-out ------------------------------------------------------------------------


def sms_opt_out(*, phone: str, source: str) -> SmsOptOut:
    """Record that `phone` (E.164) wants no more reminders. Idempotent: a number
    opted out already keeps its first record."""
    opt_out, _created = SmsOptOut.objects.get_or_create(phone=phone, defaults={"source": source})
    return opt_out
