import datetime as dt
import itertools

from django.utils import timezone

from attendance.services import registration_create
from tests.factories import make_programme

_phones = itertools.count(1000)


def next_phone() -> str:
    return f"0912{next(_phones):06d}"


def make_occurrence(*, venue, capacity=10, days_ahead=3, **programme_fields):
    programme = make_programme(
        venue=venue, day=timezone.localdate() + dt.timedelta(days=days_ahead), capacity=capacity, **programme_fields
    )
    return programme.occurrences.get()


def register(occurrence, *, party_size=1, phone=None, **kwargs):
    return registration_create(
        occurrence_id=occurrence.pk,
        full_name=kwargs.pop("full_name", "Nguyễn Văn An"),
        phone=phone or next_phone(),
        party_size=party_size,
        consent=kwargs.pop("consent", True),
        **kwargs,
    )


def reached(instance, read, join):
    """The instance a RowsRead's `join` read, reached from the first table's
    instance through the relations, as code reading it would."""
    by_alias = {j.alias: j for j in read.tables}
    relations = []
    while join.via:
        parent, relation = join.via.split(".")
        relations.insert(0, relation)
        join = by_alias[parent]
    for relation in relations:
        instance = getattr(instance, relation)
    return instance


def minutes_ago_today(minutes: float) -> dt.datetime:
    """`minutes` ago, shrunk in the first minutes after local midnight so that it
    is still today, keeping the order of the times asked for: a scan made earlier
    today (the door's counts are per local day), whenever the tests run."""
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    scale = min(1.0, (now - midnight) / dt.timedelta(minutes=10))  # asked for: under 10 minutes
    return now - dt.timedelta(minutes=minutes) * scale
