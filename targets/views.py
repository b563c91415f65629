"""Staff dashboards: a venue's visits against its target, and a unit's indicators.

Who sees what:
- a venue's dashboard: its managers and the officers over it (and superusers);
  door staff see the venue elsewhere but not its targets (403); anyone else 404.
- a unit's dashboard: officers of that unit or of its province, and superusers (403 otherwise).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from targets import dashboards, views_reports
from venues.access import staff_required
from venues.models import AdminUnit, Venue
from venues.selectors import MANAGE, VIEW, units_for_user, venues_for_user, venues_in_unit_q

FIRST_YEAR = 2000  # targets start here (Target.year's validator)


def _today() -> dt.date:
    return timezone.localdate()


def dashboard_venues(user):
    """Venues whose dashboard `user` may see: those they manage and those in units they oversee."""
    if user.is_superuser:
        return Venue.objects.all()
    condition = Q(pk__in=venues_for_user(user, MANAGE).values("pk"))
    for unit in units_for_user(user):
        condition |= venues_in_unit_q(unit)
    return Venue.objects.filter(condition).distinct()


def can_see_unit(user, unit: AdminUnit) -> bool:
    if user.is_superuser:
        return True
    overseen = set(units_for_user(user).values_list("pk", flat=True))
    return unit.pk in overseen or (unit.parent_id is not None and unit.parent_id in overseen)


def _year(request, today: dt.date) -> tuple[int, str]:
    """The year asked for (`?year=`), or this year with a message saying why not."""
    raw = request.GET.get("year", "").strip()
    if not raw:
        return today.year, ""
    last = today.year + 1
    try:
        year = int(raw)
    except ValueError:
        year = None
    if year is None or not FIRST_YEAR <= year <= last:
        return today.year, _("“%(value)s” is not a year between %(first)s and %(last)s; showing %(year)s.") % {
            "value": raw[:20], "first": FIRST_YEAR, "last": last, "year": today.year,
        }
    return year, ""


def _years(today: dt.date, year: int) -> list[int]:
    """Choices of the year filter: the last five years and the next one."""
    return sorted({*range(today.year - 5, today.year + 2), year}, reverse=True)


@staff_required
def home(request):
    """One venue: its dashboard; one unit overseen (and no venue managed elsewhere): its
    dashboard; otherwise a list to choose from."""
    user = request.user
    units = list(units_for_user(user).order_by("name"))
    managed = [] if user.is_superuser else list(
        venues_for_user(user, MANAGE).select_related("admin_unit").order_by("name")
    )
    overseen_ids = set()
    if units and managed:
        overseen_ids = set(dashboard_venues(user).exclude(pk__in=[v.pk for v in managed]).values_list("pk", flat=True))
    # Venues managed outside the units the user oversees still need their own link.
    managed_outside = [v for v in managed if not units or v.pk not in overseen_ids]
    if len(units) == 1 and not managed_outside and not user.is_superuser:
        return redirect("targets:unit_dashboard", code=units[0].code)
    if not units and len(managed) == 1:
        return redirect("targets:venue_dashboard", slug=managed[0].slug)
    return render(request, "targets/home.html", {"units": units, "venues": managed})


@staff_required
def venue_dashboard(request, slug):
    venue = get_object_or_404(venues_for_user(request.user, VIEW).select_related("admin_unit__parent"), slug=slug)
    if not dashboard_venues(request.user).filter(pk=venue.pk).exists():
        raise PermissionDenied
    today = _today()
    year, year_error = _year(request, today)
    data = dashboards.venue_dashboard(venue, year, today=today)
    return render(
        request,
        "targets/venue_dashboard.html",
        {
            "venue": venue,
            "d": data,
            "year": year,
            "years": _years(today, year),
            "year_error": year_error,
            "can_see_unit": can_see_unit(request.user, venue.admin_unit.province),
            "at_risk_percent": dashboards.fmt_percent(100 * dashboards.AT_RISK_RATIO),
        },
    )


@staff_required
def unit_dashboard(request, code):
    unit = get_object_or_404(AdminUnit.objects.select_related("parent"), code=code)
    if not can_see_unit(request.user, unit):
        raise PermissionDenied
    today = _today()
    year, year_error = _year(request, today)
    compare = request.GET.get("compare") == "1"
    data = dashboards.unit_dashboard(unit, year, today=today, compare=compare)
    return render(
        request,
        "targets/unit_dashboard.html",
        {"unit": unit, "d": data, "year": year, "years": _years(today, year), "year_error": year_error,
         "compare": compare,
         # The annual report's due banner, decided as on the report page; its link only for years it exists.
         "banner": views_reports._due_banner(year),
         "report_available": views_reports.FIRST_YEAR <= year <= today.year + 1},
    )
