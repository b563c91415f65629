"""Writes for the outbox: a message is recorded with what causes it and sent after commit."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import Message, SmsPolicy
from notifications.sms import sms_cost, sms_prepare
from notifications.transports import TransportError, transport_for

logger = logging.getLogger(__name__)


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
) -> Message | None:
    """Record a message in the caller's transaction and hand it to a worker after
    commit. With `dedupe_key`, a second call for the same key records nothing and
    returns None."""
    venue = venue or (occurrence.venue if occurrence is not None else None)
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
    from notifications.tasks import message_send_task

    transaction.on_commit(lambda: _enqueue(message_send_task, message.pk))
    return message


def _enqueue(task, message_id: int) -> None:
    # A broker outage must never fail what caused the message: the row stays
    # pending and the periodic sweep hands it over later.
    try:
        task.delay(message_id)
    except Exception:  # noqa: BLE001 - any broker error
        logger.warning("Could not enqueue message %s; the sweep will retry", message_id, exc_info=True)


def message_send(*, message_id: int) -> Message | None:
    """Send one pending message at most once: the row is claimed with a
    conditional UPDATE, so a second worker finds nothing to do."""
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.PENDING).update(
        status=Message.Status.QUEUED, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    message = Message.objects.get(pk=message_id)
    try:
        provider_id = transport_for(message.channel).notify(message)
    except TransportError as error:
        message.status = Message.Status.FAILED if error.permanent else Message.Status.PENDING
        message.last_error = error.message
        message.save(update_fields=["status", "last_error"])
        return message
    message.status = Message.Status.SENT
    message.provider_id = provider_id or ""
    message.sent_at = timezone.now()
    message.save(update_fields=["status", "provider_id", "sent_at"])
    return message
