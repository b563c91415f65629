"""Visitor targets (issue #5) in a real browser: the flows venue managers and
department officers click through, against pytest-django's live server.

Figures are known: visits are made through the attendance services (walk-ins,
attendance entered by hand), so the kept totals the pages read are the ones a
real door would write.
"""

import datetime as dt
import itertools

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from attendance.services import walkin_record
from common.timeutil import local_datetime
from events.models import Occurrence
from targets import report, views_reports
from targets.models import Indicator, ManualValue, ReportRun, Target
from targets.tasks import report_build
from tests.attendance_helpers import make_occurrence
from tests.browser.conftest import PASSWORD, new_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 20_000
_client_ids = itertools.count(1)


def vi(text: str) -> str:
    """`text` as the Vietnamese site shows it."""
    with translation.override("vi"):
        return gettext(text)


@pytest.fixture
def eager(monkeypatch):
    """The live server runs the report build inline, also when a broker is set (CI on Redis)."""
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)


def walk_ins(venue, *counts, at=None):
    for count in counts:
        walkin_record(venue=venue, client_id=f"browser-{next(_client_ids)}", count=count, recorded_at=at)


@pytest.fixture
def season(venue):
    """This year: 1,250 walk-ins today and a visits target of 20,000; last year: 420 walk-ins on 15/6."""
    year = timezone.localdate().year
    walk_ins(venue, 500, 500, 250)
    walk_ins(venue, 300, 120, at=local_datetime(dt.date(year - 1, 6, 15), dt.time(10, 0)))
    Target.objects.create(
        venue=venue, year=year, indicator=Indicator.VISITS, value=20000, source_document="Kế hoạch 45/KH-UBND"
    )
    return {"year": year, "visits": "1.250", "target": "20.000", "previous_visits": "420"}


def watch_errors(page) -> list[str]:
    """Script errors and console errors of `page`, to assert there are none."""
    errors = []

    def console(msg):
        # The pages link no icon, so Chromium's own request for /favicon.ico is a 404: not the page's.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{msg.text} ({msg.location.get('url')})")

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", console)
    page.on("response", lambda response: response.status >= 400 and errors.append(f"{response.status} {response.url}"))
    return errors


def log_in(page, live_server, user, next_url: str = "") -> None:
    """Log in through the login form; where it lands is for the test to check."""
    query = f"?next={next_url}" if next_url else ""
    page.goto(f"{live_server.url}/accounts/login/{query}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    assert "/accounts/login/" not in page.url, page.text_content("body")


def path_of(page, live_server) -> str:
    return page.url.removeprefix(live_server.url)


def text(page, selector: str) -> str:
    return " ".join(page.text_content(selector).split())


def month_row(page, month: int) -> list[str]:
    """The cells of `month`'s row in the dashboard's month table."""
    row = page.locator("#months-title ~ .table-scroll table tbody tr").nth(month - 1)
    return [" ".join(cell.split()) for cell in row.locator("th, td").all_text_contents()]


def test_a_venue_manager_sees_visits_target_and_a_drawn_chart(launch, live_server, venue, owner, season):
    """Given a venue with 1,250 visits this year and a 20,000 target, when its manager
    logs in and opens the targets page, then they land on the venue dashboard with
    both figures, the month chart drawn by Chart.js with the month's visits and no
    script error; and without JavaScript the table shows the same numbers."""
    browser = launch()
    page = new_context(browser).new_page()
    errors = watch_errors(page)
    month = timezone.localdate().month

    # when the manager logs in through the form and opens the targets page
    log_in(page, live_server, owner)
    page.goto(f"{live_server.url}/staff/targets/")

    # then it is their venue's dashboard, with the visits and the target
    assert path_of(page, live_server) == f"/staff/targets/venue/{venue.slug}/"
    assert page.get_attribute("html", "lang") == "vi"
    assert text(page, "h2#summary-title") == vi("Visits in %(year)s") % {"year": season["year"]}
    assert text(page, '[data-testid="visits"]') == season["visits"]
    assert season["target"] in text(page, '[data-testid="target"]')
    assert "Kế hoạch 45/KH-UBND" in text(page, '[data-testid="target"]')

    # and the month chart is drawn by Chart.js from the same numbers
    assert page.evaluate("typeof window.Chart") == "function"
    canvas = 'canvas[data-chart="venue-months"]'
    assert page.is_visible("figure.chart")
    assert page.evaluate(f"document.querySelector('{canvas}').width") > 0
    assert page.evaluate(f"document.querySelector('{canvas}').height") > 0
    bars = page.evaluate(f"window.Chart.getChart(document.querySelector('{canvas}')).data.datasets[0].data")
    assert len(bars) == 12 and bars[month - 1] == 1250 and sum(bars) == 1250
    assert month_row(page, month)[1] == season["visits"]
    assert errors == []

    # when the same page is opened with JavaScript off
    plain = new_context(browser, java_script_enabled=False).new_page()
    log_in(plain, live_server, owner, f"/staff/targets/venue/{venue.slug}/")

    # then the chart stays hidden and the table and figures hold the same numbers
    assert path_of(plain, live_server) == f"/staff/targets/venue/{venue.slug}/"
    assert not plain.is_visible("figure.chart")
    assert text(plain, '[data-testid="visits"]') == season["visits"]
    assert season["target"] in text(plain, '[data-testid="target"]')
    assert month_row(plain, month)[1] == season["visits"]
    assert month_row(plain, 12)[3] == season["visits"]  # the running total at the end of the year


def test_an_officer_drills_down_from_the_unit_to_a_venue_and_changes_the_year(
    launch, live_server, province, venue, officer, season
):
    """Given a venue of the province with 1,250 visits this year and 420 last year,
    when the province's officer opens the targets page, follows the venue's link in
    the ranking and chooses last year in the year form, then each page shows that
    venue's visits for the year chosen."""
    page = new_context(launch()).new_page()
    errors = watch_errors(page)
    year = season["year"]

    # when the officer logs in and opens the targets page
    log_in(page, live_server, officer)
    page.goto(f"{live_server.url}/staff/targets/")

    # then it is the province's dashboard, ranking the venue with its visits
    assert path_of(page, live_server) == f"/staff/targets/unit/{province.code}/"
    ranking = page.locator('[data-testid="ranking"] tbody tr')
    assert ranking.count() == 1
    assert season["visits"] in ranking.first.text_content()
    assert page.evaluate("!!window.Chart.getChart(document.querySelector('canvas[data-chart=\"unit-months\"]'))")

    # when they follow the venue's link
    with page.expect_navigation():
        ranking.first.get_by_role("link", name=venue.name).click()

    # then the venue's dashboard shows this year's visits
    assert path_of(page, live_server) == f"/staff/targets/venue/{venue.slug}/?year={year}"
    assert text(page, '[data-testid="visits"]') == season["visits"]

    # when they choose last year in the year form
    page.select_option("#year-filter", str(year - 1))
    with page.expect_navigation():
        page.click("form.toolbar button[type=submit]")

    # then the page is last year's: its visits, no target for it, the year kept in the form
    assert path_of(page, live_server) == f"/staff/targets/venue/{venue.slug}/?year={year - 1}"
    assert text(page, "h2#summary-title") == vi("Visits in %(year)s") % {"year": year - 1}
    assert text(page, '[data-testid="visits"]') == season["previous_visits"]
    assert text(page, '[data-testid="target"]') == vi("No visits target is set for this venue and year.")
    assert page.input_value("#year-filter") == str(year - 1)
    assert month_row(page, 6)[1] == season["previous_visits"]
    assert errors == []


def test_an_officer_builds_and_downloads_the_annual_report(
    launch, live_server, province, venue, officer, season, eager, tmp_path
):
    """Given the province's 10,000 visits target for this year and 1,250 visits, when
    the officer follows the annual report link from the unit dashboard and clicks the
    build button, then the build is done, the Excel and CSV links appear, and the
    downloaded workbook's summary sheet has the report's title and the target's row."""
    year = season["year"]
    Target.objects.create(
        admin_unit=province, year=year, indicator=Indicator.VISITS, value=10000, source_document="KH 45/KH-UBND"
    )
    page = new_context(launch(), accept_downloads=True).new_page()
    errors = watch_errors(page)
    log_in(page, live_server, officer, f"/staff/targets/unit/{province.code}/")

    # when the officer follows the report link and clicks the build button
    with page.expect_navigation():
        page.click(f'[data-testid="unit-links"] a[href="/staff/targets/reports/{province.code}/{year}/"]')
    assert page.locator("#report-run").count() == 0  # nothing built yet
    with page.expect_navigation():
        page.get_by_role("button", name=vi("Build the report")).click()

    # then the build ran to the end: status Ready, progress done, both files offered
    page.wait_for_selector('a[href$="/xlsx/"]', timeout=WAIT_MS)
    run = ReportRun.objects.get(admin_unit=province, year=year)
    assert run.status == ReportRun.Status.DONE and run.requested_by == officer
    assert text(page, "#report-status") == vi("Ready")
    progress = page.request.get(live_server.url + page.get_attribute("#report-run", "data-progress-url")).json()
    assert progress["status"] == "done" and progress["percent"] == 100 and progress["finished"] is True
    assert page.locator('a[href$="/csv/"]').count() == 1

    # and the Excel file opens with the report's title and the target's row
    with page.expect_download() as info:
        page.click('a[href$="/xlsx/"]')
    download = info.value
    assert download.suggested_filename == report.report_filename(province, year, "xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    summary = load_workbook(saved).worksheets[0]
    assert summary.title == vi("Summary")
    title = vi("REPORT ON THE RESULTS OF THE LIFELONG-LEARNING PLAN IN %(year)s") % {"year": year}
    assert summary["A1"].value == title
    first = [cell.value for cell in summary[report.HEADER_ROW + 1]]
    assert first[3] == 10000 and first[6] == 1250
    assert errors == []


def test_the_report_page_follows_a_build_run_by_a_worker(launch, live_server, province, venue, officer, monkeypatch):
    """Given a build handed to a worker (queued, not yet run), when the officer clicks
    the build button, then the page shows its progress; when the worker has built it,
    the page updates by itself to Ready with the Excel and CSV links."""
    year = timezone.localdate().year
    queued = []
    # The queue: the run waits until the test, as the worker, builds it.
    monkeypatch.setattr(views_reports, "_enqueue", lambda run_id, language: queued.append((run_id, language)))
    page = new_context(launch()).new_page()
    errors = watch_errors(page)
    log_in(page, live_server, officer, f"/staff/targets/reports/{province.code}/{year}/")

    # when the officer clicks the build button
    with page.expect_navigation():
        page.get_by_role("button", name=vi("Build the report")).click()

    # then the page shows a build in progress, with the button disabled
    assert len(queued) == 1
    run_id, language = queued[0]
    assert language == "vi"
    assert text(page, "#report-status") == vi("Waiting")
    assert page.is_visible("#report-progress")
    assert page.get_by_role("button", name=vi("Build again with today's figures")).is_disabled()

    # when the worker builds it
    report_build(run_id, language)

    # then the page, polling, reloads to Ready with both files
    page.wait_for_selector(f'a[href="/staff/targets/reports/runs/{run_id}/xlsx/"]', timeout=WAIT_MS)
    assert text(page, "#report-status") == vi("Ready")
    assert page.locator(f'a[href="/staff/targets/reports/runs/{run_id}/csv/"]').count() == 1
    assert page.locator("#report-progress").count() == 0
    assert errors == []


def test_an_officer_enters_and_corrects_a_result_by_hand(launch, live_server, province, officer):
    """Given a hand-entered indicator of the province for this year, when the officer
    enters 1.250, corrects it to 1.300 and then types "abc", then the page shows 1.300
    as the result with 1.250 in the history, and "abc" is refused with the Vietnamese
    message, changing nothing."""
    year = timezone.localdate().year
    target = Target.objects.create(
        admin_unit=province, year=year, indicator=Indicator.MANUAL, value=2000,
        label="Hiện vật được số hoá", source_document="KH 45/KH-UBND",
    )
    page = new_context(launch()).new_page()
    errors = watch_errors(page)
    log_in(page, live_server, officer, f"/staff/targets/unit/{province.code}/")

    # the unit dashboard links to the page
    with page.expect_navigation():
        page.get_by_role("link", name=vi("Results entered by hand")).click()
    assert path_of(page, live_server) == f"/staff/targets/unit/{province.code}/manual/?year={year}"
    section = page.locator(f"#target-{target.pk}")
    assert " ".join(section.locator('[data-manual="current"]').text_content().split()).startswith(vi("Not entered yet."))

    def enter(value: str, note: str = "") -> None:
        section.locator(f"#id_t{target.pk}-value").fill(value)
        section.locator(f"#id_t{target.pk}-note").fill(note)
        with page.expect_navigation():
            section.locator("button[type=submit]").click()

    # when the officer enters a result, then corrects it
    enter("1.250", "Sổ kiểm kê")
    assert "1.250" in section.locator('[data-manual="current"]').text_content()
    enter("1.300", "Sổ kiểm kê, bản sửa")

    # then the correction is the result and the first entry is in the history
    current = " ".join(section.locator('[data-manual="current"]').text_content().split())
    assert "1.300" in current and "officer" in current and "Sổ kiểm kê, bản sửa" in current
    history = section.locator('[data-manual="history"]')
    assert history.count() == 1
    assert history.first.locator("td").first.text_content().strip() == "1.250"
    assert "Sổ kiểm kê" in history.first.text_content()
    assert [v for v in ManualValue.objects.filter(target=target).order_by("pk").values_list("value", flat=True)] == [
        1250, 1300
    ]

    # when the officer types "abc"
    enter("abc")

    # then the Vietnamese error is shown on the field and nothing is saved
    assert page.get_attribute("html", "lang") == "vi"
    message = vi("Enter a number, e.g. 1.250 or 12,5.")
    assert message != "Enter a number, e.g. 1.250 or 12,5."  # it is translated
    assert message in section.text_content()
    assert section.locator(f"#id_t{target.pk}-value").input_value() == "abc"
    assert ManualValue.objects.filter(target=target).count() == 2
    assert "1.300" in section.locator('[data-manual="current"]').text_content()
    assert errors == []


def test_a_venue_manager_enters_attendance_by_hand_for_a_past_date(launch, live_server, venue, owner):
    """Given a date of the venue that took place yesterday with no ticket scanned,
    when its manager enters 37 visitors on the date's registrations page, then the
    counts block shows 37 entered by hand and the entry names who made it."""
    occurrence = make_occurrence(venue=venue, capacity=30, days_ahead=1)
    start = timezone.now() - dt.timedelta(days=1)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    url = f"/staff/attendance/occurrences/{occurrence.pk}/registrations/"
    page = new_context(launch()).new_page()
    errors = watch_errors(page)
    log_in(page, live_server, owner, url)
    assert page.locator('[data-count="manual"]').count() == 0  # nothing entered yet

    # when the manager fills the form
    form = page.locator("#attendance-by-hand form")
    form.locator("#id_count").fill("37")
    form.locator("#id_audience").select_option("children")
    form.locator("#id_note").fill("Sổ ký tên")
    with page.expect_navigation():
        form.get_by_role("button", name=vi("Save attendance")).click()

    # then the counts block and the entry show it
    assert path_of(page, live_server) == url + "#attendance-by-hand"
    assert text(page, '[data-count="manual"]') == "37"
    assert text(page, '[data-count="checked_in"]') == "0"
    current = text(page, '[data-manual="current"]')
    assert "37" in current and "owner" in current and "Sổ ký tên" in current
    assert errors == []
