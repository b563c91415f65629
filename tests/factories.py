"""Small builders for test data. Plain functions with keyword arguments."""

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from common.timeutil import local_datetime
from events.models import Programme
from events.services import programme_create
from venues.models import AdminUnit, StaffRole, Venue

_seq = itertools.count(1)


def make_province(*, name="Tỉnh Hưng Yên", code=None) -> AdminUnit:
    return AdminUnit.objects.create(code=code or f"P{next(_seq)}", name=name, level=AdminUnit.Level.PROVINCE)


def make_commune(*, province: AdminUnit, name="Phường Phố Hiến", code=None) -> AdminUnit:
    return AdminUnit.objects.create(
        code=code or f"C{next(_seq)}", name=name, level=AdminUnit.Level.COMMUNE, parent=province
    )


def make_venue(*, admin_unit: AdminUnit, name=None, kind=Venue.Kind.LIBRARY, tier=Venue.Tier.PROVINCIAL, **fields) -> Venue:
    n = next(_seq)
    return Venue.objects.create(
        name=name or f"Thư viện số {n}",
        slug=fields.pop("slug", f"venue-{n}"),
        kind=kind,
        tier=tier,
        admin_unit=admin_unit,
        address=fields.pop("address", f"{n} Đường Nguyễn Văn Linh"),
        **fields,
    )


def make_user(*, username=None, role=None, venue=None, admin_unit=None, password="pw-for-tests-1", **fields):
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_seq)}", password=password, **fields
    )
    if role:
        StaffRole.objects.create(user=user, role=role, venue=venue, admin_unit=admin_unit)
    return user


def make_programme(
    *,
    venue: Venue,
    title="Câu lạc bộ đọc sách thiếu nhi",
    day: dt.date | None = None,
    start_time=dt.time(9, 0),
    minutes=90,
    category="club",
    status=Programme.Status.PUBLISHED,
    **fields,
) -> Programme:
    day = day or (dt.date.today() + dt.timedelta(days=7))
    start = local_datetime(day, start_time)
    return programme_create(
        venue=venue,
        title=title,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        category=category,
        status=status,
        **fields,
    )
