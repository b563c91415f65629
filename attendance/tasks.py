from celery import shared_task

from attendance.services import registrations_erase_personal_data


@shared_task(name="attendance.registrations_erase_personal_data_task")
def registrations_erase_personal_data_task(older_than_days: int | None = None) -> int:
    """Periodic: erase the personal data of registrations past the retention
    period (settings.PERSONAL_DATA_RETENTION_DAYS unless given). Idempotent."""
    return registrations_erase_personal_data(older_than_days=older_than_days)
