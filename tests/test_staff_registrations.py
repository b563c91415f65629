"""Staff pages for one date's registrations: who may see and do what, the
counts, search, the desk, cancel / approve / decline, the CSV and Excel
exports, and the personal-data retention command, task and schedule.

Every view is checked for anonymous visitors, the owner (manager of the
venue), a teammate (door staff), an outsider (manager elsewhere), the
province's officer and a citizen with no role.
"""

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook

from attendance import views_staff
from attendance.models import Registration
from attendance.selectors import occurrence_counts
from attendance.services import registration_cancel, ticket_redeem, walkin_record
from attendance.tasks import registrations_erase_personal_data_task
from events.models import Occurrence
from tests.access import assert_login_redirect, login_as
from tests.attendance_helpers import make_occurrence, next_phone, register

S = Registration.Status
ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]


@pytest.fixture
def en_client(client):
    """A client whose browser asks for English, so messages can be asserted."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def occurrence(venue):
    return make_occurrence(venue=venue, capacity=20, group_bookings=True, group_approval_required=True)


@pytest.fixture
def individual(occurrence):
    return register(occurrence, full_name="Trần Thị Bình", phone="0912 345 678").registration


@pytest.fixture
def group(occurrence):
    return register(
        occurrence, kind="group", organisation="Trường THCS Lê Lợi", full_name="Cô Hoa", party_size=5
    ).registration


def list_url(occurrence, **query):
    url = reverse("staff_attendance:registrations", args=[occurrence.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def desk_url(occurrence):
    return reverse("staff_attendance:registration_desk", args=[occurrence.pk])


def desk_data(**overrides):
    data = {
        "full_name": "Hoàng Văn Em",
        "phone": next_phone(),
        "email": "",
        "party_size": "2",
        "kind": "individual",
        "organisation": "",
        "language": "vi",
        "sms_opt_in": "on",
        "consent": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts_shown(response) -> dict:
    html = response.content.decode()
    return {name: int(n) for name, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def names_shown(response) -> list[str]:
    return [row.full_name for row in response.context["rows"]]


# --- who may and may not ---------------------------------------------------

READ = {"owner": 200, "teammate": 200, "officer": 200, "outsider": 404, "citizen": 403}
# Desk, cancel and personal-data exports: the venue's own staff.
DOOR = {"owner": 200, "teammate": 200, "officer": 403, "outsider": 404, "citizen": 403}
GET_VIEWS = {
    "list": (lambda o, r: list_url(o), READ),
    "desk": (lambda o, r: desk_url(o), DOOR),
    "cancel": (lambda o, r: reverse("staff_attendance:registration_cancel", args=[r.pk]), DOOR),
    "csv": (lambda o, r: reverse("staff_attendance:registrations_csv", args=[o.pk]), DOOR),
    "xlsx": (lambda o, r: reverse("staff_attendance:registrations_xlsx", args=[o.pk]), DOOR),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", GET_VIEWS)
def test_get_views_by_role(client, request, occurrence, individual, view, role):
    # given a date with a registration, and a user in some role
    login_as(client, request, role)
    url, expected = GET_VIEWS[view]

    # when they open the page or download
    response = client.get(url(occurrence, individual))

    # then only those allowed get it: an outsider does not learn the date exists
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ROLES)
def test_desk_registration_by_role(client, request, occurrence, role):
    # given a user in some role
    login_as(client, request, role)

    # when they register a visitor at the desk
    response = client.post(desk_url(occurrence), desk_data())

    # then managers and door staff can, nobody else, and nothing is created for them
    created = Registration.objects.filter(occurrence=occurrence, source=Registration.Source.DESK).exists()
    if role == "anonymous":
        assert_login_redirect(response)
    elif role in ("owner", "teammate"):
        assert response.status_code == 302 and response["Location"] == list_url(occurrence)
    else:
        assert response.status_code == DOOR[role]
    assert created == (role in ("owner", "teammate"))


@pytest.mark.parametrize("role", ROLES)
def test_cancel_by_role(client, request, occurrence, individual, role):
    # given a confirmed registration and a user in some role
    login_as(client, request, role)

    # when they confirm its cancellation
    response = client.post(reverse("staff_attendance:registration_cancel", args=[individual.pk]))

    # then managers and door staff cancel it; for anyone else it stays confirmed
    individual.refresh_from_db()
    if role == "anonymous":
        assert_login_redirect(response)
    elif role in ("owner", "teammate"):
        assert response.status_code == 302
    else:
        assert response.status_code == DOOR[role]
    assert individual.status == (S.CANCELLED if role in ("owner", "teammate") else S.CONFIRMED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action, done", [("approve", S.CONFIRMED), ("decline", S.DECLINED)])
def test_approve_and_decline_by_role(client, request, occurrence, group, action, done, role):
    # given a group awaiting approval and a user in some role
    assert group.status == S.PENDING
    login_as(client, request, role)

    # when they approve or decline it
    response = client.post(reverse(f"staff_attendance:registration_{action}", args=[group.pk]))

    # then only the manager may: door staff and officers get 403, outsiders 404
    group.refresh_from_db()
    expected = {"owner": 302, "teammate": 403, "officer": 403, "outsider": 404, "citizen": 403}
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected[role]
    assert group.status == (done if role == "owner" else S.PENDING)


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_approve_and_decline_need_post(client, owner, group, action):
    client.force_login(owner)
    response = client.get(reverse(f"staff_attendance:registration_{action}", args=[group.pk]))
    assert response.status_code == 405
    group.refresh_from_db()
    assert group.status == S.PENDING


@pytest.mark.parametrize("role, shows_actions", [("owner", True), ("teammate", True), ("officer", False)])
def test_the_list_offers_only_what_the_user_may_do(client, request, occurrence, individual, group, role, shows_actions):
    # given a confirmed registration and a pending group
    login_as(client, request, role)

    # when the user opens the list
    html = client.get(list_url(occurrence)).content.decode()

    # then desk and cancel are offered to the venue's staff, approve/decline to the manager,
    # exports and phone numbers not to the officer
    desk = desk_url(occurrence)
    approve = reverse("staff_attendance:registration_approve", args=[group.pk])
    export = reverse("staff_attendance:registrations_csv", args=[occurrence.pk])
    assert (desk in html) == shows_actions
    assert (export in html) == shows_actions
    assert ("0912 345 678" in html) == shows_actions
    assert (approve in html) == (role == "owner")
    assert "Trần Thị Bình" in html


def test_programme_page_links_each_date_to_its_registrations(client, owner, occurrence, individual):
    client.force_login(owner)
    response = client.get(reverse("staff:programme_detail", args=[occurrence.programme.pk]))
    html = response.content.decode()
    assert list_url(occurrence) in html
    assert "1 / 20" in html


# --- the list: counts, search, filter, pages ---------------------------------


def test_counts_after_registrations_check_ins_and_walk_ins(client, owner, venue, occurrence):
    # given a mix of registrations for a date of 8 seats
    Occurrence.objects.filter(pk=occurrence.pk).update(capacity=8)
    occurrence.refresh_from_db()
    register(occurrence, kind="group", organisation="Trường TH Kim Đồng", party_size=3)  # pending, 3 seats
    pair = register(occurrence, party_size=2).registration  # confirmed
    register(occurrence, party_size=1)  # confirmed
    gone = register(occurrence, party_size=1).registration
    registration_cancel(registration_id=gone.pk)  # cancelled
    register(occurrence, party_size=4)  # 6 + 4 > 8: waiting
    # and the date starting in a few minutes, so the door is open
    start = timezone.now() + dt.timedelta(minutes=10)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    ticket_redeem(code=pair.ticket.secret, venue=venue, scan_id=uuid.uuid4().hex)
    walkin_record(venue=venue, client_id=uuid.uuid4().hex, count=3, occurrence_id=occurrence.pk)
    client.force_login(owner)

    # when the owner opens the list
    response = client.get(list_url(occurrence))

    # then every count is in people
    assert counts_shown(response) == {
        "confirmed": 3, "waiting": 4, "pending": 3, "cancelled": 1, "checked_in": 2, "no_show": 0, "walk_ins": 3,
    }
    rows = {row.party_size: row for row in response.context["rows"] if row.status != S.CANCELLED}
    assert rows[4].position == 1 and rows[2].admitted == 2

    # and once the date is over, the confirmed person who did not come is a no-show
    Occurrence.objects.filter(pk=occurrence.pk).update(
        start=timezone.now() - dt.timedelta(hours=3), end=timezone.now() - dt.timedelta(hours=1)
    )
    assert counts_shown(client.get(list_url(occurrence)))["no_show"] == 1


def test_search_by_name_organisation_and_phone_with_a_leading_zero(client, owner, occurrence):
    # given three registrations
    register(occurrence, full_name="Lê Văn Cường", phone="0987 654 321")
    register(occurrence, full_name="Phạm Thị Dung", phone="0903 111 222")
    register(occurrence, kind="group", organisation="Trường THCS Lê Lợi", full_name="Cô Hoa", party_size=5)
    client.force_login(owner)

    # when staff search by name, by phone digits typed with a leading 0, and by organisation
    # then they find the right people
    assert names_shown(client.get(list_url(occurrence, q="Cường"))) == ["Lê Văn Cường"]
    assert names_shown(client.get(list_url(occurrence, q="0987654321"))) == ["Lê Văn Cường"]
    assert names_shown(client.get(list_url(occurrence, q="0903 111"))) == ["Phạm Thị Dung"]
    assert names_shown(client.get(list_url(occurrence, q="THCS"))) == ["Cô Hoa"]
    assert names_shown(client.get(list_url(occurrence, q="Nobody"))) == []


def test_rows_show_phone_status_and_registration_time(client, owner, occurrence, individual):
    client.force_login(owner)
    html = client.get(list_url(occurrence)).content.decode()
    assert "0912 345 678" in html
    assert timezone.localtime(individual.created_at).strftime("%d/%m/%Y %H:%M") in html
    assert f'id="registration-{individual.pk}" data-status="confirmed"' in html


def test_status_filter_and_pages_keep_the_filter(client, owner, occurrence, monkeypatch):
    # given a full date with three people waiting, and pages of two rows
    Occurrence.objects.filter(pk=occurrence.pk).update(capacity=1)
    register(occurrence, full_name="Người thứ nhất")
    for n in range(3):
        register(occurrence, full_name=f"Chờ {n + 1}")
    monkeypatch.setattr(views_staff, "REGISTRATIONS_PER_PAGE", 2)
    client.force_login(owner)

    # when staff filter on the waiting list
    first = client.get(list_url(occurrence, status="waiting"))
    second = client.get(list_url(occurrence, status="waiting", page=2))

    # then only waiting rows are listed, in order, and the next page keeps the filter
    assert names_shown(first) == ["Chờ 1", "Chờ 2"]
    assert [row.position for row in first.context["rows"]] == [1, 2]
    assert "?status=waiting&amp;page=2" in first.content.decode()
    assert names_shown(second) == ["Chờ 3"]
    assert second.context["rows"][0].position == 3


def test_an_unknown_status_filter_is_ignored(client, owner, occurrence, individual):
    client.force_login(owner)
    assert names_shown(client.get(list_url(occurrence, status="nonsense"))) == ["Trần Thị Bình"]


# --- the desk ----------------------------------------------------------------


def test_desk_registration_is_recorded_as_from_the_desk(en_client, teammate, occurrence):
    # given door staff at the desk
    en_client.force_login(teammate)

    # when they register a visitor who agreed orally
    response = en_client.post(desk_url(occurrence), desk_data(phone="0977 888 999"), follow=True)

    # then the registration is confirmed, from the desk, by them, with the phone in E.164
    registration = Registration.objects.get(occurrence=occurrence)
    assert registration.source == Registration.Source.DESK
    assert registration.created_by == teammate
    assert registration.phone == "+84977888999"
    assert registration.status == S.CONFIRMED and registration.party_size == 2
    assert "Hoàng Văn Em is registered (2 people)." in response.content.decode()


def test_desk_group_awaits_approval(client, owner, occurrence):
    client.force_login(owner)
    client.post(desk_url(occurrence), desk_data(kind="group", organisation="CLB Dưỡng sinh", party_size="12"))
    registration = Registration.objects.get(occurrence=occurrence)
    assert (registration.kind, registration.status, registration.organisation) == ("group", S.PENDING, "CLB Dưỡng sinh")


def test_desk_invalid_phone_shows_an_error_and_creates_nothing(en_client, owner, occurrence):
    en_client.force_login(owner)
    response = en_client.post(desk_url(occurrence), desk_data(phone="12345"))
    assert response.status_code == 200
    assert "This is not a valid phone number" in response.content.decode()
    assert response.context["form"].has_error("phone")
    assert not Registration.objects.exists()


def test_desk_needs_the_visitors_consent(en_client, owner, occurrence):
    en_client.force_login(owner)
    response = en_client.post(desk_url(occurrence), desk_data(consent=None))
    assert response.status_code == 200
    assert response.context["form"].has_error("consent")
    assert not Registration.objects.exists()


def test_desk_refusal_from_the_service_is_a_message_not_an_error_page(en_client, owner, occurrence):
    # given a date that has already started
    Occurrence.objects.filter(pk=occurrence.pk).update(start=timezone.now() - dt.timedelta(minutes=5))
    en_client.force_login(owner)

    # when staff try to register someone
    response = en_client.post(desk_url(occurrence), desk_data())

    # then the form says why, in the user's language, and nothing is created
    assert response.status_code == 200
    assert "This event has already started." in response.content.decode()
    assert not Registration.objects.exists()


def test_desk_page_speaks_vietnamese_by_default(client, owner, occurrence):
    client.force_login(owner)
    response = client.post(desk_url(occurrence), desk_data(phone="12345"))
    assert response.status_code == 200
    assert '<html lang="vi">' in response.content.decode()
    assert response.context["form"].has_error("phone")


def test_the_same_phone_at_the_desk_is_not_registered_twice(en_client, owner, occurrence, individual):
    en_client.force_login(owner)
    response = en_client.post(desk_url(occurrence), desk_data(phone="0912345678"), follow=True)
    assert Registration.objects.filter(occurrence=occurrence).count() == 1
    assert "already has a registration for this date" in response.content.decode()


# --- cancel, approve, decline ------------------------------------------------


def test_cancel_asks_first_then_cancels_and_promotes_the_waiting_list(en_client, teammate, occurrence):
    # given a full date with someone waiting
    Occurrence.objects.filter(pk=occurrence.pk).update(capacity=1)
    first = register(occurrence, full_name="Người thứ nhất").registration
    waiting = register(occurrence, full_name="Người chờ").registration
    en_client.force_login(teammate)
    url = reverse("staff_attendance:registration_cancel", args=[first.pk])

    # when door staff open the cancel link, then confirm
    confirm = en_client.get(url)
    response = en_client.post(url, {"next": list_url(occurrence, status="confirmed")}, follow=True)

    # then they were asked first, and the cancellation freed the seat for the waiting person
    assert confirm.status_code == 200 and "Yes, cancel the registration" in confirm.content.decode()
    first.refresh_from_db()
    waiting.refresh_from_db()
    assert first.status == S.CANCELLED and first.cancelled_by == teammate
    assert waiting.status == S.CONFIRMED
    html = response.content.decode()
    assert "The registration of Người thứ nhất is cancelled." in html
    assert "1 registration moved from the waiting list to confirmed." in html
    assert response.redirect_chain[-1][0] == list_url(occurrence, status="confirmed")


def test_cancel_never_redirects_off_site(client, owner, individual):
    client.force_login(owner)
    url = reverse("staff_attendance:registration_cancel", args=[individual.pk])
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == list_url(individual.occurrence)


def test_cancelling_a_used_ticket_is_a_message_not_an_error_page(en_client, owner, venue, occurrence, individual):
    # given a registration already admitted at the door
    start = timezone.now() + dt.timedelta(minutes=10)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    ticket_redeem(code=individual.ticket.secret, venue=venue, scan_id=uuid.uuid4().hex)
    en_client.force_login(owner)

    # when staff try to cancel it
    url = reverse("staff_attendance:registration_cancel", args=[individual.pk])
    response = en_client.post(url, follow=True)

    # then they are told why and it stays confirmed
    assert response.status_code == 200
    assert "This ticket has already been used at the door." in response.content.decode()
    individual.refresh_from_db()
    assert individual.status == S.CONFIRMED


def test_approving_a_registration_that_is_not_pending_is_a_message(en_client, owner, group):
    # given a group that was cancelled meanwhile
    registration_cancel(registration_id=group.pk)
    en_client.force_login(owner)

    # when a manager approves it from a stale page
    url = reverse("staff_attendance:registration_approve", args=[group.pk])
    response = en_client.post(url, follow=True)

    # then they are told why, and it stays cancelled
    assert response.status_code == 200
    assert "Only a group awaiting approval can be approved." in response.content.decode()
    group.refresh_from_db()
    assert group.status == S.CANCELLED


def test_approve_and_decline_tell_what_happened(en_client, owner, occurrence, group):
    en_client.force_login(owner)
    response = en_client.post(reverse("staff_attendance:registration_approve", args=[group.pk]), follow=True)
    assert "The group Cô Hoa is confirmed." in response.content.decode()
    other = register(occurrence, kind="group", organisation="CLB Cờ tướng", full_name="Ông Tư", party_size=4)
    response = en_client.post(
        reverse("staff_attendance:registration_decline", args=[other.registration.pk]), follow=True
    )
    assert "The group Ông Tư is declined." in response.content.decode()


# --- exports -----------------------------------------------------------------


def test_csv_has_a_bom_and_vietnamese_names_intact(en_client, owner, occurrence, individual, group):
    # given two registrations, one by a name a spreadsheet would run as a formula
    register(occurrence, full_name="=HYPERLINK(\"http://evil.example\")", phone="0903 111 222")
    en_client.force_login(owner)

    # when the owner downloads the CSV
    response = en_client.get(reverse("staff_attendance:registrations_csv", args=[occurrence.pk]))

    # then Excel gets UTF-8 with a BOM, a dated filename, and every row
    content = response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert content.startswith(b"\xef\xbb\xbf")
    day = timezone.localtime(occurrence.start).strftime("%Y-%m-%d")
    assert f'filename="registrations-{day}-' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Status", "Full name", "Phone", "Email", "Number of people", "Organisation", "Admitted", "Source",
        "Registered at",
    ]
    assert rows[1][:3] == ["Confirmed", "Trần Thị Bình", "0912 345 678"]
    assert rows[1][8] == timezone.localtime(individual.created_at).strftime("%d/%m/%Y %H:%M")
    assert rows[2][1] == "Cô Hoa" and rows[2][4] == "5" and rows[2][5] == "Trường THCS Lê Lợi"
    assert rows[3][1].startswith("'=")
    assert len(rows) == 4


def test_xlsx_opens_with_the_rows_bold_header_and_real_datetimes(en_client, owner, occurrence, individual, group):
    # given two registrations and one whose name looks like a formula
    register(occurrence, full_name="=1+1", phone="0903 111 222")
    en_client.force_login(owner)

    # when the owner downloads the Excel file
    response = en_client.get(reverse("staff_attendance:registrations_xlsx", args=[occurrence.pk]))

    # then it is a workbook with a dated sheet, a bold header and one row per registration
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Registrations " + timezone.localtime(occurrence.start).strftime("%d-%m-%Y")
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Status", "Full name") and sheet["A1"].font.bold
    assert rows[1][1] == "Trần Thị Bình" and rows[1][2] == "0912 345 678"
    assert rows[2][1] == "Cô Hoa" and rows[2][4] == 5
    registered_at = rows[1][8]
    assert isinstance(registered_at, dt.datetime)
    local = timezone.localtime(individual.created_at).replace(tzinfo=None)
    assert abs(registered_at - local) < dt.timedelta(seconds=1)  # Excel keeps milliseconds at most
    assert sheet["I2"].number_format == "dd/mm/yyyy hh:mm"
    assert sheet.column_dimensions["B"].width >= 20
    assert sheet["B4"].value == "=1+1" and sheet["B4"].data_type == "s"
    assert len(rows) == 4


# --- personal-data retention -------------------------------------------------


def _ended_days_ago(occurrence, days):
    end = timezone.now() - dt.timedelta(days=days)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=end - dt.timedelta(hours=2), end=end)


@pytest.fixture
def old_and_recent(venue):
    old = make_occurrence(venue=venue, capacity=10)
    old_registration = register(old, full_name="Nguyễn Văn Cũ", party_size=2, email="cu@example.org").registration
    recent = make_occurrence(venue=venue, capacity=10)
    recent_registration = register(recent, full_name="Nguyễn Văn Mới").registration
    _ended_days_ago(old, 200)
    _ended_days_ago(recent, 10)
    return old, old_registration, recent, recent_registration


def test_command_erases_old_registrations_only_and_keeps_counts(old_and_recent, capsys):
    # given a date that ended 200 days ago and one that ended 10 days ago
    old, old_registration, recent, recent_registration = old_and_recent
    counts_before = occurrence_counts(occurrence=old)

    # when the command runs with a 180-day retention
    call_command("erase_personal_data", "--days", "180")

    # then only the old registration lost its personal data, and the counts stayed
    assert "1 registration" in capsys.readouterr().out
    old_registration.refresh_from_db()
    recent_registration.refresh_from_db()
    assert (old_registration.full_name, old_registration.phone, old_registration.email) == ("", "", "")
    assert old_registration.erased_at is not None and old_registration.party_size == 2
    assert recent_registration.full_name == "Nguyễn Văn Mới" and recent_registration.phone
    assert occurrence_counts(occurrence=old) == counts_before


def test_erasure_empties_the_messages_of_erased_registrations_but_keeps_their_counts(old_and_recent):
    """Given old and recent registrations with their confirmation messages (one old
    message never sent), when personal data is erased, then the old registration's
    messages keep kind, channel and segments but lose recipient, subject and text,
    the unsent one is failed instead of sent later, and recent messages are untouched."""
    from notifications.models import Message

    _old, old_registration, _recent, recent_registration = old_and_recent
    old_messages = Message.objects.filter(registration=old_registration)
    assert old_messages.exists()
    before = list(old_messages.values_list("pk", "kind", "channel", "segments"))
    Message.objects.filter(pk=before[0][0]).update(status=Message.Status.PENDING)

    call_command("erase_personal_data", "--days", "180")

    assert list(old_messages.values_list("pk", "kind", "channel", "segments")) == before
    assert set(old_messages.values_list("recipient", "subject", "body")) == {("", "", "")}
    assert Message.objects.get(pk=before[0][0]).status == Message.Status.FAILED
    recent = Message.objects.filter(registration=recent_registration)
    assert recent.exists() and all(m.recipient and m.body for m in recent)


def test_command_dry_run_changes_nothing(old_and_recent, capsys):
    old, old_registration, _recent, _ = old_and_recent
    call_command("erase_personal_data", "--days", "180", "--dry-run")
    assert "Dry run: 1 registration" in capsys.readouterr().out
    old_registration.refresh_from_db()
    assert old_registration.full_name == "Nguyễn Văn Cũ" and old_registration.erased_at is None


def test_command_uses_the_retention_setting_by_default(old_and_recent, settings, capsys):
    settings.PERSONAL_DATA_RETENTION_DAYS = 5
    call_command("erase_personal_data")
    assert "2 registration" in capsys.readouterr().out
    assert not Registration.objects.exclude(full_name="").exists()


def test_erased_registrations_show_as_erased_on_the_list(en_client, owner, old_and_recent):
    old, *_ = old_and_recent
    call_command("erase_personal_data", "--days", "180")
    en_client.force_login(owner)
    html = en_client.get(list_url(old)).content.decode()
    assert "(erased)" in html and "Nguyễn Văn Cũ" not in html


def test_task_erases_like_the_command(old_and_recent):
    _old, old_registration, _recent, _ = old_and_recent
    assert registrations_erase_personal_data_task.name == "attendance.registrations_erase_personal_data_task"
    assert registrations_erase_personal_data_task.apply(kwargs={"older_than_days": 180}).get() == 1
    old_registration.refresh_from_db()
    assert old_registration.erased_at is not None


def test_sync_periodic_tasks_schedules_the_retention_task(db):
    # when the declared schedules are synced (twice: it is idempotent)
    call_command("sync_periodic_tasks")
    call_command("sync_periodic_tasks")

    # then django-celery-beat runs the retention task daily at 03:30
    task = PeriodicTask.objects.get(task="attendance.registrations_erase_personal_data_task")
    assert (task.crontab.minute, task.crontab.hour) == ("30", "3")
    assert task.enabled
