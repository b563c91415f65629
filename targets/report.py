"""The annual report to the Department (due before 10/12): its data, and the
same content as an Excel workbook, a CSV file and a printable page.

`report_data(unit, year)` gathers everything from targets.indicators and the
kept totals (attendance.VisitCount, events.Occurrence), never from raw check-in
rows, with a number of queries that does not grow with the number of venues
(a handful per tier). `report_xlsx` / `report_csv` are pure functions of that
data; the page (templates/targets/report_print.html) renders the same data.
`report_run_build(run_id=…)` builds the files of a ReportRun (the Celery task
`targets.tasks.report_build` calls it) and is safe to run twice.

Headings are gettext msgids: the caller chooses the language (report_language).
"""

import csv
import datetime as dt
import io
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.base import ContentFile
from django.db.models import F, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from attendance.models import VisitMonth
from common.numbers import number_text
from targets import indicators
from targets.models import PERCENT_INDICATORS, Indicator, ReportRun, Target
from targets.texts import no_data_reason, status_label
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q

logger = logging.getLogger(__name__)

# The report is due to the Department before this day of December.
DUE_DAY = dt.date(2000, 12, 10)  # only the month and day are used
XLSX_NUMBER = "#,##0"
XLSX_DECIMAL = "#,##0.0"
SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows of a sheet before its table: title, unit, date, blank.
HEADER_ROW = 5


def due_date(year: int) -> dt.date:
    return dt.date(year, DUE_DAY.month, DUE_DAY.day)


def report_language(language: str | None) -> str:
    """Vietnamese, the language a Department reads, unless the officer reads English."""
    return "en" if (language or "").startswith("en") else "vi"


def report_is_due_soon(today: dt.date) -> bool:
    """November and December: the months in which the banner reminds officers."""
    return today.month in (11, 12)


def _figure(value, decimals: int = 0) -> str:
    """A figure in a report cell: blank when missing, no decimals on a whole number."""
    return number_text(value, decimals, empty="", trim=True)


# -- the data -------------------------------------------------------------------------


@dataclass
class SummaryRow:
    indicator: str
    indicator_label: str
    scope: str
    target: Decimal
    value_max: Decimal | None
    measure: str  # unit of measure of the target: visits, %, activities …
    result: Decimal | None
    target_percent: bool  # the target is a share or a growth rate
    result_percent: bool  # the result is a percentage (also: share of venues meeting a per-venue target)
    status: str
    status_label: str
    source: str
    note: str = ""  # what the result is made of: "3 of 4 venues", the previous year's visits …

    @property
    def target_text(self) -> str:
        decimals = 1 if self.target_percent else 0
        text = _figure(self.target, decimals)
        if self.value_max is not None:
            text = f"{text}–{_figure(self.value_max, decimals)}"
        return f"{text} %" if self.target_percent else text

    @property
    def result_text(self) -> str:
        if self.result is None:
            return ""
        text = _figure(self.result, 1 if self.result_percent else 0)
        return f"{text} %" if self.result_percent else text


@dataclass
class VenueRow:
    name: str
    commune: str
    kind: str
    visits: int
    target: Decimal | None
    target_max: Decimal | None
    dates_held: int
    activities: int
    digital: bool

    @property
    def percent_of_target(self) -> Decimal | None:
        """Visits as a share of the target (of its lower end for a range)."""
        if not self.target:
            return None
        return (Decimal(self.visits) * 100 / self.target).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def visits_text(self) -> str:
        return _figure(self.visits)

    @property
    def percent_text(self) -> str:
        percent = self.percent_of_target
        return "" if percent is None else f"{_figure(percent, 1)} %"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        text = _figure(self.target)
        return f"{text}–{_figure(self.target_max)}" if self.target_max is not None else text


@dataclass
class TierSection:
    tier: str
    label: str
    venues: list[VenueRow] = field(default_factory=list)

    @property
    def visits(self) -> int:
        return sum(row.visits for row in self.venues)

    @property
    def visits_text(self) -> str:
        return _figure(self.visits)

    @property
    def dates_held(self) -> int:
        return sum(row.dates_held for row in self.venues)

    @property
    def activities(self) -> int:
        return sum(row.activities for row in self.venues)

    @property
    def digital(self) -> int:
        return sum(1 for row in self.venues if row.digital)


@dataclass
class ReportData:
    unit: AdminUnit
    year: int
    as_of: dt.date
    summary: list[SummaryRow]
    tiers: list[TierSection]

    @property
    def title(self) -> str:
        return _("REPORT ON THE RESULTS OF THE LIFELONG-LEARNING PLAN IN %(year)s") % {"year": self.year}

    @property
    def unit_line(self) -> str:
        return _("Unit: %(unit)s") % {"unit": self.unit.name}

    @property
    def as_of_line(self) -> str:
        return _("Figures as of %(date)s") % {"date": self.as_of.strftime("%d/%m/%Y")}


Progress = Callable[[int, int], None]


def report_steps(unit: AdminUnit, year: int) -> int:
    """Steps of a build: the summary, one per tier with venues, the files."""
    return 1 + len(_tiers_present(unit)) + 1


def report_data(unit: AdminUnit, year: int, *, today: dt.date | None = None, progress: Progress | None = None) -> ReportData:
    """Everything the report says, in the active language. `progress(done, total)`
    is called after the summary and after each tier."""
    as_of = min(today or timezone.localdate(), dt.date(year, 12, 31))
    tiers = _tiers_present(unit)
    total = 1 + len(tiers) + 1
    summary = [_summary_row(result) for result in indicators.unit_results(unit, year, today=today)]
    if progress:
        progress(1, total)
    sections = []
    measures = indicators.venue_year_measures(unit, year, today=today)
    for done, tier in enumerate(tiers, start=2):
        rows = _venue_rows(unit, tier, year, measures)
        sections.append(TierSection(tier=tier, label=str(Venue.Tier(tier).label), venues=rows))
        if progress:
            progress(done, total)
    return ReportData(unit=unit, year=year, as_of=as_of, summary=summary, tiers=sections)


def _measure(target: Target) -> str:
    if target.indicator in PERCENT_INDICATORS:
        return "%"
    if target.indicator == Indicator.VISITS:
        return _("visits")
    if target.indicator == Indicator.ACTIVITIES:
        return _("activities")
    return ""


def _note(result) -> str:
    detail = result.detail
    if detail.get("reason"):
        return no_data_reason(result)
    if detail.get("per_venue") and detail.get("denominator"):
        return _("%(met)s of %(total)s venues meet the target") % {
            "met": detail["numerator"], "total": detail["denominator"]
        }
    if result.indicator in (Indicator.LIFELONG_LEARNING_SHARE, Indicator.DIGITAL_SHARE) and detail.get("denominator"):
        return _("%(count)s of %(total)s venues") % {"count": detail["numerator"], "total": detail["denominator"]}
    if result.indicator == Indicator.VISITS_GROWTH and "base_visits" in detail:
        return _("%(visits)s visits against %(base)s in %(year)s") % {
            "visits": _figure(detail["visits"]), "base": _figure(detail["base_visits"]), "year": detail["base_year"]
        }
    if result.indicator == Indicator.VISITS_GROWTH and "previous_visits" in detail:
        return _("%(visits)s visits against %(previous)s the previous year") % {
            "visits": _figure(detail["visits"]), "previous": _figure(detail["previous_visits"])
        }
    if result.indicator == Indicator.MANUAL and detail.get("note"):
        return detail["note"]
    return ""


def _summary_row(result) -> SummaryRow:
    target = result.target
    label = target.indicator_label
    if target.per_venue:
        label = _("%(indicator)s, for each venue") % {"indicator": label}
    return SummaryRow(
        indicator=target.indicator,
        indicator_label=label,
        scope=target.scope_label,
        target=target.value,
        value_max=target.value_max,
        measure=_measure(target),
        result=result.value,
        target_percent=target.indicator in PERCENT_INDICATORS,
        result_percent=result.is_percent,
        status=result.status,
        status_label=str(status_label(result.status)),
        source=target.source_document,
        note=_note(result),
    )


def _unit_venues(unit: AdminUnit):
    return Venue.objects.filter(venues_in_unit_q(unit)).filter(is_active=True)


def _tiers_present(unit: AdminUnit) -> list[str]:
    present = set(_unit_venues(unit).values_list("tier", flat=True).distinct())
    return [tier for tier in Venue.Tier.values if tier in present]


def _venue_rows(unit: AdminUnit, tier: str, year: int, measures: dict[int, indicators.VenueYear]) -> list[VenueRow]:
    """The rows of one tier's sheet: a fixed number of queries, whatever the number of venues."""
    venues = list(_unit_venues(unit).filter(tier=tier).select_related("admin_unit").order_by("name", "pk"))
    visits = indicators.venue_year_visits([venue.pk for venue in venues], year)
    targets = indicators.venue_visits_targets(venues, year)
    nothing = indicators.VenueYear(0, 0, False)
    rows = []
    for venue in venues:
        target = targets.get(venue.pk)
        measured = measures.get(venue.pk, nothing)
        rows.append(
            VenueRow(
                name=venue.name,
                commune=venue.admin_unit.name if venue.admin_unit.level == AdminUnit.Level.COMMUNE else "",
                kind=str(venue.get_kind_display()),
                visits=int(visits.get(venue.pk, 0)),
                target=target.value if target else None,
                target_max=target.value_max if target else None,
                dates_held=measured.lifelong_learning_dates,
                activities=measured.programmes_held,
                digital=measured.digital,
            )
        )
    return rows


# -- the files ------------------------------------------------------------------------


def _summary_columns() -> list[tuple[str, int]]:
    return [
        (_("No."), 6),
        (_("Indicator"), 44),
        (_("Scope"), 30),
        (_("Target set"), 14),
        (_("Upper end"), 12),
        (_("Unit of measure"), 12),
        (_("Result achieved"), 14),
        (_("Assessment"), 20),
        (_("Notes"), 30),
        (_("Source document"), 40),
    ]


def _venue_columns() -> list[tuple[str, int]]:
    return [
        (_("No."), 6),
        (_("Venue name"), 40),
        (_("Commune / ward"), 24),
        (_("Venue type"), 22),
        (_("Visits"), 12),
        (_("Visits target"), 14),
        (_("Share of target"), 12),
        (_("Lifelong-learning dates held"), 16),
        (_("Activities held"), 14),
        (_("Digital tools used"), 14),
    ]


def _summary_values(index: int, row: SummaryRow) -> list:
    return [
        index,
        row.indicator_label,
        row.scope,
        row.target,
        row.value_max,
        row.measure,
        row.result,
        row.status_label,
        row.note,
        row.source,
    ]


def _venue_values(index: int, row: VenueRow) -> list:
    return [
        index,
        row.name,
        row.commune,
        row.kind,
        row.visits,
        row.target,
        row.percent_of_target,
        row.dates_held,
        row.activities,
        _("Yes") if row.digital else _("No"),
    ]


def _tier_total(section: TierSection) -> list:
    return [
        "", _("Total"), "", "", section.visits, "", "", section.dates_held, section.activities,
        f"{section.digital}/{len(section.venues)}",
    ]


def sheet_title(text: str) -> str:
    # Excel allows 31 characters and none of \ / * ? : [ ].
    return SHEET_TITLE_FORBIDDEN.sub("-", text)[:31]


def _text(value):
    """Text typed by people (names, sources) is never run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")


def _sheet_heading(sheet, data: ReportData, subtitle: str, width: int) -> None:
    last = get_column_letter(width)
    for row, (text, font) in enumerate(
        [(data.title, Font(bold=True, size=13)), (subtitle, Font(bold=True)), (data.as_of_line, Font(italic=True))],
        start=1,
    ):
        sheet.cell(row=row, column=1, value=text).font = font
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")


def _table(sheet, columns: list[tuple[str, int]], rows: list[list], number_formats: dict[int, str]) -> None:
    for index, (header, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    for offset, values in enumerate(rows, start=1):
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=HEADER_ROW + offset, column=index, value=_text(value))
            cell.border = _BORDER
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                cell.number_format = number_formats.get(index, XLSX_NUMBER)
            else:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"


def report_xlsx(data: ReportData) -> bytes:
    """A summary sheet, then a sheet per tier, each with the report's heading,
    a bold, frozen header row, column widths and number formats."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = sheet_title(_("Summary"))
    workbook.properties.title = f"{data.title} · {data.unit.name}"
    columns = _summary_columns()
    _sheet_heading(summary, data, data.unit_line, len(columns))
    rows = [_summary_values(index, row) for index, row in enumerate(data.summary, start=1)]
    _table(summary, columns, rows, {})
    for offset, row in enumerate(data.summary, start=1):  # percentages keep a decimal
        columns_in_percent = ((4, 5) if row.target_percent else ()) + ((7,) if row.result_percent else ())
        for column in columns_in_percent:
            summary.cell(row=HEADER_ROW + offset, column=column).number_format = XLSX_DECIMAL

    used = {summary.title}
    for section in data.tiers:
        title = sheet_title(section.label)
        while title in used:
            title = sheet_title(f"{section.label} {len(used)}")
        used.add(title)
        sheet = workbook.create_sheet(title)
        columns = _venue_columns()
        subtitle = f"{data.unit_line} · {_('Venues of tier: %(tier)s') % {'tier': section.label}}"
        _sheet_heading(sheet, data, subtitle, len(columns))
        rows = [_venue_values(index, row) for index, row in enumerate(section.venues, start=1)]
        rows.append(_tier_total(section))
        _table(sheet, columns, rows, {7: XLSX_DECIMAL})
        for cell in sheet[HEADER_ROW + len(rows)]:
            cell.font = Font(bold=True)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:f}"
    return str(_text(value))


def report_csv(data: ReportData) -> bytes:
    """The same tables one after another. UTF-8 with a byte order mark: without
    it Excel reads Vietnamese as mojibake. Numbers are written plainly (85.5)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([data.title])
    writer.writerow([data.unit_line])
    writer.writerow([data.as_of_line])
    writer.writerow([])
    writer.writerow([_("Summary")])
    writer.writerow([header for header, _width in _summary_columns()])
    for index, row in enumerate(data.summary, start=1):
        writer.writerow([_csv_value(value) for value in _summary_values(index, row)])
    for section in data.tiers:
        writer.writerow([])
        writer.writerow([_("Venues of tier: %(tier)s") % {"tier": section.label}])
        writer.writerow([header for header, _width in _venue_columns()])
        for index, row in enumerate(section.venues, start=1):
            writer.writerow([_csv_value(value) for value in _venue_values(index, row)])
        writer.writerow([_csv_value(value) for value in _tier_total(section)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_filename(unit: AdminUnit, year: int, extension: str) -> str:
    """bao-cao-<unit code>-2025.xlsx: what the officer downloads."""
    code = re.sub(r"[^A-Za-z0-9_-]", "-", unit.code)
    return f"bao-cao-hoc-tap-suot-doi-{code}-{year}.{extension}"


# -- the build ------------------------------------------------------------------------


def report_run_start(*, unit: AdminUnit, year: int, user=None) -> ReportRun:
    """Record a run waiting to be built (a retry is a new run: the failed one keeps its error)."""
    return ReportRun.objects.create(
        admin_unit=unit, year=year, requested_by=user, steps_total=report_steps(unit, year)
    )


def _error_text(error: Exception) -> str:
    if isinstance(error, OSError):
        return _("The report files could not be saved (%(detail)s). Try again; if it fails again, tell the administrator.") % {
            "detail": error.strerror or error.__class__.__name__
        }
    return _("The report could not be built because of an unexpected error (%(detail)s). Try again; if it fails again, tell the administrator.") % {
        "detail": f"{error.__class__.__name__}: {error}"[:300]
    }


def report_run_build(*, run_id: int, language: str | None = None, today: dt.date | None = None) -> ReportRun | None:
    """Build the files of run `run_id` and mark it done, or failed with its error
    in words. Safe to run twice: a run that is done or failed is left as it is
    (a retry is a new run), so a redelivered task writes no second pair of files.
    A run left `running` by a lost worker is built again from the start.

    Never raises for a failing build (the run records it); returns None when
    there is no such run."""
    run = ReportRun.objects.select_related("admin_unit").filter(pk=run_id).first()
    if run is None or run.status in (ReportRun.Status.DONE, ReportRun.Status.FAILED):
        return run
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.RUNNING, steps_done=0, error="")

    def progress(done: int, total: int) -> None:
        ReportRun.objects.filter(pk=run.pk).update(steps_done=done, steps_total=total)

    with translation.override(report_language(language)):
        try:
            data = report_data(run.admin_unit, run.year, today=today, progress=progress)
            xlsx, csv_bytes = report_xlsx(data), report_csv(data)
            # An unguessable name: reports are served by a view that checks access,
            # and a name that could be guessed would leak them wherever media is public.
            stem = f"{report_filename(run.admin_unit, run.year, '')[:-1]}-{secrets.token_hex(8)}"
            run.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx), save=False)
            run.csv.save(f"{stem}.csv", ContentFile(csv_bytes), save=False)
        except Exception as error:  # noqa: BLE001 - a failing build is recorded for the officer, not lost
            logger.exception("Annual report run %s failed", run.pk)
            ReportRun.objects.filter(pk=run.pk).update(
                status=ReportRun.Status.FAILED, error=_error_text(error), finished_at=timezone.now()
            )
            run.refresh_from_db()
            return run
    total = len(data.tiers) + 2
    ReportRun.objects.filter(pk=run.pk).update(
        status=ReportRun.Status.DONE,
        xlsx=run.xlsx.name,
        csv=run.csv.name,
        steps_done=total,
        steps_total=total,
        finished_at=timezone.now(),
        error="",
    )
    run.refresh_from_db()
    return run


# -- totals for the API ----------------------------------------------------------------


def visits_sum():
    """Visits of kept-total rows (VisitCount, VisitMonth): checked in + walk-ins + entered by hand."""
    return Sum(F("checked_in") + F("walk_ins") + F("manual"))


def unit_visit_totals(unit: AdminUnit, year: int) -> dict:
    """Visits of the unit's venues in the year from the monthly kept totals (VisitMonth): by
    venue and month, by category (targets.indicators.visits_by_category) and by audience.
    Three grouped queries on a few rows per venue and month, whatever the number of venues."""
    counts = VisitMonth.objects.filter(
        venues_in_unit_q(unit, "venue__"), month__gte=dt.date(year, 1, 1), month__lte=dt.date(year, 12, 1)
    )
    by_venue_month: dict[int, dict[int, int]] = defaultdict(dict)
    for row in counts.values("venue_id", "month").annotate(visits=visits_sum()).order_by():
        by_venue_month[row["venue_id"]][row["month"].month] = int(row["visits"] or 0)
    by_audience = {
        row["audience"]: int(row["visits"] or 0)
        for row in counts.values("audience").annotate(visits=visits_sum()).order_by("audience")
    }
    return {
        "by_venue_month": dict(by_venue_month),
        "by_category": indicators.visits_by_category(unit, year),
        "by_audience": by_audience,
    }


# -- the November reminder ------------------------------------------------------------

REMINDER_KIND = "report_due"  # a Message kind (notifications.Message.kind)


def reminder_date(today: dt.date) -> dt.date | None:
    """The reminder date in force on `today`: 1/11 through November, 1/12 from
    1/12 to the due date; None otherwise. The task runs daily in those months,
    so a day the scheduler missed is caught up the next day; the dedupe key
    keeps it to one e-mail per officer, year and reminder date."""
    if today.month == 11:
        return dt.date(today.year, 11, 1)
    if today.month == 12 and today < due_date(today.year):
        return dt.date(today.year, 12, 1)
    return None


def reminder_dedupe_key(user_id: int, reminder: dt.date) -> str:
    return f"{REMINDER_KIND}:{reminder:%Y-%m-%d}:user:{user_id}"


def report_reminders_send(*, today: dt.date | None = None) -> int:
    """E-mail every officer with an address that the annual report of the year is
    due before 10/12, with a link to each unit they oversee: on 1/11, and on 1/12
    only for units whose report has not been built. Recorded in the outbox
    (notifications.Message, channel e-mail) with a dedupe key per officer, year and
    reminder date, so a rerun, or two at once, sends nothing twice. Returns the
    number of e-mails recorded."""
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.urls import reverse

    from notifications.models import Message
    from notifications.services import message_create
    from venues.models import StaffRole

    today = today or timezone.localdate()
    reminder = reminder_date(today)
    if reminder is None:
        return 0
    year = today.year
    roles = (
        StaffRole.objects.filter(role=StaffRole.Role.OFFICER, user__is_active=True, admin_unit__isnull=False)
        .exclude(user__email="")
        .select_related("user", "admin_unit")
        .order_by("user_id", "admin_unit__name")
    )
    units_by_user: dict = defaultdict(list)
    users = {}
    for role in roles:
        users[role.user_id] = role.user
        units_by_user[role.user_id].append(role.admin_unit)
    if reminder.month == 12:
        built = set(
            ReportRun.objects.filter(year=year, status=ReportRun.Status.DONE).values_list("admin_unit_id", flat=True)
        )
        units_by_user = {uid: [u for u in units if u.pk not in built] for uid, units in units_by_user.items()}
    already = set(
        Message.objects.filter(
            dedupe_key__in=[reminder_dedupe_key(uid, reminder) for uid in units_by_user]
        ).values_list("dedupe_key", flat=True)
    )
    created = 0
    with translation.override("vi"):
        for user_id, units in units_by_user.items():
            key = reminder_dedupe_key(user_id, reminder)
            if not units or key in already:
                continue
            user = users[user_id]
            links = [
                (unit.name, settings.SITE_URL + reverse("targets:report_unit", args=[unit.code, year]))
                for unit in units
            ]
            subject = _("The annual report for %(year)s is due before %(date)s") % {
                "year": year, "date": due_date(year).strftime("%d/%m/%Y")
            }
            body = render_to_string(
                "targets/report_reminder_email.txt",
                {
                    "name": user.get_full_name() or user.get_username(),
                    "year": year,
                    "due": due_date(year),
                    "links": links,
                    "second": reminder.month == 12,
                },
            )
            if message_create(
                channel=Message.Channel.EMAIL,
                recipient=user.email,
                kind=REMINDER_KIND,
                subject=subject,
                body=body.strip() + "\n",
                language="vi",
                dedupe_key=key,
            ):
                created += 1
    return created
