import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.schedules import PERIODIC_TASKS


class Command(BaseCommand):
    help = "Write the periodic tasks declared in config/schedules.py into django-celery-beat."

    def handle(self, *args, **options):
        for name, spec in PERIODIC_TASKS.items():
            crontab, _ = CrontabSchedule.objects.get_or_create(
                timezone="Asia/Ho_Chi_Minh",
                **{key: str(value) for key, value in spec["crontab"].items()},
            )
            task, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": spec["task"],
                    "crontab": crontab,
                    "interval": None,
                    "kwargs": json.dumps(spec.get("kwargs", {})),
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'}: {name} -> {spec['task']}")
