"""Staff pages: who may see and change what, the programme form and the
per-date actions.

Every staff view is checked for anonymous visitors, the owner (manager of the
venue), a teammate (door staff), an outsider (manager elsewhere), the
province's officer and a citizen with no role.
"""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from common.timeutil import local_datetime, to_local
from events.models import Occurrence, Programme
from tests.access import assert_login_redirect, login_as
from tests.factories import make_commune, make_programme, make_province, make_user, make_venue
from venues.models import StaffRole

ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]


def next_weekday(weekday: int, at_least_days: int = 7) -> dt.date:
    """The first date on `weekday` (0 = Monday) at least `at_least_days` from today."""
    day = timezone.localdate() + dt.timedelta(days=at_least_days)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def ddmmyyyy(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.fixture
def en_client(client):
    """A client whose browser asks for English, so messages can be asserted."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def programme(venue, owner):
    monday = next_weekday(0)
    return make_programme(
        venue=venue,
        day=monday,
        recurrence=Programme.Recurrence.WEEKLY,
        weekdays=["MO", "WE"],
        repeat_until=monday + dt.timedelta(days=27),
        capacity=20,
        created_by=owner,
    )


@pytest.fixture
def occurrence(programme):
    return programme.occurrences.order_by("start").first()


def form_data(day: dt.date, **overrides) -> dict:
    data = {
        "title": "Câu lạc bộ đọc sách thiếu nhi",
        "description": "Đọc và kể chuyện cùng các bạn nhỏ.",
        "category": "club",
        "audiences": ["children", "families"],
        "language": "vi",
        "start_date": ddmmyyyy(day),
        "start_time": "09:00",
        "end_time": "10:30",
        "duration_minutes": "",
        "end_date": "",
        "recurrence": "once",
        "nth": "",
        "monthly_weekday": "",
        "repeat_until": "",
        "capacity": "30",
        "admission": "registration",
        "registration_opens_days": "14",
        "registration_closes_minutes": "60",
        "max_party_size": "4",
        "commemorative_day": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def snapshot(programme: Programme) -> tuple:
    """What a forbidden request must leave untouched."""
    programme.refresh_from_db()
    programme.event.refresh_from_db()
    occurrences = list(Occurrence.objects.filter(programme=programme).values_list("start", "cancelled", "capacity"))
    return programme.status, programme.event.title, programme.event.start, occurrences


# --- who may and may not ---------------------------------------------------

# name, method, url builder, reads (open to everyone who may view the venue)
def _urls(programme, occurrence):
    return {
        "home": reverse("staff:home"),
        "venue": reverse("staff:venue_detail", args=[programme.venue.slug]),
        "programme": reverse("staff:programme_detail", args=[programme.pk]),
        "create": reverse("staff:programme_create", args=[programme.venue.slug]),
        "edit": reverse("staff:programme_edit", args=[programme.pk]),
        "publish": reverse("staff:programme_publish", args=[programme.pk]),
        "unpublish": reverse("staff:programme_unpublish", args=[programme.pk]),
        "cancel": reverse("staff:programme_cancel", args=[programme.pk]),
        "occurrence_cancel": reverse("staff:occurrence_cancel", args=[occurrence.pk]),
        "occurrence_restore": reverse("staff:occurrence_restore", args=[occurrence.pk]),
        "occurrence_move": reverse("staff:occurrence_move", args=[occurrence.pk]),
        "occurrence_capacity": reverse("staff:occurrence_capacity", args=[occurrence.pk]),
    }


READ_PAGES = ["home", "venue", "programme"]
WRITE_PAGES = ["create", "edit", "cancel", "occurrence_move", "occurrence_capacity"]  # GET shows a form
WRITE_ACTIONS = [
    "create", "edit", "publish", "unpublish", "cancel",
    "occurrence_cancel", "occurrence_restore", "occurrence_move", "occurrence_capacity",
]


def _post_data(name, occurrence):
    later = to_local(occurrence.start) + dt.timedelta(hours=2)
    return {
        "create": form_data(next_weekday(2)),
        "edit": form_data(next_weekday(0), recurrence="weekly", weekdays=["MO", "WE"],
                          repeat_until=ddmmyyyy(next_weekday(0) + dt.timedelta(days=27)), title="Đổi tên"),
        "occurrence_move": {"date": ddmmyyyy(later.date()), "start_time": later.strftime("%H:%M"),
                            "end_time": (later + dt.timedelta(hours=1)).strftime("%H:%M")},
        "occurrence_capacity": {"capacity": "5"},
    }.get(name, {})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", READ_PAGES)
def test_read_pages(client, request, programme, occurrence, page, role):
    # given a programme at the venue and a user in some role
    login_as(client, request, role)

    # when they open a read page
    response = client.get(_urls(programme, occurrence)[page])

    # then only those who may view the venue see it
    if role == "anonymous":
        assert_login_redirect(response)
    elif role == "citizen":
        assert response.status_code == 403
    elif role == "outsider" and page != "home":
        assert response.status_code == 404
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", WRITE_PAGES)
def test_write_forms(client, request, programme, occurrence, page, role):
    # given a user in some role
    login_as(client, request, role)

    # when they open a page that changes something
    response = client.get(_urls(programme, occurrence)[page])

    # then only the manager gets the form
    expected = {"owner": 200, "teammate": 403, "officer": 403, "citizen": 403, "outsider": 404}
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", WRITE_ACTIONS)
def test_write_actions(client, request, programme, occurrence, action, role):
    # given a published programme with dates, and a user in some role
    login_as(client, request, role)
    # (with something to undo for the actions that undo)
    if action == "occurrence_restore":
        from events.services import occurrence_cancel

        occurrence_cancel(occurrence=occurrence)
    if action == "publish":
        from events.services import programme_unpublish

        programme_unpublish(programme=programme)
    before = snapshot(programme)
    programmes_before = Programme.objects.count()

    # when they post the action
    response = client.post(_urls(programme, occurrence)[action], _post_data(action, occurrence))

    # then the manager's action is done and redirects; anyone else changes nothing
    if role == "owner":
        assert response.status_code == 302, getattr(response, "context", None) and response.context.get("form", {})
        assert response["Location"].startswith("/staff/")
        if action == "create":
            assert Programme.objects.count() == programmes_before + 1
        else:
            assert snapshot(programme) != before
        return
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        expected = {"teammate": 403, "officer": 403, "citizen": 403, "outsider": 404}
        assert response.status_code == expected[role]
    assert snapshot(programme) == before
    assert Programme.objects.count() == programmes_before


def test_action_urls_refuse_get(client, owner, programme):
    # given the manager
    client.force_login(owner)

    # when a state-changing action is opened with GET
    response = client.get(reverse("staff:programme_publish", args=[programme.pk]))

    # then nothing happens
    assert response.status_code == 405


def test_officer_of_another_province_sees_nothing_of_the_venue(client, programme):
    # given an officer of another province
    elsewhere = make_province(name="Tỉnh Lào Cai")
    officer = make_user(username="far-officer", role=StaffRole.Role.OFFICER, admin_unit=elsewhere)
    client.force_login(officer)

    # when they open the venue and the programme
    venue_page = client.get(reverse("staff:venue_detail", args=[programme.venue.slug]))
    programme_page = client.get(reverse("staff:programme_detail", args=[programme.pk]))

    # then both are not found
    assert venue_page.status_code == 404
    assert programme_page.status_code == 404


def test_superuser_may_manage_every_venue(client, programme):
    # given a superuser without any staff role
    admin = make_user(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)

    # when they open the programme's edit form
    response = client.get(reverse("staff:programme_edit", args=[programme.pk]))

    # then it is shown
    assert response.status_code == 200


# --- home -------------------------------------------------------------------


def test_home_lists_the_owners_venue_only(en_client, owner, venue, other_venue):
    # given the manager of one venue
    en_client.force_login(owner)

    # when they open the staff home
    response = en_client.get(reverse("staff:home"))

    # then they see their venue, marked as theirs, and not the other one
    content = response.content.decode()
    assert venue.name in content
    assert other_venue.name not in content
    assert "You manage this venue" in content


def test_home_groups_every_venue_under_the_officers_province(en_client, officer, province, venue, other_venue):
    # given a second venue in another commune of the officer's province
    second = make_venue(admin_unit=make_commune(province=province, name="Xã Tân Hưng"), name="Nhà văn hóa Tân Hưng")
    en_client.force_login(officer)

    # when the officer opens the staff home
    response = en_client.get(reverse("staff:home"))

    # then both venues are listed, read-only, under the province; the other province's venue is not
    content = response.content.decode()
    assert [province] == [group for group, _venues in response.context["groups"]]
    assert venue.name in content and second.name in content
    assert other_venue.name not in content
    assert "Read only" in content
    assert "You manage this venue" not in content


def test_teammate_sees_no_change_buttons(en_client, teammate, programme):
    # given door staff of the venue
    en_client.force_login(teammate)

    # when they open the programme
    response = en_client.get(reverse("staff:programme_detail", args=[programme.pk]))

    # then there is no edit, publish or per-date action
    content = response.content.decode()
    assert reverse("staff:programme_edit", args=[programme.pk]) not in content
    assert "Cancel this date" not in content


# --- the programme form -----------------------------------------------------


def test_weekly_programme_on_mo_we_fr_yields_those_dates(en_client, owner, venue):
    # given a Monday start and an end date 13 days later (two weeks)
    monday = next_weekday(0)
    en_client.force_login(owner)
    data = form_data(
        monday, recurrence="weekly", weekdays=["MO", "WE", "FR"], repeat_until=ddmmyyyy(monday + dt.timedelta(days=13))
    )

    # when the manager submits the form
    response = en_client.post(reverse("staff:programme_create", args=[venue.slug]), data)

    # then a draft programme exists with an occurrence on each Monday, Wednesday and Friday
    assert response.status_code == 302
    programme = Programme.objects.get()
    assert response["Location"] == reverse("staff:programme_detail", args=[programme.pk])
    assert (programme.recurrence, programme.weekdays, programme.status) == ("weekly", "MO,WE,FR", "draft")
    assert programme.created_by == owner
    assert sorted(a.code for a in programme.audiences.all()) == ["children", "families"]
    starts = [to_local(o.start) for o in programme.occurrences.order_by("start")]
    expected_days = [monday + dt.timedelta(days=n) for n in (0, 2, 4, 7, 9, 11)]
    assert [s.date() for s in starts] == expected_days
    assert {(s.hour, s.minute) for s in starts} == {(9, 0)}
    assert {o.end - o.start for o in programme.occurrences.all()} == {dt.timedelta(minutes=90)}
    assert {o.capacity for o in programme.occurrences.all()} == {30}


def test_save_and_publish(client, owner, venue):
    # given a valid one-off programme
    client.force_login(owner)
    data = form_data(next_weekday(3), publish="1")

    # when the manager presses "Save and publish"
    client.post(reverse("staff:programme_create", args=[venue.slug]), data)

    # then it is published with its one date
    programme = Programme.objects.get()
    assert programme.status == Programme.Status.PUBLISHED
    assert programme.occurrences.count() == 1


def test_image_upload_and_clear(client, owner, venue):
    # given a one-off programme with a small image
    client.force_login(owner)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    upload = SimpleUploadedFile("poster.png", buffer.getvalue(), content_type="image/png")

    # when created with the image
    client.post(reverse("staff:programme_create", args=[venue.slug]), {**form_data(next_weekday(4)), "image": upload})

    # then the programme keeps it
    programme = Programme.objects.get()
    assert programme.image.name.endswith(".png")

    # when edited without a new file, then with "clear" ticked
    edit = reverse("staff:programme_edit", args=[programme.pk])
    client.post(edit, form_data(next_weekday(4), title="Giữ ảnh"))
    programme.refresh_from_db()
    kept = programme.image.name
    client.post(edit, {**form_data(next_weekday(4)), "image-clear": "on"})
    programme.refresh_from_db()

    # then the image is kept, then removed
    assert kept.endswith(".png")
    assert not programme.image


def test_duration_instead_of_end_time(client, owner, venue):
    # given a start time and a duration, no end time
    client.force_login(owner)
    data = form_data(next_weekday(1), end_time="", duration_minutes="45", admission="walk_in")

    # when submitted
    client.post(reverse("staff:programme_create", args=[venue.slug]), data)

    # then the date lasts 45 minutes and needs no registration
    programme = Programme.objects.get()
    occurrence = programme.occurrences.get()
    assert occurrence.end - occurrence.start == dt.timedelta(minutes=45)
    assert programme.registration_required is False


def test_monthly_on_the_last_friday(client, owner, venue):
    # given a monthly programme on the last Friday over about three months
    client.force_login(owner)
    start = timezone.localdate() + dt.timedelta(days=7)
    data = form_data(
        start, recurrence="monthly_nth", nth="-1", monthly_weekday="FR",
        repeat_until=ddmmyyyy(start + dt.timedelta(days=95)),
    )

    # when submitted
    client.post(reverse("staff:programme_create", args=[venue.slug]), data)

    # then every date is the last Friday of its month
    days = [to_local(o.start).date() for o in Programme.objects.get().occurrences.all()]
    assert len(days) >= 2
    for day in days:
        assert day.weekday() == 4
        assert (day + dt.timedelta(days=7)).month != day.month


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"end_time": "08:00"}, "end_time", "The end must be after the start."),
        ({"recurrence": "weekly", "repeat_until": "LATER"}, "weekdays", "Choose at least one weekday."),
        ({"recurrence": "daily"}, "repeat_until", "A repeating programme needs an end date."),
        ({"recurrence": "monthly_nth", "nth": "2", "repeat_until": "LATER"}, "monthly_weekday",
         "Choose exactly one weekday."),
        ({"start_date": "2026-04-21"}, "start_date", "Enter a date as dd/mm/yyyy"),
        ({"start_date": "31/02/2026"}, "start_date", "Enter a date as dd/mm/yyyy"),
        ({"repeat_until": "21.04.2026", "recurrence": "daily"}, "repeat_until", "Enter a date as dd/mm/yyyy"),
        ({"end_time": "", "duration_minutes": ""}, "end_time", "Give either an end time or a duration."),
        ({"start_time": "9h"}, "start_time", "Enter a time as hh:mm"),
        ({"title": ""}, "title", "This field is required."),
        ({"max_party_size": "0"}, "max_party_size", "greater than or equal to 1"),
    ],
)
def test_invalid_input_re_renders_with_an_error(en_client, owner, venue, overrides, field, message):
    # given a form with one mistake
    en_client.force_login(owner)
    day = next_weekday(0)
    if overrides.get("repeat_until") == "LATER":
        overrides["repeat_until"] = ddmmyyyy(day + dt.timedelta(days=30))

    # when submitted
    response = en_client.post(reverse("staff:programme_create", args=[venue.slug]), form_data(day, **overrides))

    # then the form comes back with the message on the right field, and nothing is created
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert message in response.content.decode()
    assert not Programme.objects.exists()
    assert not Occurrence.objects.exists()


def test_edit_form_shows_dates_as_dd_mm_yyyy(client, owner, programme):
    # given the manager
    client.force_login(owner)

    # when they open the edit form
    response = client.get(reverse("staff:programme_edit", args=[programme.pk]))

    # then the first date and the end date are written dd/mm/yyyy
    content = response.content.decode()
    assert f'value="{ddmmyyyy(to_local(programme.event.start).date())}"' in content
    assert f'value="{ddmmyyyy(programme.repeat_until)}"' in content


def test_editing_the_time_moves_future_dates(client, owner, programme):
    # given a weekly programme at 09:00
    client.force_login(owner)
    first = to_local(programme.event.start).date()
    data = form_data(
        first, recurrence="weekly", weekdays=["MO", "WE"], repeat_until=ddmmyyyy(programme.repeat_until),
        start_time="14:00", end_time="15:00", title="Giờ mới",
    )

    # when the manager changes the time to 14:00
    response = client.post(reverse("staff:programme_edit", args=[programme.pk]), data)

    # then the title and every future date follow
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.title == "Giờ mới"
    assert {to_local(o.start).time() for o in programme.occurrences.all()} == {dt.time(14, 0)}


def test_a_cancelled_programme_cannot_be_edited(en_client, owner, programme):
    # given a cancelled programme
    from events.services import programme_cancel

    programme_cancel(programme=programme)
    en_client.force_login(owner)

    # when the manager opens the edit form
    response = en_client.get(reverse("staff:programme_edit", args=[programme.pk]), follow=True)

    # then they are sent back with an explanation
    assert response.redirect_chain[-1][0] == reverse("staff:programme_detail", args=[programme.pk])
    assert "A cancelled programme cannot be changed." in response.content.decode()


# --- programme status -------------------------------------------------------


def test_unpublish_then_publish(client, owner, programme):
    # given a published programme
    client.force_login(owner)

    # when the manager unpublishes, then publishes it
    client.post(reverse("staff:programme_unpublish", args=[programme.pk]))
    programme.refresh_from_db()
    unpublished = programme.status
    client.post(reverse("staff:programme_publish", args=[programme.pk]))
    programme.refresh_from_db()

    # then its status follows
    assert unpublished == Programme.Status.DRAFT
    assert programme.status == Programme.Status.PUBLISHED


def test_cancel_asks_first_then_cancels_every_future_date(en_client, owner, programme):
    # given a published programme with upcoming dates
    en_client.force_login(owner)
    url = reverse("staff:programme_cancel", args=[programme.pk])
    upcoming = programme.occurrences.count()

    # when the manager opens the cancel page
    confirm = en_client.get(url)

    # then nothing is cancelled yet, and the page says how many dates go
    assert confirm.status_code == 200
    assert f"Its {upcoming} upcoming dates will be cancelled too" in confirm.content.decode()
    assert not programme.occurrences.filter(cancelled=True).exists()

    # when they confirm
    response = en_client.post(url)

    # then the programme and every future date are cancelled
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CANCELLED
    assert not programme.occurrences.filter(cancelled=False).exists()


def test_unpublishing_a_cancelled_programme_is_refused(en_client, owner, programme):
    # given a cancelled programme
    from events.services import programme_cancel

    programme_cancel(programme=programme)
    en_client.force_login(owner)

    # when the manager posts "unpublish" (the page offers no such button)
    response = en_client.post(reverse("staff:programme_unpublish", args=[programme.pk]), follow=True)

    # then it stays cancelled, with an explanation
    assert "A cancelled programme cannot be changed." in response.content.decode()
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CANCELLED


def test_publishing_a_cancelled_programme_shows_the_reason(en_client, owner, programme):
    # given a cancelled programme
    from events.services import programme_cancel

    programme_cancel(programme=programme)
    en_client.force_login(owner)

    # when the manager tries to publish it
    response = en_client.post(reverse("staff:programme_publish", args=[programme.pk]), follow=True)

    # then the refusal is shown and it stays cancelled
    assert response.status_code == 200
    assert "A cancelled programme cannot be changed." in response.content.decode()
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CANCELLED


# --- per-date actions -------------------------------------------------------


def test_occurrence_list_shows_dates_as_dd_mm_yyyy(client, teammate, programme, occurrence):
    # given door staff
    client.force_login(teammate)

    # when they open the programme
    response = client.get(reverse("staff:programme_detail", args=[programme.pk]))

    # then each date is written dd/mm/yyyy
    assert ddmmyyyy(to_local(occurrence.start).date()) in response.content.decode()


def test_cancel_and_restore_one_date(client, owner, programme, occurrence):
    # given the manager
    client.force_login(owner)
    others = programme.occurrences.exclude(pk=occurrence.pk)

    # when they cancel one date
    client.post(reverse("staff:occurrence_cancel", args=[occurrence.pk]))

    # then only that date is cancelled
    occurrence.refresh_from_db()
    assert occurrence.cancelled
    assert not others.filter(cancelled=True).exists()

    # when they restore it
    client.post(reverse("staff:occurrence_restore", args=[occurrence.pk]))

    # then it is on again
    occurrence.refresh_from_db()
    assert not occurrence.cancelled


def test_action_returns_to_the_page_it_came_from(client, owner, programme, occurrence):
    # given the manager on the second page of dates
    client.force_login(owner)
    back = reverse("staff:programme_detail", args=[programme.pk]) + "?page=2"

    # when they cancel a date from there, and try an off-site "next"
    response = client.post(reverse("staff:occurrence_cancel", args=[occurrence.pk]), {"next": back})
    evil = client.post(reverse("staff:occurrence_restore", args=[occurrence.pk]), {"next": "https://evil.example/"})

    # then they come back to that page, never off-site
    assert response["Location"] == back
    assert evil["Location"] == reverse("staff:programme_detail", args=[programme.pk])


def test_move_one_date(client, owner, programme, occurrence):
    # given the manager and a date at 09:00
    client.force_login(owner)
    new_day = to_local(occurrence.start).date() + dt.timedelta(days=1)

    # when they move it to the next day 15:00-16:30
    response = client.post(
        reverse("staff:occurrence_move", args=[occurrence.pk]),
        {"date": ddmmyyyy(new_day), "start_time": "15:00", "end_time": "16:30"},
    )

    # then it is moved, and still remembers where it was
    assert response.status_code == 302
    occurrence.refresh_from_db()
    assert occurrence.start == local_datetime(new_day, dt.time(15, 0))
    assert occurrence.end == local_datetime(new_day, dt.time(16, 30))
    assert occurrence.moved


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"start_time": "15:00", "end_time": "14:00"}, "end_time", "The end must be after the start."),
        ({"date": "2026/05/18", "start_time": "15:00", "end_time": "16:00"}, "date", "Enter a date as dd/mm/yyyy"),
    ],
)
def test_bad_move_shows_an_error_and_changes_nothing(en_client, owner, occurrence, data, field, message):
    # given the manager
    en_client.force_login(owner)
    before = (occurrence.start, occurrence.end)
    data = {"date": ddmmyyyy(to_local(occurrence.start).date()), **data}

    # when they submit a bad move
    response = en_client.post(reverse("staff:occurrence_move", args=[occurrence.pk]), data)

    # then the form is shown again with the error
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    occurrence.refresh_from_db()
    assert (occurrence.start, occurrence.end) == before


def test_moving_a_cancelled_date_is_refused_with_a_message(en_client, owner, occurrence):
    # given a cancelled date
    from events.services import occurrence_cancel

    occurrence_cancel(occurrence=occurrence)
    en_client.force_login(owner)
    day = ddmmyyyy(to_local(occurrence.start).date())

    # when the manager tries to move it
    response = en_client.post(
        reverse("staff:occurrence_move", args=[occurrence.pk]), {"date": day, "start_time": "15:00", "end_time": "16:00"}
    )

    # then the refusal is shown on the form
    assert response.status_code == 200
    assert "A cancelled date cannot be moved; restore it first." in response.content.decode()


def test_set_and_reset_the_capacity_of_one_date(client, owner, programme, occurrence):
    # given a programme with 20 seats per date
    client.force_login(owner)
    url = reverse("staff:occurrence_capacity", args=[occurrence.pk])

    # when the manager gives one date 12 seats
    client.post(url, {"capacity": "12"})

    # then that date has 12, the others keep 20
    occurrence.refresh_from_db()
    assert (occurrence.capacity, occurrence.capacity_overridden) == (12, True)
    assert set(programme.occurrences.exclude(pk=occurrence.pk).values_list("capacity", flat=True)) == {20}

    # when they empty the field
    client.post(url, {"capacity": ""})

    # then the date is back to the programme's capacity
    occurrence.refresh_from_db()
    assert (occurrence.capacity, occurrence.capacity_overridden) == (20, False)


def test_negative_capacity_is_an_error(en_client, owner, occurrence):
    # given the manager
    en_client.force_login(owner)

    # when they type a negative capacity
    response = en_client.post(reverse("staff:occurrence_capacity", args=[occurrence.pk]), {"capacity": "-3"})

    # then the form says so and the date keeps its capacity
    assert response.status_code == 200
    assert response.context["form"].errors["capacity"]
    occurrence.refresh_from_db()
    assert occurrence.capacity == 20


def test_restoring_a_date_of_a_cancelled_programme_is_refused(en_client, owner, programme, occurrence):
    # given a cancelled programme
    from events.services import programme_cancel

    programme_cancel(programme=programme)
    en_client.force_login(owner)

    # when the manager tries to restore one of its dates
    response = en_client.post(reverse("staff:occurrence_restore", args=[occurrence.pk]), follow=True)

    # then the reason is shown and the date stays cancelled
    assert "The programme is cancelled." in response.content.decode()
    occurrence.refresh_from_db()
    assert occurrence.cancelled


def test_login_page_renders(client):
    # when anyone opens the login page
    response = client.get(reverse("login"))

    # then it has a username and password field
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


# --- back office (Django admin) ---------------------------------------------


@pytest.fixture
def superuser(db):
    return make_user(username="root", is_superuser=True, is_staff=True)


@pytest.mark.parametrize(
    "model", ["venues/adminunit", "venues/venue", "venues/staffrole", "auth/user", "events/programme",
              "events/occurrence", "events/commemorativeday"],
)
def test_admin_lists_and_change_pages_open(client, superuser, programme, owner, officer, model):
    # given a superuser and one row of each kind
    client.force_login(superuser)
    objects = {
        "venues/adminunit": programme.venue.admin_unit, "venues/venue": programme.venue,
        "venues/staffrole": owner.staff_roles.get(), "auth/user": owner, "events/programme": programme,
        "events/occurrence": programme.occurrences.first(), "events/commemorativeday": None,
    }

    # when they open the list (with a search) and a change page
    listing = client.get(f"/admin/{model}/", {"q": "a"})
    obj = objects[model]
    change = client.get(f"/admin/{model}/{obj.pk}/change/") if obj else None

    # then both render (a user's page and a venue's page carry their staff roles)
    assert listing.status_code == 200
    assert change is None or change.status_code == 200
    if model in ("auth/user", "venues/venue"):
        assert "staff_roles-TOTAL_FORMS" in change.content.decode()


def test_admin_programme_filters(client, superuser, programme):
    # when the programme list is filtered by status, category and venue
    client.force_login(superuser)
    response = client.get(
        "/admin/events/programme/",
        {"status__exact": "published", "category__exact": programme.category, "venue__id__exact": programme.venue_id},
    )

    # then the programme is listed
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [programme]


def test_admin_cancel_action_goes_through_the_service(client, superuser, programme):
    # given a published programme with dates
    client.force_login(superuser)

    # when the cancel action is applied in the admin
    client.post(
        "/admin/events/programme/",
        {"action": "cancel", "_selected_action": [programme.pk], "index": 0},
    )

    # then the programme and its future dates are cancelled
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CANCELLED
    assert not programme.occurrences.filter(cancelled=False).exists()


def test_admin_cannot_add_programmes(client, superuser, db):
    # when the add page is opened
    client.force_login(superuser)

    # then it is refused: programmes are built on the staff pages
    assert client.get("/admin/events/programme/add/").status_code == 403


def test_reminder_hours_are_saved_from_the_programme_form(en_client, owner, venue):
    # given the manager creates a programme asking for reminders 2 and 48 hours before
    en_client.force_login(owner)
    day = dt.date.today() + dt.timedelta(days=10)
    url = reverse("staff:programme_create", args=[venue.slug])
    response = en_client.post(url, form_data(day, reminder_hours="2, 48,2"))

    # then each is kept once, latest first
    assert response.status_code == 302
    assert Programme.objects.get().reminder_hours == "48,2"


def test_bad_reminder_hours_are_refused_with_a_message(en_client, owner, venue):
    en_client.force_login(owner)
    day = dt.date.today() + dt.timedelta(days=10)
    response = en_client.post(reverse("staff:programme_create", args=[venue.slug]), form_data(day, reminder_hours="soon"))
    assert response.status_code == 200
    assert "Enter whole hours separated by commas" in response.content.decode()
    assert not Programme.objects.exists()
