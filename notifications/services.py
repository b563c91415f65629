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
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, Sum
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone

from common.timeutil import to_local
from notifications.courier import Courier
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
# Message ids per task when many are handed over at once (messages_record, the
# courier): few enough that both workers get some of a chunk and a redelivered
# task redoes little, many enough that Celery's and the row reads' cost is shared.
SEND_BATCH = 50
# The broker priority of those batches: behind single messages (a confirmation
# does not wait for 50,000 reminders) and the dispatcher's next run (it records
# while the batches it handed over are sent). Redis (kombu): 0, the default,
# comes first, then 3, 6, 9; ignored by brokers without priorities.
BULK_PRIORITY = 6

_broker_down_until = 0.0


@dataclass
class PreparedMessage:
    """A message worked out but not recorded yet (message_prepare)."""

    message: Message  # unsaved
    text: str  # the text before SMS encoding, for the e-mail copy


def _sms_policy(venue) -> SmsPolicy | None:
    """The venue's SMS policy through its one-to-one accessor: no query when the
    caller read the venue with select_related("venue__sms_policy")."""
    if venue is None:
        return None
    try:
        return venue.sms_policy
    except SmsPolicy.DoesNotExist:
        return None


def message_prepare(
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
) -> PreparedMessage:
    """What message_create records, worked out without writing: for an SMS the venue's
    policy is read and the text encoded, its segments and cost counted. Lets a caller
    do this before taking a lock, and record it (message_record) while holding it."""
    venue = venue or (occurrence.venue if occurrence is not None else None)
    text = body
    encoding, segments, cost = "", 0, 0
    if channel == Message.Channel.SMS:
        policy = _sms_policy(venue)
        sms = sms_prepare(body, without_diacritics=bool(policy and policy.without_diacritics))
        body, encoding, segments, cost = sms.text, sms.encoding, sms.segments, sms_cost(sms.segments)
    message = Message(
        channel=channel, recipient=recipient, kind=kind, body=body, subject=subject, language=language,
        registration=registration, occurrence=occurrence, venue=venue, dedupe_key=dedupe_key,
        encoding=encoding, segments=segments, cost=cost, send_after=send_after,
    )
    return PreparedMessage(message, text)


def message_record(prepared: PreparedMessage, *, with_email: bool = True) -> Message | None:
    """Record a prepared message in the caller's transaction; see message_create."""
    message = prepared.message
    if message.dedupe_key:
        # One INSERT … ON CONFLICT DO NOTHING instead of a savepoint around an INSERT
        # (two fewer round trips, often under the caller's lock): a key recorded
        # already, also by a concurrent transaction, records nothing.
        if not _insert_new([message]):
            return None
    else:
        message.save(force_insert=True)
    return message_recorded(prepared, with_email=with_email)


def message_recorded(prepared: PreparedMessage, *, with_email: bool = True) -> Message:
    """What follows a prepared message's INSERT, for a caller that wrote the row
    itself (beside its own rows, common.rows.insert_together): the hand-over to a
    worker after commit, and the e-mail copy (see message_create)."""
    message = prepared.message
    transaction.on_commit(lambda: _hand_over(message.pk, message.send_after))
    registration = message.registration
    if with_email and message.channel == Message.Channel.SMS and registration is not None:
        from notifications.emails import EMAIL_COPY_KINDS, registration_email_create

        if message.kind in EMAIL_COPY_KINDS:
            # Without `send_after`: what holds an SMS (quiet hours) never holds an e-mail.
            registration_email_create(
                registration=registration, kind=message.kind, text=prepared.text, dedupe_key=message.dedupe_key,
                occurrence=message.occurrence, venue=message.venue,
            )
    return message


def message_create(*, with_email: bool = True, **fields) -> Message | None:
    """Record a message in the caller's transaction and hand it to a worker after
    commit. With `dedupe_key`, a second call for the same key records nothing and
    returns None (also when a concurrent transaction recorded it first). Takes
    message_prepare's arguments.

    An SMS about a registration (a kind in emails.EMAIL_COPY_KINDS) whose
    registrant gave an e-mail address is also recorded as an e-mail, in the same
    transaction, keyed "email:{dedupe_key}" (notifications.emails);
    `with_email=False` records the SMS alone (a resend copies one row).

    Never fails or waits because the broker is down: the row stays pending and
    the periodic sweep hands it over later."""
    return message_record(message_prepare(**fields), with_email=with_email)


def messages_record(messages: list[Message]) -> list[Message]:
    """Record many messages at once in the caller's transaction (unsaved Message
    instances, each with a `dedupe_key`) and hand them to workers after commit,
    SEND_BATCH ids per task. Returns those recorded now, with their pk; a
    message whose key is recorded already (also by a concurrent transaction)
    is skipped, as message_create skips it.

    What message_create does per message, done per chunk: one SmsPolicy look-up
    per venue, one INSERT … ON CONFLICT DO NOTHING RETURNING per
    bulk_batch_size rows (PostgreSQL; INSERT OR IGNORE … RETURNING on SQLite),
    one task per SEND_BATCH messages. No e-mail copies are made (reminders
    record their own). On a database that cannot return the inserted rows it
    falls back to one INSERT per message."""
    if not messages:
        return []
    assert all(m.dedupe_key for m in messages), "messages_record needs a dedupe_key on every message"
    sms_venues = {m.venue_id for m in messages if m.channel == Message.Channel.SMS and m.venue_id}
    plain = set(
        SmsPolicy.objects.filter(venue_id__in=sms_venues, without_diacritics=True).values_list("venue_id", flat=True)
    ) if sms_venues else set()
    unique: dict[str, Message] = {}
    for message in messages:
        if message.channel == Message.Channel.SMS:
            sms = sms_prepare(message.body, without_diacritics=message.venue_id in plain)
            message.body, message.encoding, message.segments = sms.text, sms.encoding, sms.segments
            message.cost = sms_cost(sms.segments)
        unique.setdefault(message.dedupe_key, message)
    created = _insert_new(list(unique.values()))
    by_time: dict = {}
    for message in created:
        by_time.setdefault(message.send_after, []).append(message.pk)
    for send_after, ids in by_time.items():
        transaction.on_commit(lambda ids=ids, send_after=send_after: _hand_over_many(ids, send_after))
    return created


def _insert_new(messages: list[Message]) -> list[Message]:
    """INSERT the rows whose dedupe key is not taken; the inserted ones, with pk.
    A row skipped for any other reason raises IntegrityError, never vanishes."""
    alias = router.db_for_write(Message)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        return [m for m in messages if _insert_one(m)]
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    returning = [Message._meta.pk, Message._meta.get_field("dedupe_key")]
    size = max(connection.ops.bulk_batch_size(fields, messages), 1)
    by_key = {m.dedupe_key: m for m in messages}
    for message in messages:
        # As QuerySet.bulk_create does: a related row saved after this message was
        # built (a registration prepared before its INSERT) gives its id now.
        message._prepare_related_fields_for_save(operation_name="bulk_create")
    created = []
    for start in range(0, len(messages), size):
        query = InsertQuery(Message, on_conflict=OnConflict.IGNORE)
        query.insert_values(fields, messages[start:start + size])
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = returning  # as QuerySet.bulk_create does, but keeping ON CONFLICT
        with connection.cursor() as cursor:
            for sql, params in compiler.as_sql():
                cursor.execute(sql, params)
                for pk, key in cursor.fetchall():
                    message = by_key[key]
                    message.pk = pk
                    message._state.adding, message._state.db = False, alias
                    created.append(message)
    skipped = by_key.keys() - {m.dedupe_key for m in created}
    if skipped and skipped - set(Message.objects.filter(dedupe_key__in=skipped).values_list("dedupe_key", flat=True)):
        # SQLite's INSERT OR IGNORE also skips rows that break other constraints.
        raise IntegrityError("a message was refused by the database")
    return created


def _insert_one(message: Message) -> bool:
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if Message.objects.filter(dedupe_key=message.dedupe_key).exists():
            return False
        raise
    return True


def _hand_over_many(
    message_ids: list[int], send_after: dt.datetime | None = None, *, priority: int | None = BULK_PRIORITY
) -> int:
    """Hand `message_ids` to workers, SEND_BATCH per task (at `priority`); how
    many were handed over (the rest stay pending for the sweep)."""
    from notifications.tasks import message_send_many_task

    countdown = None
    if send_after is not None:
        countdown = (send_after - timezone.now()).total_seconds()
        if countdown <= 0:
            countdown = None
    handed = 0
    for start in range(0, len(message_ids), SEND_BATCH):
        batch = list(message_ids[start:start + SEND_BATCH])
        if _enqueue(message_send_many_task, batch, countdown=countdown, priority=priority):
            handed += len(batch)
    return handed


def _eager() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


def _hand_over(message_id: int, send_after: dt.datetime | None = None) -> bool:
    """Hand one message to a worker: one due now through this process's courier
    (batched with the others recorded meanwhile, see notifications.courier),
    except in a worker's task or in eager mode, where it goes at once."""
    from celery import current_task

    from notifications.tasks import message_send_task

    countdown = None
    if send_after is not None:
        countdown = (send_after - timezone.now()).total_seconds()
        if countdown <= 0:
            countdown = None
    if countdown is None and not current_task and not _eager():
        courier.add(message_id)
        return True
    return _enqueue(message_send_task, message_id, countdown=countdown)


def _hand_over_held(message_ids: list[int]) -> None:
    """The courier's delivery: a lone message as its own task, several as
    batches at the single messages' priority (they are confirmations and the
    like, not reminders)."""
    from notifications.tasks import message_send_task

    if len(message_ids) == 1:
        _enqueue(message_send_task, message_ids[0])
    else:
        _hand_over_many(message_ids, priority=None)


courier = Courier(_hand_over_held)


def _enqueue(task, *args, countdown: float | None = None, priority: int | None = None, **kwargs) -> bool:
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
        task.apply_async(args, kwargs, countdown=countdown, priority=priority, retry=True, retry_policy=PUBLISH_RETRY)
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
    step, until = _before_claim(message, now=now)
    if step == _WAIT:
        _hand_over(message.pk, until)
        return None
    if step == _REFUSED:
        return message
    if step == _SKIP:
        return None
    if message.channel == Message.Channel.SMS:
        wait = sms_rate_wait()
        if wait:
            # Over the provider's rate: not dropped, tried again when a slot is free.
            send_after = now + dt.timedelta(seconds=wait)
            if Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(send_after=send_after):
                _hand_over(message.pk, send_after)
            return None
    return _claim_and_send(message, now=now)


def messages_send(*, message_ids: list[int], now: dt.datetime | None = None) -> dict[str, int]:
    """message_send for many ids (a batch handed over by messages_record), each
    claimed and sent on its own, in order, exactly as message_send does: a claim
    committed before its provider call, the provider's id recorded right after
    (on PostgreSQL in the same statement, so the same commit, as the next
    message's claim: one WAL flush per message instead of two).
    A worker lost halfway leaves the messages it had not claimed pending (the
    sweep hands them over again); running the batch again is a no-op for those
    claimed already; a transient error puts back that message alone.

    Shared per batch instead of per message: reading the rows (with their
    registration and date), the opt-outs of the SMS reminders' numbers and the
    venues' monthly caps (so a number that opts out while its batch is being
    sent, a second or so, may still get that reminder). Messages that must wait
    (quiet hours, send_after, the SMS rate) are handed over again together. An
    unexpected error from the transport is logged and leaves that row queued for
    the sweep (as message_send leaves it); the batch goes on.

    Returns how many messages ended sent, failed, waiting (held, deferred or to
    be retried), in doubt (left queued for the sweep) or skipped (not pending)."""
    counts = dict.fromkeys(("sent", "failed", "waiting", "in_doubt", "skipped"), 0)
    ids = list(dict.fromkeys(message_ids))
    rows = Message.objects.select_related("registration", "occurrence").filter(
        pk__in=ids, status=Message.Status.PENDING
    )
    messages = {m.pk: m for m in rows}
    known = _Known.read(messages.values())
    later: dict = {}  # (send_after, priority) → ids, handed over at the end
    accepted: list[_Accepted] = []  # the last one the provider accepted, recorded with the next claim

    def record() -> None:
        # What the provider accepted and no statement recorded yet, recorded now.
        while accepted:
            done = accepted.pop()
            if done.message.status != Message.Status.SENT:
                _record_sent(done)

    try:
        _send_each(ids, messages, now, known, later, accepted, record, counts)
    finally:
        record()
    for (send_after, priority), waiting in later.items():
        _hand_over_many(waiting, send_after, priority=priority)
    return counts


def _send_each(ids, messages, now, known, later, accepted, record, counts) -> None:
    """The loop of messages_send."""
    for index, pk in enumerate(ids):
        message = messages.get(pk)
        if message is None:
            counts["skipped"] += 1
            continue
        at = now or timezone.now()
        step, until = _before_claim(message, now=at, known=known)
        if step != _GO:
            record()
        if step == _WAIT:
            later.setdefault((until, _priority(message)), []).append(pk)
            counts["waiting"] += 1
            continue
        if step in (_REFUSED, _SKIP):
            counts["failed" if step == _REFUSED else "skipped"] += 1
            continue
        if message.channel == Message.Channel.SMS:
            wait = sms_rate_wait()
            if wait:
                # Over the provider's rate: this one and the rest of the batch wait, together.
                record()
                send_after = at + dt.timedelta(seconds=wait)
                rest = [i for i in ids[index:] if i in messages]
                Message.objects.filter(pk__in=rest, status=Message.Status.PENDING).filter(
                    Q(send_after__isnull=True) | Q(send_after__lt=send_after)  # never brings a later hold forward
                ).update(send_after=send_after)
                for i in rest:
                    later.setdefault((send_after, _priority(messages[i])), []).append(i)
                counts["waiting"] += len(rest)
                break
        try:
            sent = _claim_and_send(message, now=at, accepted=accepted[-1] if accepted else None, defer=True)
            accepted.clear()  # recorded with this claim
        except Exception:  # noqa: BLE001 - the row stays queued for the sweep; the others go on
            logger.exception("Message %s: unexpected error while sending; left for the sweep", pk)
            record()  # if the failed statement was the one recording the previous message
            counts["in_doubt"] += 1
            continue
        if isinstance(sent, _Accepted):
            accepted.append(sent)
            counts["sent"] += 1
            continue
        outcome = {Message.Status.SENT: "sent", Message.Status.FAILED: "failed", Message.Status.PENDING: "waiting",
                   Message.Status.QUEUED: "in_doubt"}
        counts[outcome.get(sent.status, "skipped") if sent is not None else "skipped"] += 1


def _priority(message: Message) -> int | None:
    """The broker priority a message waiting in a batch is handed over again at:
    a reminder's stays behind single messages, anything else comes first."""
    return BULK_PRIORITY if message.kind == Message.Kind.REMINDER else None


# What _before_claim says.
_GO, _WAIT, _REFUSED, _SKIP = "go", "wait", "refused", "skip"


@dataclass
class _Known:
    """What a batch read once for all its messages (see messages_send)."""

    opted_out: set
    caps: dict  # venue id → SmsPolicy.monthly_cap, venues with a cap only

    @classmethod
    def read(cls, messages) -> "_Known":
        messages = list(messages)
        sms = [m for m in messages if m.channel == Message.Channel.SMS]
        phones = {m.recipient for m in sms if m.kind == Message.Kind.REMINDER}
        venues = {m.venue_id for m in sms if m.kind in CAPPED_KINDS and m.venue_id}
        opted_out = set(SmsOptOut.objects.filter(phone__in=phones).values_list("phone", flat=True)) if phones else set()
        caps = dict(
            SmsPolicy.objects.filter(venue_id__in=venues, monthly_cap__isnull=False).values_list("venue_id", "monthly_cap")
        ) if venues else {}
        return cls(opted_out, caps)


def _before_claim(message: Message, *, now: dt.datetime, known: _Known | None = None) -> tuple[str, dt.datetime | None]:
    """What to do with a pending `message` before claiming it: (_GO, None);
    (_WAIT, until), not before then, the row's send_after set where needed (the
    caller hands it over for then); (_REFUSED, None), marked failed (see
    _refusal); (_SKIP, None), someone else changed it meanwhile."""
    if message.send_after is not None and message.send_after > now:
        return _WAIT, message.send_after
    pending = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING)
    refusal = _refusal(message, now=now, known=known)
    if isinstance(refusal, dt.datetime):  # quiet hours: hold it until they end
        if pending.update(send_after=refusal):
            message.send_after = refusal
            return _WAIT, refusal
        return _SKIP, None
    if refusal:
        pending.update(status=Message.Status.FAILED, last_error=refusal, status_changed_at=now)
        message.refresh_from_db()
        return _REFUSED, None
    return _GO, None


@dataclass
class _Accepted:
    """A message the provider accepted whose record (sent, provider id) is still to be written."""

    message: Message
    attempt: int
    provider_id: str


def _claim_and_send(
    message: Message, *, now: dt.datetime, accepted: _Accepted | None = None, defer: bool = False
) -> Message | _Accepted | None:
    """Claim `message` (pending, as read) and call the provider once; see
    message_send. `accepted`: the previous message of a batch, recorded in the
    same statement as this claim (_record_and_claim). `defer`: on success,
    return the _Accepted for the caller to record (with the next claim)
    instead of recording it here."""
    # The claim: committed before the provider is called. `attempts` as read
    # makes it a compare-and-set, so the number is this claim's own token.
    attempt = message.attempts + 1
    claim = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING, attempts=message.attempts).filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now)
    )
    values = {"status": Message.Status.QUEUED, "attempts": attempt, "status_changed_at": now}
    claimed = _record_and_claim(accepted, claim, values) if accepted is not None else claim.update(**values)
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
    done = _Accepted(message, attempt, provider_id or "")
    return done if defer else _record_sent(done)


def _sent_fields(provider_id: str) -> dict:
    sent_at = timezone.now()
    return {"status": Message.Status.SENT, "provider_id": provider_id, "sent_at": sent_at,
            "status_changed_at": sent_at, "last_error": ""}


def _record_sent(accepted: _Accepted) -> Message:
    """Record what the provider accepted, only for the claim that called it."""
    fields = _sent_fields(accepted.provider_id)
    record = Message.objects.filter(pk=accepted.message.pk, status=Message.Status.QUEUED, attempts=accepted.attempt)
    return _recorded(accepted, fields, record.update(**fields))


def _recorded(accepted: _Accepted, fields: dict, rows: int) -> Message:
    message = accepted.message
    if not rows:
        logger.error("Message %s was settled by the sweep while its provider call was running", message.pk)
        message.refresh_from_db()
        return message
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def _record_and_claim(accepted: _Accepted, claim, values: dict) -> int:
    """Record `accepted` as sent and make the next claim (`claim`.update(**values))
    in one statement, so one commit (one WAL flush, the bulk of either's cost)
    makes both durable: on PostgreSQL two data-modifying CTEs, each its own
    conditional UPDATE exactly as alone. The record is not delayed: the next
    claim follows the provider's answer at once (its checks are read per batch).
    Elsewhere (SQLite) the two UPDATEs one after the other. Returns the rows claimed."""
    fields = _sent_fields(accepted.provider_id)
    record = Message.objects.filter(pk=accepted.message.pk, status=Message.Status.QUEUED, attempts=accepted.attempt)
    connection = connections[record.db]
    if connection.vendor != "postgresql":
        _recorded(accepted, fields, record.update(**fields))
        return claim.update(**values)
    record_sql, record_params = _update_sql(record, fields)
    claim_sql, claim_params = _update_sql(claim, values)
    with transaction.mark_for_rollback_on_error(using=record.db), connection.cursor() as cursor:
        cursor.execute(
            f"WITH recorded AS ({record_sql} RETURNING 1), claimed AS ({claim_sql} RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM recorded), (SELECT COUNT(*) FROM claimed)",
            (*record_params, *claim_params),
        )
        rows, claimed = cursor.fetchone()
    _recorded(accepted, fields, rows)
    return claimed


def _update_sql(queryset, values: dict) -> tuple[str, tuple]:
    """The UPDATE that queryset.update(**values) would run, as (sql, params)."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    return query.get_compiler(queryset.db).as_sql()


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


def _refusal(message: Message, *, now: dt.datetime, known: _Known | None = None) -> str | dt.datetime | None:
    """Why a message must not go now: an ERROR_* text (it never will), a
    datetime (not before then: quiet hours), or None.

    A reminder of a registration or date that is no longer confirmed, upcoming
    and not cancelled is obsolete whatever its channel. The rest is about SMS
    only: the phone's opt-outs, quiet hours and the monthly SMS cap never hold
    an e-mail. `known`: the opt-outs and caps a batch read already."""
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
        if (
            message.recipient in known.opted_out if known is not None
            else SmsOptOut.objects.filter(phone=message.recipient).exists()
        ):
            return ERROR_OPTED_OUT
        quiet = quiet_period(now)
        if quiet is not None:
            return quiet[1] if quiet[1] < message.occurrence.start else ERROR_OBSOLETE
    if message.kind in CAPPED_KINDS and _over_monthly_cap(message, now=now, caps=known.caps if known else None):
        return ERROR_MONTHLY_CAP
    return None


def _over_monthly_cap(message: Message, *, now: dt.datetime, caps: dict | None = None) -> bool:
    """Whether `message` would take its venue past SmsPolicy.monthly_cap segments.

    Counts the segments of the venue's SMS recorded this calendar month (Vietnam
    time) before this one, failed ones excepted, whatever their kind: first
    recorded, first served, so concurrent workers need no lock to agree.
    `caps`: venue id → cap, read already for a batch (no entry: no cap)."""
    if message.venue_id is None:
        return False
    if caps is not None:
        cap = caps.get(message.venue_id)
    else:
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
