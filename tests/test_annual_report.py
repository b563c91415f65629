"""The annual report to the Department: its numbers, its three forms (Excel,
CSV, printable page), the build as a task with progress, who may see it, and
the November reminder."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from attendance.totals import visits_add
from notifications.models import Message
from targets import report, views_reports
from targets.models import Indicator, ReportRun, Target
from targets.tasks import report_build, report_reminders_task
from tests.factories import make_commune, make_programme, make_user, make_venue
from venues.models import StaffRole, Venue

YEAR = 2024  # a finished year: statuses are met / not met, whatever today is


def vi(text: str) -> str:
    """`text` as the Vietnamese report shows it (the English msgid until translations are compiled)."""
    with translation.override("vi"):
        return gettext(text)


@pytest.fixture
def eager(monkeypatch):
    """Celery runs tasks inline, as in `make run`, also when a broker is configured (CI on Redis)."""
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)


@pytest.fixture
def fixture_report(province, commune, venue):
    """Given: three venues of the province with known visits in 2024 and two targets.

    - the provincial library (`venue`): 6,000 walk-ins + 100 scanned at a reading date → 6,100 visits, digital
    - a provincial museum: 3,000 walk-ins
    - a commune library: 500 walk-ins
    Targets: 10,000 visits for the province (sum), 5,000–6,000 for each provincial venue."""
    museum = make_venue(admin_unit=commune, name="Bảo tàng tỉnh Hưng Yên", kind=Venue.Kind.MUSEUM)
    small = make_venue(admin_unit=commune, name="Thư viện xã Phố Hiến", tier=Venue.Tier.COMMUNE)
    programme = make_programme(venue=venue, day=dt.date(YEAR, 4, 21), category="reading")
    occurrence = programme.occurrences.get()
    visits_add(venue_id=venue.pk, day=dt.date(YEAR, 3, 5), walk_ins=6000)
    visits_add(venue_id=venue.pk, day=dt.date(YEAR, 4, 21), occurrence=occurrence, audience="children", checked_in=100)
    visits_add(venue_id=museum.pk, day=dt.date(YEAR, 5, 18), walk_ins=3000, audience="adults")
    visits_add(venue_id=small.pk, day=dt.date(YEAR, 12, 31), walk_ins=500)
    visits_add(venue_id=venue.pk, day=dt.date(YEAR + 1, 1, 1), walk_ins=999)  # another year: not counted
    total = Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS, value=10000, source_document="KH 45/KH-UBND"
    )
    each = Target.objects.create(
        admin_unit=province, venue_tier=Venue.Tier.PROVINCIAL, year=YEAR, indicator=Indicator.VISITS,
        value=5000, value_max=6000, per_venue=True, source_document="KH 45/KH-UBND",
    )
    return {"museum": museum, "small": small, "total": total, "each": each, "occurrence": occurrence}


def _build(province, year=YEAR, **kwargs) -> ReportRun:
    run = report.report_run_start(unit=province, year=year)
    report_build(run.pk, **kwargs)
    run.refresh_from_db()
    return run


# -- the numbers and the files ---------------------------------------------------------------


def test_report_data_has_the_known_answers(province, venue, fixture_report):
    """Given the fixture, when the data is gathered, then each target's result and
    status, and each venue's row, are the hand-computed numbers."""
    data = report.report_data(province, YEAR)

    assert [(r.target, r.result, r.status) for r in data.summary] == [
        (Decimal(10000), Decimal(9600), "not_met"),
        (Decimal(5000), Decimal("50.00"), "not_met"),  # 1 of the 2 provincial venues meets it
    ]
    assert data.summary[1].value_max == Decimal(6000)
    assert [section.tier for section in data.tiers] == ["provincial", "commune"]
    rows = {row.name: row for row in data.tiers[0].venues}
    library = rows[venue.name]
    assert (library.visits, library.target, library.percent_of_target) == (6100, Decimal(5000), Decimal("122.0"))
    assert (library.dates_held, library.activities, library.digital) == (1, 1, True)
    museum = rows["Bảo tàng tỉnh Hưng Yên"]
    assert (museum.visits, museum.percent_of_target, museum.digital) == (3000, Decimal("60.0"), False)
    small = data.tiers[1].venues[0]
    assert (small.visits, small.target, small.percent_of_target) == (500, None, None)


def test_a_result_that_cannot_be_measured_says_why(province, venue, fixture_report):
    """Given an average growth since a year without visits and a figure nobody entered, when the
    report is gathered, then their rows have no result and the note says why."""
    Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS_GROWTH, value=8, base_year=YEAR - 3,
        source_document="KH 66/KH-UBND",
    )
    Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.MANUAL, value=500, label="Hiện vật được số hóa",
        source_document="KH 66/KH-UBND",
    )

    with translation.override("en"):
        data = report.report_data(province, YEAR)

    notes = {r.indicator_label: (r.result, r.note) for r in data.summary}
    assert notes[f"Average yearly growth of visits since {YEAR - 3} (%)"] == (
        None, f"No visits recorded in {YEAR - 3} to compare with."
    )
    assert notes["Hiện vật được số hóa"] == (None, "Not entered yet.")


def test_workbook_has_the_summary_rows_and_a_sheet_per_tier(province, venue, fixture_report):
    """Given the fixture, when the workbook is built and opened again with openpyxl,
    then the summary sheet has each target's numbers and status, the header row is
    frozen, and there is one sheet per tier with its venues and a total."""
    with translation.override("vi"):
        data = report.report_data(province, YEAR)
        workbook = load_workbook(io.BytesIO(report.report_xlsx(data)))

    summary = workbook.worksheets[0]
    header = report.HEADER_ROW
    assert summary.title == vi("Summary")
    assert summary["A1"].value == vi("REPORT ON THE RESULTS OF THE LIFELONG-LEARNING PLAN IN %(year)s") % {"year": YEAR}
    assert [c.value for c in summary[header]][:8] == [
        vi("No."), vi("Indicator"), vi("Scope"), vi("Target set"), vi("Upper end"), vi("Unit of measure"),
        vi("Result achieved"), vi("Assessment"),
    ]
    first = [c.value for c in summary[header + 1]]
    assert first[3] == 10000 and first[4] is None and first[6] == 9600 and first[7] == vi("Not met")
    assert first[-1] == "KH 45/KH-UBND"
    second = [c.value for c in summary[header + 2]]
    assert (second[3], second[4], second[6]) == (5000, 6000, 50)
    assert summary.freeze_panes == f"A{header + 1}"
    assert summary.column_dimensions["B"].width == 44
    assert summary.cell(row=header + 1, column=7).number_format == report.XLSX_NUMBER

    with translation.override("vi"):
        tiers = [str(Venue.Tier.PROVINCIAL.label), str(Venue.Tier.COMMUNE.label)]
    assert workbook.sheetnames[1:] == tiers
    provincial = workbook[tiers[0]]
    rows = [[c.value for c in row] for row in provincial.iter_rows(min_row=header + 1)]
    assert [row[1] for row in rows] == ["Bảo tàng tỉnh Hưng Yên", venue.name, vi("Total")]
    assert rows[1][4:8] == [6100, 5000, 122, 1]
    assert rows[2][4] == 9100
    assert provincial.freeze_panes == f"A{header + 1}"


def test_headings_are_vietnamese_by_default_and_english_for_an_english_officer(province, venue, fixture_report):
    """Given a build in Vietnamese and one in English, then the tier sheets carry
    the tier's name in that language."""
    vietnamese = _build(province)
    english = _build(province, language="en")

    assert load_workbook(vietnamese.xlsx.path).sheetnames[1] == "Cấp tỉnh"
    assert load_workbook(english.xlsx.path).sheetnames[1:] == ["Provincial", "Commune"]


def test_csv_has_a_bom_and_the_rows(province, venue, fixture_report):
    """Given the fixture, when the CSV is built, then it starts with a UTF-8 BOM
    and has the summary rows and each venue with its visits."""
    with translation.override("vi"):
        content = report.report_csv(report.report_data(province, YEAR))

    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert "Tỉnh Hưng Yên" in text
    assert "1,%s,%s,10000,,%s,9600," % (vi("Visits in the year"), "Tỉnh Hưng Yên", vi("visits")) in text
    assert f"{venue.name}," in text and ",6100,5000,122,1,1," in text
    assert "Thư viện xã Phố Hiến" in text


def test_printable_page_renders_the_headings_and_numbers(client, officer, province, venue, fixture_report):
    """Given the province's officer, when they open the printable page, then it has
    the report's title, the summary table and the venues with grouped numbers."""
    client.force_login(officer)

    response = client.get(reverse("targets:report_print", args=[province.code, YEAR]))

    assert response.status_code == 200
    html = response.content.decode()
    assert vi("REPORT ON THE RESULTS OF THE LIFELONG-LEARNING PLAN IN %(year)s") % {"year": YEAR} in html
    assert "@page" in html and "A4" in html
    assert vi("Assessment") in html and "KH 45/KH-UBND" in html
    assert "6.100" in html and "10.000" in html and "9.600" in html  # Vietnamese grouping
    assert "Cấp tỉnh" in html


def test_queries_do_not_grow_with_the_number_of_venues(province, commune, venue, fixture_report, django_assert_max_num_queries):
    """Given the fixture measured once, when ten more venues of the same tiers are
    added, then gathering the report takes no more queries than before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        report.report_data(province, YEAR)
    for n in range(10):
        extra = make_venue(admin_unit=commune, tier=Venue.Tier.COMMUNE if n % 2 else Venue.Tier.PROVINCIAL)
        visits_add(venue_id=extra.pk, day=dt.date(YEAR, 6, 1), walk_ins=10)

    with django_assert_max_num_queries(len(before.captured_queries)):
        data = report.report_data(province, YEAR)
    assert sum(len(section.venues) for section in data.tiers) == 13


# -- the build -------------------------------------------------------------------------------


def test_build_marks_the_run_done_with_both_files(province, venue, fixture_report):
    """Given a waiting run, when the task runs, then the run is done with every step
    counted, and both files are stored under unguessable names."""
    run = _build(province)

    assert run.status == ReportRun.Status.DONE
    assert run.steps_done == run.steps_total == 4  # summary, two tiers, files
    assert run.xlsx.name.endswith(".xlsx") and run.csv.name.endswith(".csv")
    assert len(run.xlsx.name.rsplit("-", 1)[-1]) >= 16
    assert run.finished_at is not None and run.error == ""


def test_running_the_task_twice_is_harmless(province, venue, fixture_report):
    """Given a built run, when the task is delivered again, then nothing changes:
    same files, still done, no second pair written."""
    run = _build(province)
    names = (run.xlsx.name, run.csv.name)
    folder = run.xlsx.storage.path(run.xlsx.name).rsplit("/", 1)[0]
    import os

    files_before = set(os.listdir(folder))

    report_build(run.pk)

    run.refresh_from_db()
    assert (run.xlsx.name, run.csv.name) == names
    assert run.status == ReportRun.Status.DONE
    assert set(os.listdir(folder)) == files_before


def test_a_run_left_running_by_a_lost_worker_is_built_again(province, venue, fixture_report):
    """Given a run a lost worker left half done, when the task is delivered again,
    then it builds the run from the start and finishes it."""
    run = report.report_run_start(unit=province, year=YEAR)
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.RUNNING, steps_done=2)

    report_build(run.pk)

    run.refresh_from_db()
    assert run.status == ReportRun.Status.DONE and run.xlsx


def test_a_failing_build_is_failed_with_its_error_and_can_be_retried(client, officer, province, venue, fixture_report, monkeypatch, django_capture_on_commit_callbacks, eager):
    """Given a build that breaks, when the officer starts it, then the run is failed
    with the error in words on the page and a retry button; a retry once the cause
    is gone builds a new run."""
    def broken(data):
        raise ValueError("the workbook library broke")

    real_xlsx = report.report_xlsx
    monkeypatch.setattr(report, "report_xlsx", broken)
    client.force_login(officer)
    page = reverse("targets:report_unit", args=[province.code, YEAR])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("targets:report_start", args=[province.code, YEAR]))

    run = ReportRun.objects.get()
    assert run.status == ReportRun.Status.FAILED
    assert "the workbook library broke" in run.error
    html = client.get(page).content.decode()
    assert vi("The report could not be built.") in html and "the workbook library broke" in html
    assert vi("Try again") in html
    progress = client.get(reverse("targets:report_progress", args=[run.pk])).json()
    assert progress["status"] == "failed" and progress["finished"] and "broke" in progress["error"]

    monkeypatch.setattr(report, "report_xlsx", real_xlsx)  # the cause is gone
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("targets:report_start", args=[province.code, YEAR]))
    assert ReportRun.objects.count() == 2
    assert ReportRun.objects.first().status == ReportRun.Status.DONE


def test_an_unavailable_broker_fails_the_run_in_words(client, officer, province, venue, monkeypatch, django_capture_on_commit_callbacks):
    """Given a broker that refuses the task, when the officer starts a build, then
    the run is failed saying the background service is unavailable (not waiting forever)."""
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(views_reports.report_build, "delay", refuse)
    client.force_login(officer)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("targets:report_start", args=[province.code, YEAR]))

    run = ReportRun.objects.get()
    assert run.status == ReportRun.Status.FAILED
    assert run.error == vi(
        "The report could not be started: the background task service is unavailable. Try again in a few minutes."
    )


def test_start_builds_inline_when_celery_is_eager_and_offers_the_downloads(client, officer, province, venue, fixture_report, django_capture_on_commit_callbacks, eager):
    """Given eager Celery (as in `make run`), when the officer starts a build, then
    they come back to the page with the run done and both downloads offered."""
    client.force_login(officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("targets:report_start", args=[province.code, YEAR]))

    assert response.status_code == 302
    run = ReportRun.objects.get()
    assert run.status == ReportRun.Status.DONE and run.requested_by == officer
    html = client.get(response.url).content.decode()
    assert reverse("targets:report_download", args=[run.pk, "xlsx"]) in html
    assert reverse("targets:report_download", args=[run.pk, "csv"]) in html


def test_a_second_start_while_working_starts_nothing_new(client, officer, province, venue):
    """Given a run still waiting, when the officer clicks again, then no second run is recorded."""
    report.report_run_start(unit=province, year=YEAR)
    client.force_login(officer)

    client.post(reverse("targets:report_start", args=[province.code, YEAR]))

    assert ReportRun.objects.count() == 1


def test_a_run_stuck_for_half_an_hour_does_not_block_a_new_one(client, officer, province, venue):
    """Given a run waiting for 31 minutes (no worker took it), when the officer
    starts again, then a new run is recorded."""
    from django.utils import timezone

    stuck = report.report_run_start(unit=province, year=YEAR)
    ReportRun.objects.filter(pk=stuck.pk).update(requested_at=timezone.now() - dt.timedelta(minutes=31))
    client.force_login(officer)

    client.post(reverse("targets:report_start", args=[province.code, YEAR]))

    assert ReportRun.objects.count() == 2


def test_progress_json_and_the_page_without_javascript(client, officer, province, venue, fixture_report):
    """Given a run halfway, when the page and the progress endpoint are read, then
    the JSON has the steps and percentage, and the page refreshes itself without JS."""
    run = report.report_run_start(unit=province, year=YEAR)
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.RUNNING, steps_done=2, steps_total=4)
    client.force_login(officer)

    progress = client.get(reverse("targets:report_progress", args=[run.pk])).json()
    html = client.get(reverse("targets:report_unit", args=[province.code, YEAR])).content.decode()

    assert progress == {
        "id": run.pk, "status": "running", "status_label": vi("Building"), "steps_done": 2, "steps_total": 4,
        "percent": 50, "finished": False, "error": "", "xlsx_url": None, "csv_url": None,
    }
    assert '<meta http-equiv="refresh"' in html
    assert 'value="50"' in html


def test_download_serves_the_files_as_attachments(client, officer, province, venue, fixture_report):
    """Given a built run, when the officer downloads, then the workbook and the CSV
    come as attachments named after the unit and year, not cached."""
    run = _build(province)
    client.force_login(officer)

    xlsx = client.get(reverse("targets:report_download", args=[run.pk, "xlsx"]))
    csv_file = client.get(reverse("targets:report_download", args=[run.pk, "csv"]))

    assert xlsx.status_code == 200
    assert "attachment" in xlsx["Content-Disposition"] and f"{province.code}-{YEAR}.xlsx" in xlsx["Content-Disposition"]
    assert load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).sheetnames[0]
    assert b"".join(csv_file.streaming_content).startswith(b"\xef\xbb\xbf")
    assert "no-store" in xlsx["Cache-Control"]
    assert client.get(reverse("targets:report_download", args=[run.pk, "pdf"])).status_code == 404


def test_an_unknown_unit_or_year_is_a_404(client, officer, province):
    """Given the officer, when they ask for a unit that does not exist or a year out
    of range, then the answer is 404, not an error."""
    client.force_login(officer)

    assert client.get(reverse("targets:report_unit", args=["NOPE", YEAR])).status_code == 404
    assert client.get(reverse("targets:report_unit", args=[province.code, 1999])).status_code == 404
    assert client.get(reverse("targets:report_index") + f"?unit={province.code}&year=abc").status_code == 404


# -- who may see it ----------------------------------------------------------------------------


@pytest.fixture
def people(officer, owner, teammate, citizen, other_province):
    return {
        "officer": officer,
        "other_officer": make_user(username="other-officer", role=StaffRole.Role.OFFICER, admin_unit=other_province),
        "manager": owner,
        "door": teammate,
        "citizen": citizen,
        "anonymous": None,
    }


# What each person gets: the report page, starting a build, its progress, a download, the printable page.
ACCESS = {
    "officer": (200, 302, 200, 200, 200),
    "other_officer": (404, 404, 404, 404, 404),
    "manager": (404, 404, 404, 404, 404),
    "door": (404, 404, 404, 404, 404),
    "citizen": (403, 403, 403, 403, 403),
    "anonymous": (302, 302, 302, 302, 302),
}


@pytest.mark.parametrize("who", list(ACCESS))
def test_access_matrix(client, people, who, province, venue, fixture_report):
    """Given a built report of the province, when each kind of user asks for its
    page, a new build, the progress, a download and the printable page, then only
    the province's officer gets them; other staff get 404, citizens 403 and
    anonymous visitors the login page."""
    run = _build(province)
    if people[who] is not None:
        client.force_login(people[who])

    answers = (
        client.get(reverse("targets:report_unit", args=[province.code, YEAR])).status_code,
        client.post(reverse("targets:report_start", args=[province.code, YEAR])).status_code,
        client.get(reverse("targets:report_progress", args=[run.pk])).status_code,
        client.get(reverse("targets:report_download", args=[run.pk, "xlsx"])).status_code,
        client.get(reverse("targets:report_print", args=[province.code, YEAR])).status_code,
    )

    assert answers == ACCESS[who]
    if who != "officer":
        assert ReportRun.objects.count() == 1  # nobody else started a build


@pytest.mark.parametrize(
    ("who", "status"),
    [("officer", 200), ("other_officer", 200), ("manager", 403), ("door", 403), ("citizen", 403), ("anonymous", 302)],
)
def test_report_list_is_for_officers(client, people, who, status):
    """Given each kind of user, when they open the list of reports, then officers
    see it (with their own units), venue staff and citizens are refused."""
    if people[who] is not None:
        client.force_login(people[who])

    response = client.get(reverse("targets:report_index"))

    assert response.status_code == status
    if who == "officer":
        assert "Tỉnh Hưng Yên" in response.content.decode() and "Tỉnh Bắc Ninh" not in response.content.decode()


def test_a_province_officer_sees_its_communes_and_a_commune_officer_only_its_own(client, officer, province, commune):
    """Given a province officer and a commune officer, then the province officer may
    open the commune's report and the commune officer may not open the province's."""
    commune_officer = make_user(username="commune-officer", role=StaffRole.Role.OFFICER, admin_unit=commune)
    other_commune = make_commune(province=province, name="Xã Tân Hưng")

    client.force_login(officer)
    assert client.get(reverse("targets:report_unit", args=[commune.code, YEAR])).status_code == 200
    client.force_login(commune_officer)
    assert client.get(reverse("targets:report_unit", args=[commune.code, YEAR])).status_code == 200
    assert client.get(reverse("targets:report_unit", args=[province.code, YEAR])).status_code == 404
    assert client.get(reverse("targets:report_unit", args=[other_commune.code, YEAR])).status_code == 404


def test_a_superuser_sees_any_unit(client, province, other_province):
    """Given a superuser, when they open any province's report, then it is shown."""
    admin = make_user(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)

    assert client.get(reverse("targets:report_unit", args=[other_province.code, YEAR])).status_code == 200


# -- due date: banner and reminder ----------------------------------------------------------------


@pytest.mark.parametrize(("today", "shown"), [(dt.date(2025, 11, 3), True), (dt.date(2025, 12, 9), True), (dt.date(2025, 10, 31), False)])
def test_the_due_banner_shows_in_november_and_december(client, officer, province, monkeypatch, today, shown):
    """Given the current year's report page, then the banner saying it is due before
    10/12 shows in November and December only."""
    monkeypatch.setattr(views_reports, "_today", lambda: today)
    client.force_login(officer)

    html = client.get(reverse("targets:report_unit", args=[province.code, today.year])).content.decode()

    banner = vi("The annual report for %(year)s is due to the Department before %(date)s.") % {
        "year": today.year, "date": f"10/12/{today.year}"
    }
    assert (banner in html) is shown


@pytest.fixture
def officers_with_email(officer, province, other_province):
    officer.email = "officer@so-vhttdl.gov.vn"
    officer.save()
    other = make_user(
        username="bn-officer", role=StaffRole.Role.OFFICER, admin_unit=other_province, email="bn@so-vhttdl.gov.vn"
    )
    make_user(username="no-email", role=StaffRole.Role.OFFICER, admin_unit=province)  # nothing to send to
    return officer, other


def test_the_november_reminder_goes_once_per_officer(officers_with_email, province, django_capture_on_commit_callbacks, eager):
    """Given two officers with an e-mail address and one without, when the reminder
    runs on 1/11 and again, then each officer with an address gets one e-mail with
    the link to their unit's report, and the rerun sends nothing more."""
    officer, other = officers_with_email

    with django_capture_on_commit_callbacks(execute=True):
        first = report.report_reminders_send(today=dt.date(2025, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        again = report.report_reminders_send(today=dt.date(2025, 11, 1))
        later = report.report_reminders_send(today=dt.date(2025, 11, 20))

    assert (first, again, later) == (2, 0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == ["bn@so-vhttdl.gov.vn", "officer@so-vhttdl.gov.vn"]
    to_officer = next(m for m in mail.outbox if m.to == ["officer@so-vhttdl.gov.vn"])
    assert reverse("targets:report_unit", args=[province.code, 2025]) in to_officer.body
    assert "10/12/2025" in to_officer.subject
    assert Message.objects.filter(kind=report.REMINDER_KIND, channel=Message.Channel.EMAIL).count() == 2


@pytest.mark.parametrize("today", [dt.date(2025, 10, 1), dt.date(2025, 12, 10), dt.date(2025, 1, 1), dt.date(2025, 6, 1)])
def test_no_reminder_in_other_months(officers_with_email, today):
    """Given officers with addresses, when the reminder runs outside 1/11..9/12,
    then nothing is sent."""
    assert report.report_reminders_send(today=today) == 0
    assert not Message.objects.exists()


def test_the_december_reminder_only_for_units_without_a_built_report(officers_with_email, province, venue):
    """Given the November reminder sent and the province's report built, when the
    1/12 reminder runs, then only the officer whose unit has no report gets it, once."""
    report.report_reminders_send(today=dt.date(2025, 11, 1))
    _build(province, year=2025)

    sent = report.report_reminders_send(today=dt.date(2025, 12, 1))
    again = report.report_reminders_send(today=dt.date(2025, 12, 2))

    assert (sent, again) == (1, 0)
    december = Message.objects.get(dedupe_key__contains="2025-12-01")
    assert december.recipient == "bn@so-vhttdl.gov.vn"


def test_the_reminder_task_is_scheduled_daily_in_november_and_december():
    """Given the declared periodic tasks, then the reminder task is there, daily in
    months 11 and 12, and the task itself runs."""
    from config.schedules import PERIODIC_TASKS

    spec = PERIODIC_TASKS["Remind officers that the annual report is due before 10/12"]
    assert spec["task"] == report_reminders_task.name
    assert spec["crontab"]["month_of_year"] == "11,12"
    assert "day_of_month" not in spec["crontab"]
