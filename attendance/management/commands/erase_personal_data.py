"""Erase names, phones, emails and organisations of registrations whose date
ended more than the retention period ago; every count stays.

    manage.py erase_personal_data             # settings.PERSONAL_DATA_RETENTION_DAYS
    manage.py erase_personal_data --days 90
    manage.py erase_personal_data --dry-run   # only say how many would be erased

The periodic task attendance.registrations_erase_personal_data_task does the
same every night (config/schedules.py).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from attendance.services import registrations_erase_personal_data


class Command(BaseCommand):
    help = "Erase the personal data of registrations whose date ended more than N days ago."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Days after the date's end (default: {settings.PERSONAL_DATA_RETENTION_DAYS}, from settings).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be erased; change nothing.")

    def handle(self, *args, days=None, dry_run=False, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        days = settings.PERSONAL_DATA_RETENTION_DAYS if days is None else days
        # The dry run runs the service itself and rolls back, so it counts
        # exactly the rows a real run would erase.
        with transaction.atomic():
            erased = registrations_erase_personal_data(older_than_days=days)
            if dry_run:
                transaction.set_rollback(True)
        if dry_run:
            self.stdout.write(f"Dry run: {erased} registration(s) older than {days} days would be erased.")
        else:
            self.stdout.write(f"Erased the personal data of {erased} registration(s) older than {days} days.")
