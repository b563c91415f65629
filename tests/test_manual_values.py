"""Results entered by hand (issue #5): the page where officers enter and correct the
result of MANUAL targets (e.g. artifacts digitised), who may use it, what it refuses,
and the unit dashboard's links to it and to the annual report, with the report's due banner.

"Today" is fixed (2 July 2025) as in the dashboard tests; the report's banner is
tested on a fixed November day, frozen the way the report tests freeze it.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from targets import indicators, views, views_reports
from targets.indicators import Status
from targets.models import Indicator, ManualValue, Target
from targets.views_manual import parse_number
from tests.access import login_as
from tests.factories import make_commune, make_user
from venues.models import StaffRole

TODAY = dt.date(2025, 7, 2)
YEAR = 2025
ROLES = ["anonymous", "officer", "foreign_officer", "superuser", "owner", "teammate", "citizen"]


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(views, "_today", lambda: TODAY)
    monkeypatch.setattr(views_reports, "_today", lambda: TODAY)


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def foreign_officer(other_province):
    return make_user(username="bn-officer", role=StaffRole.Role.OFFICER, admin_unit=other_province)


@pytest.fixture
def superuser(db):
    return make_user(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def digitised(province):
    """Given: the province's plan asks for 1,000 artifacts digitised in 2025."""
    return Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.MANUAL, label="Hiện vật được số hoá",
        value=1000, source_document="KH 45/KH-UBND",
    )


@pytest.fixture
def foreign_target(other_province):
    return Target.objects.create(
        admin_unit=other_province, year=YEAR, indicator=Indicator.MANUAL, label="Tài liệu được số hoá",
        value=50, source_document="KH 12/KH-UBND",
    )


def login(client, request, role):
    for name in ROLES[1:]:
        request.getfixturevalue(name)
    login_as(client, request, role)
    return client


def page(unit, year=YEAR):
    return reverse("targets:manual_values", args=[unit.code]) + f"?year={year}"


def post(client, unit, target, value, note="", *, year=YEAR):
    return client.post(page(unit, year), {"target": target.pk, f"t{target.pk}-value": value, f"t{target.pk}-note": note})


def vi(text: str) -> str:
    with translation.override("vi"):
        return gettext(text)


# -- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", 302), ("officer", 200), ("foreign_officer", 403), ("superuser", 200),
     ("owner", 403), ("teammate", 403), ("citizen", 403)],
)
def test_who_may_see_the_page(client, request, province, venue, digitised, role, expected):
    """Given each kind of user, when they open the province's page, then its officers and superusers
    see it, everyone else with an account is refused and anonymous users go to the login page."""
    response = login(client, request, role).get(page(province))

    assert response.status_code == expected
    if expected == 302:
        assert reverse("login") in response["Location"]
    if expected == 200:
        assert "Hiện vật được số hoá" in response.content.decode()


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", 302), ("officer", 302), ("foreign_officer", 403), ("superuser", 302),
     ("owner", 403), ("teammate", 403), ("citizen", 403)],
)
def test_who_may_enter_a_value(client, request, province, venue, digitised, role, expected):
    """Given each kind of user, when they post a value, then only the officer and a superuser
    record it (and are sent back to the page); nothing is recorded for anyone else."""
    response = post(login(client, request, role), province, digitised, "120")

    assert response.status_code == expected
    recorded = ManualValue.objects.filter(target=digitised).exists()
    if role in ("officer", "superuser"):
        assert response["Location"].startswith(page(province))
        assert recorded
    else:
        assert not recorded
        if expected == 302:
            assert reverse("login") in response["Location"]


def test_an_unknown_unit_is_404(client, officer):
    """Given an officer, when they open the page of a unit code that does not exist, then 404."""
    client.force_login(officer)
    assert client.get(reverse("targets:manual_values", args=["NOPE"])).status_code == 404


def test_an_officer_of_the_province_uses_a_commune_page(client, officer, commune):
    """Given a commune target entered by hand, when the province's officer opens the commune's page and
    enters it, then it is recorded: the officer of a province is also over its communes."""
    target = Target.objects.create(
        admin_unit=commune, year=YEAR, indicator=Indicator.MANUAL, label="Sách được số hoá", value=10,
        source_document="KH 3/KH-UBND",
    )
    client.force_login(officer)

    assert client.get(page(commune)).status_code == 200
    assert post(client, commune, target, "4").status_code == 302
    assert ManualValue.objects.get(target=target).value == Decimal(4)


def test_a_target_of_another_unit_is_404(client, officer, province, digitised, foreign_target):
    """Given the officer on their province's page, when they post the other province's target,
    or a target measured by the system, or an id that is not a number, then 404 and nothing is recorded."""
    visits = Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.VISITS, value=1000, source_document="KH 45/KH-UBND"
    )
    client.force_login(officer)

    assert post(client, province, foreign_target, "5").status_code == 404
    assert post(client, province, visits, "5").status_code == 404
    assert client.post(page(province), {"target": "abc"}).status_code == 404
    assert client.post(page(province), {}).status_code == 404
    assert not ManualValue.objects.exists()


def test_the_page_lists_only_manual_targets_of_the_year(en_client, officer, province, digitised):
    """Given a MANUAL target for 2025 and 2024 and a visits target, when the 2025 page is shown,
    then only the 2025 MANUAL target is listed, with its target, range and source document."""
    Target.objects.create(
        admin_unit=province, year=2024, indicator=Indicator.MANUAL, label="Số hoá năm trước", value=1,
        source_document="KH 1",
    )
    Target.objects.create(admin_unit=province, year=YEAR, indicator=Indicator.VISITS, value=5, source_document="KH 2")
    ranged = Target.objects.create(
        admin_unit=province, year=YEAR, indicator=Indicator.MANUAL, label="Triển lãm số", value=2, value_max=4,
        source_document="QĐ 9/QĐ-SVHTTDL",
    )
    en_client.force_login(officer)

    response = en_client.get(page(province))

    rows = response.context["rows"]
    assert [r["target"] for r in rows] == [digitised, ranged]
    html = response.content.decode()
    assert "Số hoá năm trước" not in html
    assert "KH 45/KH-UBND" in html and "QĐ 9/QĐ-SVHTTDL" in html
    assert rows[0]["target_display"] == "1,000"
    assert rows[1]["target_display"] == "2–4"
    assert "Not entered yet." in html


# -- entering and correcting ------------------------------------------------------------


def test_entering_then_correcting_keeps_the_history(en_client, officer, province, digitised):
    """Given the officer, when they enter 600 and then correct it to 1,250, then the current value is
    1,250 with who and when, the 600 is kept (superseded) in the history with its note, and both the
    evaluation and the unit dashboard (opened before the entry) show 1,250."""
    officer.first_name, officer.last_name = "Lan", "Nguyễn"
    officer.save()
    en_client.force_login(officer)
    dashboard = reverse("targets:unit_dashboard", args=[province.code]) + f"?year={YEAR}"
    en_client.get(dashboard)  # opened before the entry

    first = post(en_client, province, digitised, "600", "Sổ kiểm kê quý II")
    assert first.status_code == 302 and first["Location"].endswith(f"#target-{digitised.pk}")
    response = en_client.get(first["Location"])
    assert "Result saved for “Hiện vật được số hoá”: 600." in response.content.decode()

    post(en_client, province, digitised, "1,250", "Sổ kiểm kê quý III")

    current, previous = ManualValue.objects.filter(target=digitised).order_by("-entered_at", "-pk")
    assert (current.value, current.superseded_at, current.entered_by) == (Decimal(1250), None, officer)
    assert previous.value == Decimal(600) and previous.superseded_at is not None
    assert previous.note == "Sổ kiểm kê quý II"
    result = indicators.evaluate(Target.objects.get(pk=digitised.pk), today=TODAY)
    assert (result.value, result.status) == (Decimal("1250.00"), Status.ON_TRACK)

    html = en_client.get(page(province)).content.decode()
    assert "<strong>1,250</strong>, entered by Lan Nguyễn on" in html
    assert html.count('data-manual="history"') == 1
    assert "Sổ kiểm kê quý II" in html and "Sổ kiểm kê quý III" in html
    row = en_client.get(dashboard).context["d"].groups[0].rows[0]
    assert row.value_display == "1,250"


def test_vietnamese_numbers_are_read_as_written(client, officer, province, digitised):
    """Given the Vietnamese page, when the officer types 1.250 and then 12,5, then they are read as
    one thousand two hundred and fifty and twelve and a half."""
    client.force_login(officer)

    post(client, province, digitised, "1.250")
    assert ManualValue.objects.get(superseded_at__isnull=True).value == Decimal(1250)
    post(client, province, digitised, "12,5")
    assert ManualValue.objects.get(superseded_at__isnull=True).value == Decimal("12.5")


@pytest.mark.parametrize(
    "language, raw, expected",
    [("vi", "1.250", "1250"), ("vi", "1.250.000,5", "1250000.5"), ("vi", "12,5", "12.5"), ("vi", "12.5", "12.5"),
     ("vi", "1 250", "1250"), ("en", "1,250", "1250"), ("en", "1,250.75", "1250.75"), ("en", "12.5", "12.5"),
     ("vi", "abc", None), ("vi", "1.2.3", None), ("vi", "", None), ("vi", "1e9", None), ("vi", "NaN", None),
     ("vi", "-5", None)],
)
def test_numbers_are_parsed_as_people_type_them(language, raw, expected):
    """Given a number typed in a language, when it is read, then grouping and decimal marks are understood."""
    with translation.override(language):
        assert parse_number(raw) == (Decimal(expected) if expected is not None else None)


@pytest.mark.parametrize(
    "raw, message",
    [("nhiều", "Enter a number, e.g. 1.250 or 12,5."),
     ("-3", "Enter a number of 0 or more."),
     ("", "This field is required."),
     ("12.345", None),  # valid in English: 12.345 has three decimals → refused
     ("99999999999", "Enter a number up to 9,999,999,999.99."),
     ("1" * 40, "Enter a number up to 9,999,999,999.99.")],
)
def test_bad_values_are_form_errors(en_client, officer, province, digitised, raw, message):
    """Given the English page, when the officer posts text, a negative, nothing, too many decimals or a
    number beyond 12 digits, then the page answers 200 with the error on the form and records nothing."""
    en_client.force_login(officer)

    response = post(en_client, province, digitised, raw)

    assert response.status_code == 200
    form = next(r["form"] for r in response.context["rows"] if r["target"] == digitised)
    expected = message or "Use at most 2 decimal places."
    assert form.errors["value"] == [expected]
    assert expected.replace("“", "&ldquo;") in response.content.decode() or expected in response.content.decode()
    assert not ManualValue.objects.exists()


def test_errors_are_in_the_users_language(client, officer, province, digitised):
    """Given the Vietnamese page, when a negative number is posted, then the error is the Vietnamese one."""
    client.force_login(officer)

    response = post(client, province, digitised, "-1")

    assert response.status_code == 200
    assert vi("Enter a number of 0 or more.") in response.content.decode()


def test_an_overlong_note_is_a_form_error(en_client, officer, province, digitised):
    """Given a note longer than 300 characters, when posted, then it is refused on the form, never a 500."""
    en_client.force_login(officer)

    response = post(en_client, province, digitised, "5", "x" * 301)

    assert response.status_code == 200
    assert "note" in next(r["form"] for r in response.context["rows"] if r["target"] == digitised).errors
    assert not ManualValue.objects.exists()


def test_a_bad_year_falls_back_with_a_message(en_client, officer, province, digitised):
    """Given ?year=abc, when the page is shown, then it shows this year and says why."""
    en_client.force_login(officer)

    response = en_client.get(reverse("targets:manual_values", args=[province.code]) + "?year=abc")

    assert response.status_code == 200
    assert response.context["year"] == YEAR
    assert "is not a year between" in response.content.decode()


def test_a_group_target_shows_on_the_province_page(en_client, officer, province):
    """Given a reporting group of the province with a target entered by hand, when the province's officer
    enters it from the province's page, then it is recorded."""
    from venues.models import AdminUnit

    group = AdminUnit.objects.create(code="G-HY", name="Tỉnh Hải Dương (cũ)", level=AdminUnit.Level.GROUP, parent=province)
    target = Target.objects.create(
        admin_unit=group, year=YEAR, indicator=Indicator.MANUAL, label="Di tích được số hoá", value=3,
        source_document="KH 7/KH-UBND",
    )
    en_client.force_login(officer)

    assert target in [r["target"] for r in en_client.get(page(province)).context["rows"]]
    assert post(en_client, province, target, "2").status_code == 302


# -- the unit dashboard ----------------------------------------------------------------------


def test_the_dashboard_links_to_the_report_and_the_manual_page(en_client, officer, province):
    """Given the province's dashboard for 2025, then it links to the annual report of 2025 and to the
    page of results entered by hand for 2025."""
    en_client.force_login(officer)

    html = en_client.get(reverse("targets:unit_dashboard", args=[province.code]) + "?year=2025").content.decode()

    assert f'href="{reverse("targets:report_unit", args=[province.code, 2025])}"' in html
    assert f'href="{page(province, 2025)}"' in html


def test_a_commune_dashboard_links_to_its_own_pages(en_client, officer, commune):
    """Given a commune's dashboard, then the links are the commune's."""
    en_client.force_login(officer)

    html = en_client.get(reverse("targets:unit_dashboard", args=[commune.code])).content.decode()

    assert f'href="{reverse("targets:report_unit", args=[commune.code, YEAR])}"' in html
    assert f'href="{page(commune)}"' in html


@pytest.mark.parametrize(("today", "shown"), [(dt.date(2025, 11, 3), True), (dt.date(2025, 12, 9), True), (dt.date(2025, 10, 31), False)])
def test_the_dashboard_shows_the_report_due_banner_in_november(client, officer, province, monkeypatch, today, shown):
    """Given the province's dashboard of the current year, then the banner saying the report is due
    before 10/12 shows in November and December only."""
    monkeypatch.setattr(views, "_today", lambda: today)
    monkeypatch.setattr(views_reports, "_today", lambda: today)
    client.force_login(officer)

    html = client.get(reverse("targets:unit_dashboard", args=[province.code])).content.decode()

    banner = vi("The annual report for %(year)s is due to the Department before %(date)s.") % {
        "year": today.year, "date": f"10/12/{today.year}"
    }
    assert (banner in html) is shown


def test_the_banner_is_not_shown_for_a_past_year(client, officer, province, monkeypatch):
    """Given November 2025, when the 2024 dashboard is shown, then no due banner (it is about this year)."""
    november = dt.date(2025, 11, 3)
    monkeypatch.setattr(views, "_today", lambda: november)
    monkeypatch.setattr(views_reports, "_today", lambda: november)
    client.force_login(officer)

    html = client.get(reverse("targets:unit_dashboard", args=[province.code]) + "?year=2024").content.decode()

    assert "10/12/" not in html


def test_no_report_link_for_a_year_without_reports(en_client, officer, province):
    """Given a year before the reports start (2015), when the dashboard is shown, then no link to a
    report page that would not exist, but the manual page link is there."""
    en_client.force_login(officer)

    html = en_client.get(reverse("targets:unit_dashboard", args=[province.code]) + "?year=2015").content.decode()

    assert "/staff/targets/reports/" not in html
    assert f'href="{page(province, 2015)}"' in html


def test_another_commune_elsewhere_is_refused(client, officer, other_province):
    """Given a commune of another province, when the officer opens its page, then 403."""
    elsewhere = make_commune(province=other_province, name="Xã Đông Tiến")
    client.force_login(officer)
    assert client.get(page(elsewhere)).status_code == 403
