from celery import shared_task

from events.models import Programme
from events.services import occurrences_extend_horizon, occurrences_materialise


@shared_task(name="events.occurrences_extend_horizon_task")
def occurrences_extend_horizon_task() -> int:
    """Periodic: keep every programme's occurrences materialised to the horizon."""
    return occurrences_extend_horizon()


@shared_task(name="events.occurrences_materialise_task")
def occurrences_materialise_task(programme_id: int) -> int:
    programme = Programme.objects.filter(pk=programme_id).first()
    if programme is None:
        return 0
    return occurrences_materialise(programme=programme)
