"""Thin tasks: they take ids, call a service and are safe to run twice
(acks_late: a task whose worker was lost is delivered again)."""

import time

from celery import shared_task

from notifications import reminders
from notifications.services import message_send, messages_send, outbox_sweep


@shared_task(name="notifications.message_send_task", acks_late=True)
def message_send_task(message_id: int) -> None:
    message_send(message_id=message_id)


@shared_task(name="notifications.message_send_many_task", acks_late=True)
def message_send_many_task(message_ids: list[int]) -> dict:
    """Many messages handed over at once (a chunk of reminders), each claimed
    and sent as message_send_task would: a redelivered batch sends none twice."""
    return messages_send(message_ids=message_ids)


@shared_task(name="notifications.outbox_sweep_task", acks_late=True)
def outbox_sweep_task(after_id: int = 0) -> int:
    """Periodic: settle messages of lost workers and hand over pending ones no
    worker took. Queues itself behind a full batch to go on from there."""
    result = outbox_sweep(after_id=after_id)
    if result.next_after_id is not None:
        outbox_sweep_task.delay(after_id=result.next_after_id)
    return result.recovered + result.handed_over


@shared_task(name="notifications.reminders_dispatch_task", acks_late=True)
def reminders_dispatch_task(limit: int | None = None) -> int:
    """Periodic: record the reminders that are due, a chunk (one transaction)
    at a time, for up to reminders.DISPATCH_SECONDS; then queues itself again
    while there is more (work is picked by state: a second run, or two at
    once, records nothing twice)."""
    deadline = time.monotonic() + reminders.DISPATCH_SECONDS
    created = 0
    while True:
        result = reminders.reminders_dispatch(**({"limit": limit} if limit else {}))
        created += result.created
        if not result.more:
            return created
        if time.monotonic() >= deadline:
            reminders_dispatch_task.delay(limit)
            return created
