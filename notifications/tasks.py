from celery import shared_task

from notifications.services import message_send


@shared_task(name="notifications.message_send_task", acks_late=True)
def message_send_task(message_id: int) -> None:
    message_send(message_id=message_id)
