"""Background work runs in a real Celery worker, on PostgreSQL and Redis."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from events.models import Occurrence
from events.tasks import occurrences_extend_horizon_task
from tests.factories import make_programme

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_a_worker_extends_the_horizon(venue, celery_worker_process, settings):
    # given a daily series materialised only 5 days ahead
    settings.OCCURRENCE_HORIZON_DAYS = 5
    today = timezone.localdate()
    programme = make_programme(
        venue=venue, day=today + dt.timedelta(days=1), recurrence="daily", repeat_until=today + dt.timedelta(days=90)
    )
    before = programme.occurrences.count()
    assert before <= 6
    # when the periodic task runs in the worker (which uses the default 400-day horizon)
    occurrences_extend_horizon_task.apply_async(queue=celery_worker_process)
    # then the rows reach the end of the series
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Occurrence.objects.filter(programme=programme).count() < 90:
        time.sleep(0.5)
    assert Occurrence.objects.filter(programme=programme).count() == 90
