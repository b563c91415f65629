"""Staff pages of the annual report: choose a unit and year, start a build,
watch its progress, download the files, print the page.

Who may see a unit's report: the officers over it (an officer over a province
also over its communes and reporting groups) and superusers. Venue managers
and door staff have no unit: the list is a 403 for them and a unit's report a
404 (its existence is not revealed), like a venue one may not view. Files are
served by `report_download`, which checks the same, never by a media URL.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from targets import report
from targets.models import ReportRun
from targets.tasks import report_build
from venues.access import staff_required
from venues.models import AdminUnit, StaffRole

logger = logging.getLogger(__name__)

FIRST_YEAR = 2020
# A run waiting or building for longer than this is taken as lost (no worker took
# it, or the worker died for good): the officer may start another.
STALE_AFTER = dt.timedelta(minutes=30)
RUNS_SHOWN = 5
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


# -- who may see which unit ---------------------------------------------------------------


def report_units_for_user(user) -> QuerySet[AdminUnit]:
    """Units whose report `user` may see: those they are an officer of, and the
    communes and reporting groups of an officer's province. Superusers: every unit."""
    if user.is_superuser:
        return AdminUnit.objects.all()
    officer_units = StaffRole.objects.filter(user=user, role=StaffRole.Role.OFFICER).values("admin_unit_id")
    return AdminUnit.objects.filter(Q(pk__in=officer_units) | Q(parent_id__in=officer_units))


def _unit(request, code: str) -> AdminUnit:
    return get_object_or_404(report_units_for_user(request.user), code=code)


def _today():
    return timezone.localdate()


def _year(year: int) -> int:
    if not FIRST_YEAR <= year <= _today().year + 1:
        raise Http404(_("There is no report for this year."))
    return year


def _run(request, pk: int) -> ReportRun:
    return get_object_or_404(
        ReportRun.objects.select_related("admin_unit").filter(admin_unit__in=report_units_for_user(request.user)),
        pk=pk,
    )


def _unit_url(unit: AdminUnit, year: int) -> str:
    return reverse("targets:report_unit", args=[unit.code, year])


def _language(request) -> str:
    return report.report_language(getattr(request, "LANGUAGE_CODE", None))


def _due_banner(year: int) -> dict | None:
    today = _today()
    if report.report_is_due_soon(today) and year == today.year:
        return {"year": year, "date": report.due_date(year)}
    return None


# -- pages --------------------------------------------------------------------------------


@staff_required
@never_cache
@require_GET
def report_index(request):
    units = report_units_for_user(request.user)
    if request.user.is_superuser:
        units = units.filter(level=AdminUnit.Level.PROVINCE)  # communes too would be thousands
    units = list(units.order_by("level", "name"))
    if not units:
        raise PermissionDenied
    today = _today()
    code, year = request.GET.get("unit"), request.GET.get("year")
    if code and year:
        if not year.isdigit():
            raise Http404(_("There is no report for this year."))
        unit = _unit(request, code)
        return redirect(_unit_url(unit, _year(int(year))))
    years = list(range(today.year, FIRST_YEAR - 1, -1))
    return render(
        request,
        "targets/report_index.html",
        {"units": units, "years": years, "year": today.year, "banner": _due_banner(today.year)},
    )


@staff_required
@never_cache
@require_GET
def report_unit(request, code: str, year: int):
    unit, year = _unit(request, code), _year(year)
    runs = list(ReportRun.objects.filter(admin_unit=unit, year=year).select_related("requested_by")[:RUNS_SHOWN])
    latest = runs[0] if runs else None
    working = latest is not None and _working(latest)
    return render(
        request,
        "targets/report_unit.html",
        {
            "unit": unit,
            "year": year,
            "latest": latest,
            "runs": runs,
            "working": working,
            "banner": _due_banner(year),
        },
    )


@staff_required
@require_POST
def report_start(request, code: str, year: int):
    """Record a run and hand it to a worker after commit (inline when Celery is
    eager). A retry is a new run. A second click while a run is working starts
    nothing new."""
    unit, year = _unit(request, code), _year(year)
    working = ReportRun.objects.filter(
        admin_unit=unit, year=year, status__in=(ReportRun.Status.PENDING, ReportRun.Status.RUNNING),
        requested_at__gt=timezone.now() - STALE_AFTER,
    ).exists()
    if not working:
        run = report.report_run_start(unit=unit, year=year, user=request.user)
        language = _language(request)
        transaction.on_commit(lambda: _enqueue(run.pk, language))
    return redirect(_unit_url(unit, year))


def _working(run: ReportRun) -> bool:
    return run.status in (ReportRun.Status.PENDING, ReportRun.Status.RUNNING) and (
        run.requested_at > timezone.now() - STALE_AFTER
    )


def _enqueue(run_id: int, language: str) -> None:
    try:
        report_build.delay(run_id, language)
    except Exception:  # noqa: BLE001 - any broker error: the officer must see it, not wait forever
        logger.exception("Could not queue the build of report run %s", run_id)
        with translation.override(language):
            error = _("The report could not be started: the background task service is unavailable. Try again in a few minutes.")
        ReportRun.objects.filter(pk=run_id, status=ReportRun.Status.PENDING).update(
            status=ReportRun.Status.FAILED, error=error, finished_at=timezone.now()
        )


def _progress(run: ReportRun) -> dict:
    done = run.status == ReportRun.Status.DONE
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "steps_done": run.steps_done,
        "steps_total": run.steps_total,
        "percent": run.progress_percent,
        "finished": run.status in (ReportRun.Status.DONE, ReportRun.Status.FAILED),
        "error": run.error,
        "xlsx_url": reverse("targets:report_download", args=[run.pk, "xlsx"]) if done and run.xlsx else None,
        "csv_url": reverse("targets:report_download", args=[run.pk, "csv"]) if done and run.csv else None,
    }


@staff_required
@never_cache
@require_GET
def report_progress(request, pk: int):
    return JsonResponse(_progress(_run(request, pk)))


@staff_required
@require_GET
def report_download(request, pk: int, fmt: str):
    run = _run(request, pk)
    file = getattr(run, fmt, None) if fmt in CONTENT_TYPES else None
    if run.status != ReportRun.Status.DONE or not file:
        raise Http404(_("This report has no such file."))
    try:
        handle = file.open("rb")
    except OSError:
        raise Http404(_("This report has no such file.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=report.report_filename(run.admin_unit, run.year, fmt),
        content_type=CONTENT_TYPES[fmt],
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
@never_cache
@require_GET
def report_print(request, code: str, year: int):
    """The report as a printable A4 page, built now from the same data as the files."""
    unit, year = _unit(request, code), _year(year)
    with translation.override(_language(request)):
        data = report.report_data(unit, year)
        response = render(
            request,
            "targets/report_print.html",
            {"data": data, "unit": unit, "year": year, "place_date": timezone.localdate(), "site_url": settings.SITE_URL},
        )
    return response
