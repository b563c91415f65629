"""One date's registrations as a CSV or an Excel file, for the venue's staff.

Both are pure functions of the registrations: the view decides who may have
them. Names and organisations are typed by citizens, so a value that a
spreadsheet would run as a formula ("=HYPERLINK(...)") is written as text.
"""

import csv
import datetime as dt
import io
import re

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from common.phone import phone_display
from events.models import Occurrence

DATETIME_FORMAT = "%d/%m/%Y %H:%M"
EXCEL_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def _columns() -> list[tuple[str, int]]:
    """Header and Excel column width (in characters), in the user's language."""
    return [
        (_("Status"), 18),
        (_("Full name"), 28),
        (_("Phone"), 16),
        (_("Email"), 28),
        (_("Number of people"), 10),
        (_("Organisation"), 30),
        (_("Admitted"), 10),
        (_("Source"), 14),
        (_("Registered at"), 18),
    ]


def _rows(registrations) -> list[list]:
    rows = []
    for registration in registrations:
        ticket = getattr(registration, "ticket", None)
        rows.append(
            [
                registration.get_status_display(),
                registration.full_name,
                phone_display(registration.phone),
                registration.email,
                registration.party_size,
                registration.organisation,
                ticket.admitted if ticket else 0,
                registration.get_source_display(),
                # Excel has no time zones: the venue's local time, without an offset.
                timezone.localtime(registration.created_at).replace(tzinfo=None),
            ]
        )
    return rows


def _csv_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime(DATETIME_FORMAT)
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def registrations_csv(registrations) -> bytes:
    """UTF-8 with a byte order mark: without it Excel reads Vietnamese as mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _width in _columns()])
    for row in _rows(registrations):
        writer.writerow([_csv_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_title(occurrence: Occurrence) -> str:
    # Excel allows 31 characters and none of \ / * ? : [ ].
    day = timezone.localtime(occurrence.start).strftime("%d-%m-%Y")
    title = SHEET_TITLE_FORBIDDEN.sub("-", f"{_('Registrations')} {day}")
    return title[:31]


def registrations_xlsx(occurrence: Occurrence, registrations) -> bytes:
    """An .xlsx with a bold, frozen header row, fixed column widths and
    registration times as real Excel datetimes in local time."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(occurrence)
    start = timezone.localtime(occurrence.start).strftime(DATETIME_FORMAT)
    workbook.properties.title = f"{occurrence.programme.title} · {start}"

    columns = _columns()
    sheet.append([header for header, _width in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, (_header, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    for row in _rows(registrations):
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"  # citizen-typed text, never a formula
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = EXCEL_DATETIME_FORMAT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(occurrence: Occurrence, extension: str) -> str:
    """registrations-2026-04-21-0900-42.xlsx: sorts by date in a folder."""
    start = timezone.localtime(occurrence.start)
    return f"registrations-{start:%Y-%m-%d-%H%M}-{occurrence.pk}.{extension}"

