"""Attendance entered by hand on the staff registrations page of a date: who
may see and enter it, bad input, corrections and refusals.

Every check is made for anonymous visitors, the owner (manager of the venue),
a teammate (door staff), an outsider (manager elsewhere), the province's
officer and a citizen with no role.
"""

import datetime as dt
import uuid

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from attendance.models import ManualAttendance, VisitCount
from attendance.selectors import occurrence_counts
from attendance.services import manual_attendance_enter, ticket_redeem
from events.models import Occurrence
from tests.access import assert_login_redirect, login_as
from tests.attendance_helpers import make_occurrence, register

ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]
FORM_MARK = 'action="{}"'


@pytest.fixture
def en_client(client):
    """A client whose browser asks for English, so messages can be asserted."""
    client.cookies["django_language"] = "en"
    return client


def _move(occurrence, start, minutes=120):
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(minutes=minutes))
    occurrence.refresh_from_db()
    return occurrence


@pytest.fixture
def past(venue):
    """A date that took place this morning; its tickets were not scanned."""
    occurrence = make_occurrence(venue=venue, capacity=30)
    register(occurrence, party_size=2)
    return _move(occurrence, timezone.now() - dt.timedelta(hours=4))


@pytest.fixture
def future(venue):
    return make_occurrence(venue=venue, capacity=30, days_ahead=5)


@pytest.fixture
def scanned(venue):
    """A date under way with one ticket scanned at the door."""
    occurrence = make_occurrence(venue=venue, capacity=30, days_ahead=2)
    ticket = register(occurrence).registration.ticket
    _move(occurrence, timezone.now() - dt.timedelta(minutes=30))
    assert ticket_redeem(code=ticket.secret, venue=venue, scan_id=uuid.uuid4().hex).ok
    return occurrence


def list_url(occurrence):
    return reverse("staff_attendance:registrations", args=[occurrence.pk])


def enter_url(occurrence):
    return reverse("staff_attendance:manual_attendance", args=[occurrence.pk])


def manual_visits(occurrence) -> int:
    return VisitCount.objects.filter(occurrence=occurrence).aggregate(n=Sum("manual"))["n"] or 0


def has_form(response, occurrence) -> bool:
    return FORM_MARK.format(enter_url(occurrence)) in response.content.decode()


# --- who may and may not ---------------------------------------------------


READ = {"owner": 200, "teammate": 200, "officer": 200, "outsider": 404, "citizen": 403}


@pytest.mark.parametrize("role", ROLES)
def test_the_form_is_shown_to_the_venue_manager_only(client, request, past, role):
    """Given a past date without scans and a user in some role, when they open its
    registrations page, then only the venue's manager is offered the form."""
    login_as(client, request, role)

    response = client.get(list_url(past))

    if role == "anonymous":
        assert_login_redirect(response)
        return
    assert response.status_code == READ[role]
    if response.status_code == 200:
        assert has_form(response, past) == (role == "owner")
        assert (response.context["manual_form"] is not None) == (role == "owner")


@pytest.mark.parametrize("role", ROLES)
def test_entering_attendance_by_role(client, request, past, role):
    """Given a past date without scans, when a user in some role posts 40 visitors,
    then only the venue's manager records it; the others get 403/404/login and nothing changes."""
    login_as(client, request, role)

    response = client.post(enter_url(past), {"count": "40", "audience": "", "note": "Sổ ký tên"})

    entered = ManualAttendance.objects.filter(occurrence=past).exists()
    if role == "anonymous":
        assert_login_redirect(response)
    elif role == "owner":
        assert response.status_code == 302 and response["Location"] == list_url(past) + "#attendance-by-hand"
    else:
        assert response.status_code == {"teammate": 403, "officer": 403, "outsider": 404, "citizen": 403}[role]
    assert entered == (role == "owner")
    assert manual_visits(past) == (40 if role == "owner" else 0)


@pytest.mark.parametrize("role", ["teammate", "officer"])
def test_the_entry_and_its_history_are_shown_to_viewers_without_the_form(client, request, past, owner, role):
    """Given a date whose attendance was entered and corrected by the manager, when door
    staff or the officer open the page, then they see the entry, who made it and the
    history, but no form."""
    manual_attendance_enter(occurrence_id=past.pk, count=40, user=owner, now=timezone.now() - dt.timedelta(hours=1))
    manual_attendance_enter(occurrence_id=past.pk, count=35, user=owner, note="Đếm lại")
    login_as(client, request, role)

    response = client.get(list_url(past))

    html = response.content.decode()
    assert response.status_code == 200 and not has_form(response, past)
    assert response.context["manual_current"].count == 35 and "owner" in html and "Đếm lại" in html
    assert [e.count for e in response.context["manual_history"]] == [40]
    assert 'data-count="manual">35<' in html


# --- what the manager does ------------------------------------------------------


@pytest.mark.parametrize(
    "count",
    ["-1", "abc", "", "1.5", "100001", "99999999999999999999999999", "1e3", "12 người"],
)
def test_bad_counts_are_form_errors(en_client, owner, past, count):
    """Given the manager, when they post a count that is negative, not a whole number,
    missing or huge, then the page is shown again with an error on the count, nothing is saved."""
    en_client.force_login(owner)

    response = en_client.post(enter_url(past), {"count": count, "audience": ""})

    assert response.status_code == 200
    form = response.context["manual_form"]
    assert "count" in form.errors
    assert not ManualAttendance.objects.exists() and manual_visits(past) == 0
    assert has_form(response, past)


def test_a_bad_audience_or_an_overlong_note_is_a_form_error(en_client, owner, past):
    """Given the manager, when the audience is unknown and the note longer than 300
    characters, then both fields carry an error and nothing is saved."""
    en_client.force_login(owner)

    response = en_client.post(enter_url(past), {"count": "12", "audience": "martians", "note": "x" * 301})

    assert response.status_code == 200
    assert set(response.context["manual_form"].errors) == {"audience", "note"}
    assert not ManualAttendance.objects.exists()


def test_an_entry_then_a_correction(en_client, owner, past):
    """Given the manager, when they enter 40 visitors and then correct it to 35 adults,
    then the totals go 40 then 35, the page shows the current entry (who, when) and the
    superseded one in the history, and the counts block shows it as entered by hand."""
    en_client.force_login(owner)

    response = en_client.post(enter_url(past), {"count": "40", "note": "Sổ ký tên"}, follow=True)
    assert "Attendance entered by hand: 40 visitors." in response.content.decode()
    assert manual_visits(past) == 40

    response = en_client.post(enter_url(past), {"count": "35", "audience": "adults", "note": "Đếm lại"}, follow=True)

    assert manual_visits(past) == 35
    assert occurrence_counts(occurrence=past)["manual"] == 35
    html = response.content.decode()
    current = response.context["manual_current"]
    assert (current.count, current.audience, current.entered_by) == (35, "adults", owner)
    assert f"entered by owner on {timezone.localtime(current.entered_at):%d/%m/%Y %H:%M}" in html
    history = response.context["manual_history"]
    assert [(e.count, e.superseded_at is not None) for e in history] == [(40, True)]
    assert 'data-count="manual">35<' in html
    # the form offers the current entry for the next correction
    assert response.context["manual_form"].initial == {"count": 35, "audience": "adults"}


def test_a_correction_changes_the_totals_by_the_difference(client, owner, past):
    """Given attendance of 40 entered for the date with no audience, when it is corrected
    to 25 children, then the date's visits drop by 15 and land on the children's row."""
    manual_attendance_enter(occurrence_id=past.pk, count=40, user=owner)
    client.force_login(owner)

    client.post(enter_url(past), {"count": "25", "audience": "children"})

    rows = {r.audience: r.manual for r in VisitCount.objects.filter(occurrence=past)}
    assert rows == {"": 0, "children": 25}


def test_large_numbers_are_shown_with_vietnamese_grouping(client, owner, past):
    """Given the Vietnamese site, when 12345 visitors are entered, then the page shows 12.345."""
    client.force_login(owner)
    response = client.post(enter_url(past), {"count": "12345"}, follow=True)
    assert "12.345" in response.content.decode()


def test_refused_for_a_date_that_has_not_started(en_client, owner, future):
    """Given a future date, when the manager opens its page, then no form is offered;
    when they post anyway, then the refusal is shown on the count and nothing is saved."""
    en_client.force_login(owner)
    assert not has_form(en_client.get(list_url(future)), future)

    response = en_client.post(enter_url(future), {"count": "10"})

    assert response.status_code == 200
    assert response.context["manual_form"] is None or "count" in response.context["manual_form"].errors
    assert "This date has not started yet." in response.content.decode()
    assert not ManualAttendance.objects.exists()


def test_refused_for_a_date_with_scans(en_client, owner, scanned):
    """Given a date where a ticket was scanned, when the manager opens its page, then no
    form is offered; when they post anyway, then the refusal says the visits are already
    counted, and the totals keep only the scan."""
    en_client.force_login(owner)
    assert not has_form(en_client.get(list_url(scanned)), scanned)

    response = en_client.post(enter_url(scanned), {"count": "10"})

    assert response.status_code == 200
    assert "Tickets were scanned for this date" in response.content.decode()
    assert not ManualAttendance.objects.exists()
    assert occurrence_counts(occurrence=scanned)["manual"] == 0
    assert occurrence_counts(occurrence=scanned)["checked_in"] == 1


def test_refused_for_a_cancelled_date(en_client, owner, past):
    """Given a past date that was cancelled, when the manager posts attendance, then it is refused."""
    Occurrence.objects.filter(pk=past.pk).update(cancelled=True)
    en_client.force_login(owner)

    response = en_client.post(enter_url(past), {"count": "10"})

    assert response.status_code == 200
    assert "This date was cancelled." in response.content.decode()
    assert not ManualAttendance.objects.exists()


def test_get_on_the_entry_address_goes_back_to_the_page(client, owner, past):
    """Given the manager, when they open the entry address directly, then they are sent to the page."""
    client.force_login(owner)
    response = client.get(enter_url(past))
    assert response.status_code == 302 and response["Location"] == list_url(past) + "#attendance-by-hand"


def test_an_unknown_date_is_404(client, owner):
    """Given the manager, when they post to a date that does not exist, then it is a 404."""
    client.force_login(owner)
    assert client.post(reverse("staff_attendance:manual_attendance", args=[999999]), {"count": "1"}).status_code == 404


# --- admin ---------------------------------------------------------------------------


def test_admin_lists_are_read_only(client, owner, past, django_user_model):
    """Given a superuser and kept totals with a hand entry, when they open the admin
    lists of visit counts and hand entries, then both show the rows and allow no change."""
    manual_attendance_enter(occurrence_id=past.pk, count=40, user=owner)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(admin)

    for model in ("visitcount", "visitmonth", "manualattendance"):
        changelist = client.get(reverse(f"admin:attendance_{model}_changelist"))
        assert changelist.status_code == 200
        assert client.get(reverse(f"admin:attendance_{model}_add")).status_code == 403

    row = VisitCount.objects.get(occurrence=past)
    assert client.get(reverse("admin:attendance_visitcount_changelist") + f"?venue__id__exact={past.venue_id}").status_code == 200
    assert client.post(reverse("admin:attendance_visitcount_change", args=[row.pk]), {"manual": "999"}).status_code in (302, 403)
    row.refresh_from_db()
    assert row.manual == 40
    entry = ManualAttendance.objects.get()
    client.post(reverse("admin:attendance_manualattendance_delete", args=[entry.pk]), {"post": "yes"})
    assert ManualAttendance.objects.filter(pk=entry.pk).exists()


# --- a hand count stays the date's only count -------------------------------------------


def test_a_ticket_scanned_after_a_hand_count_does_not_count_twice(venue):
    """Given a date under way whose visits were entered by hand (30 people), when an
    offline device later uploads the scan of a ticket of that date, then the ticket
    is admitted (the door log is complete) but the date's visits stay 30, and the
    recount from raw rows agrees; undoing that scan changes nothing either."""
    from attendance.services import checkin_undo
    from attendance.totals import differences

    occurrence = make_occurrence(venue=venue, capacity=30, days_ahead=2)
    ticket = register(occurrence, party_size=2).registration.ticket
    _move(occurrence, timezone.now() - dt.timedelta(minutes=30))
    manual_attendance_enter(occurrence_id=occurrence.pk, count=30)

    scan_id = uuid.uuid4().hex
    outcome = ticket_redeem(
        code=ticket.secret, venue=venue, scan_id=scan_id, offline=True,
        scanned_at=timezone.now() - dt.timedelta(minutes=20),
    )

    assert outcome.ok and outcome.ticket.admitted == 2
    assert occurrence_counts(occurrence=occurrence)["checked_in"] == 0
    assert VisitCount.objects.filter(occurrence=occurrence).aggregate(n=Sum("manual"))["n"] == 30
    assert differences() == []
    checkin_undo(scan_id=scan_id)
    assert differences() == []
    # and a correction of the hand count is still allowed although a ticket was scanned
    manual_attendance_enter(occurrence_id=occurrence.pk, count=31)
    assert differences() == []


def test_moving_a_date_moves_its_hand_count_to_the_new_day(venue, owner):
    """Given a past date with 12 visits entered by hand, when staff move it to the
    next day, then the 12 visits count on the new day, not the old one, and the
    kept totals still equal a recount from raw rows."""
    from django.db import transaction

    from attendance.totals import differences, local_day
    from events.services import occurrence_move

    occurrence = make_occurrence(venue=venue, capacity=30)
    _move(occurrence, timezone.now() - dt.timedelta(days=3))
    manual_attendance_enter(occurrence_id=occurrence.pk, count=12, audience="adults")
    old_day = local_day(occurrence.start)

    with transaction.atomic():
        occurrence_move(
            occurrence=occurrence, start=occurrence.start + dt.timedelta(days=1), end=occurrence.end + dt.timedelta(days=1)
        )

    by_day = dict(VisitCount.objects.filter(occurrence=occurrence).values_list("day").annotate(n=Sum("manual")))
    assert by_day.get(old_day, 0) == 0
    assert by_day[old_day + dt.timedelta(days=1)] == 12
    assert differences() == []
