"""Staff pages and services for messages: a venue's templates (editor, counter,
placeholders, reset) and SMS policy, the message to every registrant when the
venue cancels or moves a date, a message from staff, the message log with
resend, and the monthly count and cost.

Every view is checked for anonymous visitors, the owner (manager of the
venue), a teammate (door staff), an outsider (manager elsewhere), the
province's officer and a citizen with no role.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from attendance.models import Registration
from common.phone import phone_display
from events.services import occurrence_cancel, occurrence_move, programme_cancel
from notifications import staff_services
from notifications.models import Message, MessageTemplate, SmsPolicy
from notifications.sms import sms_cost, sms_prepare
from notifications.templating import (
    builtin_template,
    fill,
    message_text,
    registration_message_text,
    registration_values,
    sample_values,
    template_errors,
)
from notifications.views_staff import counter_text
from tests.access import assert_login_redirect, login_as
from tests.attendance_helpers import make_occurrence, next_phone, register

S = Registration.Status
K = Message.Kind
ROLES = ["anonymous", "owner", "teammate", "outsider", "officer", "citizen"]
HCM = staff_services.LOCAL_TZ


@pytest.fixture
def en_client(client):
    """A client whose browser asks for English, so messages can be asserted."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def occurrence(venue):
    # Three seats: two people and a group of one fill it; then the waiting list.
    return make_occurrence(venue=venue, capacity=3, group_bookings=True, group_approval_required=True)


@pytest.fixture
def registrants(occurrence):
    """Two confirmed, one group awaiting approval, one waiting, one cancelled."""
    confirmed = [
        register(occurrence, full_name="Trần Thị Bình", phone="0912 345 678").registration,
        register(occurrence, full_name="Lê Văn Cường", language="en").registration,
    ]
    pending = register(occurrence, kind="group", organisation="Trường Lê Lợi", full_name="Cô Hoa").registration
    waiting = register(occurrence, full_name="Phạm Thu Dung").registration
    cancelled = register(occurrence, full_name="Đỗ Minh").registration
    Registration.objects.filter(pk=cancelled.pk).update(status=S.CANCELLED)
    assert [r.status for r in confirmed] == [S.CONFIRMED, S.CONFIRMED]
    assert pending.status == S.PENDING and waiting.status == S.WAITING
    return {"confirmed": confirmed, "pending": pending, "waiting": waiting, "cancelled": cancelled}


@pytest.fixture
def failed_message(occurrence, registrants):
    registration = registrants["confirmed"][0]
    return Message.objects.create(
        channel=Message.Channel.SMS,
        recipient=registration.phone,
        kind=K.CONFIRMATION,
        body="Đã đăng ký: ...",
        language="vi",
        registration=registration,
        occurrence=occurrence,
        venue=occurrence.venue,
        encoding="UCS-2",
        segments=2,
        cost=sms_cost(2),
        status=Message.Status.FAILED,
        last_error="21211 invalid number",
        dedupe_key="test:failed",
    )


def edit_url(venue, kind=K.CONFIRMATION, language="vi"):
    return reverse("staff_messages:template_edit", args=[venue.slug, kind, language])


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- who may and may not ---------------------------------------------------

READ = {"owner": 200, "teammate": 200, "officer": 200, "outsider": 404, "citizen": 403}
MANAGE = {"owner": 200, "teammate": 403, "officer": 403, "outsider": 404, "citizen": 403}
MANAGE_POST = {**MANAGE, "owner": 302}

GET_VIEWS = {
    "venue_log": (lambda v, o, m: reverse("staff_messages:venue_log", args=[v.slug]), READ),
    "occurrence_log": (lambda v, o, m: reverse("staff_messages:occurrence_log", args=[o.pk]), READ),
    "template_list": (lambda v, o, m: reverse("staff_messages:template_list", args=[v.slug]), MANAGE),
    "template_edit": (lambda v, o, m: edit_url(v), MANAGE),
    "sms_policy": (lambda v, o, m: reverse("staff_messages:sms_policy", args=[v.slug]), MANAGE),
    "staff_message": (lambda v, o, m: reverse("staff_messages:staff_message", args=[o.pk]), MANAGE),
}

POST_VIEWS = {
    "template_save": (lambda v, o, m: edit_url(v), lambda: {"body": "Vé: {url}", "action": "save"}),
    "template_reset": (
        lambda v, o, m: reverse("staff_messages:template_reset", args=[v.slug, K.CONFIRMATION, "vi"]),
        lambda: {},
    ),
    "sms_policy": (
        lambda v, o, m: reverse("staff_messages:sms_policy", args=[v.slug]),
        lambda: {"without_diacritics": "on", "monthly_cap": "1000"},
    ),
    "staff_message": (
        lambda v, o, m: reverse("staff_messages:staff_message", args=[o.pk]),
        lambda: {"body": "Mang theo thẻ.", "audience": "all", "token": uuid.uuid4().hex, "action": "send"},
    ),
    "resend": (lambda v, o, m: reverse("staff_messages:message_resend", args=[m.pk]), lambda: {"n": "0"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", GET_VIEWS)
def test_get_views_by_role(client, request, venue, occurrence, failed_message, view, role):
    # given a venue with a date and a failed message, and a user in some role
    login_as(client, request, role)
    url, expected = GET_VIEWS[view]

    # when they open the page
    response = client.get(url(venue, occurrence, failed_message))

    # then readers read, only managers edit, and an outsider does not learn the venue exists
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected[role]


def _state(venue, occurrence, failed_message):
    return (
        tuple(MessageTemplate.objects.filter(venue=venue).values_list("body", flat=True)),
        SmsPolicy.objects.filter(venue=venue).exists(),
        Message.objects.filter(kind=K.STAFF).count(),
        Message.objects.filter(dedupe_key__startswith=f"resend:{failed_message.pk}:").count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", POST_VIEWS)
def test_writes_by_role(client, request, venue, occurrence, failed_message, view, role):
    # given a venue with registrants, a template and a failed message, and a user in some role
    MessageTemplate.objects.create(venue=venue, kind=K.CONFIRMATION, language="vi", body="Đã đăng ký {title}")
    login_as(client, request, role)
    url, data = POST_VIEWS[view]
    before = _state(venue, occurrence, failed_message)

    # when they change something
    response = client.post(url(venue, occurrence, failed_message), data())

    # then only the manager may, and nothing changes for anyone else
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == MANAGE_POST[role]
    assert (_state(venue, occurrence, failed_message) != before) == (role == "owner")


def test_unknown_kind_or_language_is_404(client, owner, venue):
    client.force_login(owner)
    assert client.get(edit_url(venue, kind="staff")).status_code == 404
    assert client.get(edit_url(venue, kind="nonsense")).status_code == 404
    assert client.get(edit_url(venue, language="fr")).status_code == 404


def test_resend_and_reset_need_post(client, owner, venue, failed_message):
    client.force_login(owner)
    assert client.get(reverse("staff_messages:message_resend", args=[failed_message.pk])).status_code == 405
    reset = reverse("staff_messages:template_reset", args=[venue.slug, K.CONFIRMATION, "vi"])
    assert client.get(reset).status_code == 405


def test_message_of_another_venue_is_404_for_resend(client, outsider, failed_message):
    client.force_login(outsider)
    response = client.post(reverse("staff_messages:message_resend", args=[failed_message.pk]), {"n": "0"})
    assert response.status_code == 404


# --- templates: the editor ---------------------------------------------------


def test_editor_lists_every_kind_sent_to_registrants(en_client, owner, venue):
    # given the venue's manager
    en_client.force_login(owner)

    # when they open the list of templates
    response = en_client.get(reverse("staff_messages:template_list", args=[venue.slug]))

    # then every kind sent to registrants is there, in Vietnamese and English, with its count
    html = response.content.decode()
    for kind in (
        "confirmation", "waiting", "promoted", "pending", "declined", "cancelled", "reminder",
        "occurrence_cancelled", "occurrence_moved",
    ):
        assert f'id="kind-{kind}"' in html
        assert edit_url(venue, kind, "vi") in html and edit_url(venue, kind, "en") in html
    assert "UCS-2" in html and "Built-in text" in html
    assert '<th scope="col">Vietnamese</th>' in html and '<th scope="col">English</th>' in html


def test_editor_shows_the_built_in_text_and_the_counter(en_client, owner, venue):
    # given the venue's manager and no template of the venue
    en_client.force_login(owner)

    # when they open the editor of the confirmation in Vietnamese
    response = en_client.get(edit_url(venue))

    # then the textarea holds the built-in text, with the server's count, the preview and the script
    html = response.content.decode()
    builtin = builtin_template(K.CONFIRMATION, "vi")
    assert "{title}" in builtin and response.context["form"].initial["body"] == builtin
    expected = sms_prepare(fill(builtin, sample_values(venue=venue)))
    assert counter_text(expected) in html
    assert expected.text in html  # the preview
    assert "/static/staff/sms-counter.js" in html
    assert 'data-sms-counter' in html and 'data-allowed="title when venue url name"' in html


def test_saving_a_vietnamese_template_shows_ucs2_and_segments(en_client, owner, venue):
    # given the venue's manager, who sends with diacritics
    en_client.force_login(owner)
    body = "Đã đăng ký {title} lúc {when} tại {venue}. Vé của bạn: {url} Xin cảm ơn!"

    # when they save a Vietnamese text
    response = en_client.post(edit_url(venue), {"body": body, "action": "save"}, follow=True)

    # then it is saved, and the count on save says UCS-2 and how many segments
    template = MessageTemplate.objects.get(venue=venue, kind=K.CONFIRMATION, language="vi")
    assert template.body == body and template.updated_by == owner
    sms = sms_prepare(fill(body, sample_values(venue=venue)))
    assert sms.encoding == "UCS-2" and sms.segments >= 2
    [message] = _messages(response)
    assert "Saved" in message and "UCS-2" in message and f"{sms.segments} segments" in message
    assert counter_text(sms) in response.content.decode()


def test_saving_without_diacritics_shows_gsm7(en_client, owner, venue):
    # given a venue that sends without diacritics
    SmsPolicy.objects.create(venue=venue, without_diacritics=True)
    en_client.force_login(owner)
    body = "Đã đăng ký {title} lúc {when} tại {venue}. Vé: {url}"

    # when its manager saves a Vietnamese text
    response = en_client.post(edit_url(venue), {"body": body, "action": "save"}, follow=True)

    # then the count is GSM-7, in fewer segments, and the preview has no diacritics
    sms = sms_prepare(fill(body, sample_values(venue=venue)), without_diacritics=True)
    with_diacritics = sms_prepare(fill(body, sample_values(venue=venue)))
    assert sms.encoding == "GSM-7" and sms.segments < with_diacritics.segments
    [message] = _messages(response)
    assert "GSM-7" in message and counter_text(sms) in message
    assert "Da dang ky Ngay Sach va Van hoa doc Viet Nam" in response.content.decode()


def test_unknown_placeholder_is_a_clear_error(en_client, owner, venue):
    # given the venue's manager
    en_client.force_login(owner)

    # when they save a text with a placeholder that does not exist
    response = en_client.post(edit_url(venue), {"body": "Chào {ten}, vé: {url}", "action": "save"})

    # then the page says which one and what may be used, and nothing is saved
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unknown placeholder {ten}" in html and "{title}" in html
    assert not MessageTemplate.objects.filter(venue=venue).exists()


def test_placeholder_of_another_kind_is_refused(en_client, owner, venue):
    # given the venue's manager
    en_client.force_login(owner)

    # when they use the waiting-list position in the confirmation
    response = en_client.post(edit_url(venue), {"body": "Số {position}", "action": "save"})

    # then it is refused, while the waiting-list message accepts it
    assert response.status_code == 200
    assert "{position} cannot be used in this message" in response.content.decode()
    response = en_client.post(edit_url(venue, K.WAITING), {"body": "Số {position}: {title}", "action": "save"})
    assert response.status_code == 302
    assert MessageTemplate.objects.get(venue=venue, kind=K.WAITING).body == "Số {position}: {title}"


def test_empty_text_is_refused(owner, client, venue):
    client.force_login(owner)
    response = client.post(edit_url(venue), {"body": "  ", "action": "save"})
    assert response.status_code == 200 and response.context["form"].errors
    assert not MessageTemplate.objects.exists()


def test_preview_without_javascript_counts_without_saving(en_client, owner, venue):
    # given the venue's manager, in a browser without JavaScript
    en_client.force_login(owner)
    body = "Nhắc: {title}\r\n{when}"

    # when they press Preview
    response = en_client.post(edit_url(venue), {"body": body, "action": "preview"})

    # then the server's count and preview of the text typed are shown (CRLF counted as one), nothing saved
    assert response.status_code == 200
    sms = sms_prepare(fill("Nhắc: {title}\n{when}", sample_values(venue=venue)))
    assert response.context["counter_text"] == counter_text(sms)
    assert response.context["preview"] == sms.text
    assert not MessageTemplate.objects.exists()


def test_reset_goes_back_to_the_built_in_text(en_client, owner, venue):
    # given a venue with its own confirmation text
    MessageTemplate.objects.create(venue=venue, kind=K.CONFIRMATION, language="vi", body="Của venue: {url}")
    en_client.force_login(owner)

    # when its manager resets it
    url = reverse("staff_messages:template_reset", args=[venue.slug, K.CONFIRMATION, "vi"])
    response = en_client.post(url, follow=True)

    # then the built-in text is used again
    assert not MessageTemplate.objects.filter(venue=venue).exists()
    assert response.context["form"].initial["body"] == builtin_template(K.CONFIRMATION, "vi")
    assert "Back to the built-in text" in _messages(response)[0]


def test_saving_the_built_in_text_keeps_the_built_in_text(owner, client, venue):
    client.force_login(owner)
    client.post(edit_url(venue), {"body": builtin_template(K.CONFIRMATION, "vi"), "action": "save"})
    assert not MessageTemplate.objects.exists()


# --- templating ----------------------------------------------------------------


def test_without_template_the_built_in_text_is_sent_in_the_registrants_language(occurrence, registrants):
    # given registrants in Vietnamese and in English, and no venue template
    vietnamese, english = registrants["confirmed"]
    v, e = registration_values(vietnamese), registration_values(english)

    # when the text of a confirmation is made through the templates
    # then it is the built-in text, filled, in each registrant's language
    assert registration_message_text(vietnamese, K.CONFIRMATION) == (
        f"Đã đăng ký: {v['title']}, {v['when']} tại {v['venue']}. Vé: {v['url']}"
    )
    assert registration_message_text(english, K.CONFIRMATION) == (
        f"Registered: {e['title']}, {e['when']} at {e['venue']}. Ticket: {e['url']}"
    )
    waiting = registrants["waiting"]
    assert registration_message_text(waiting, K.WAITING, position=1).startswith("Danh sách chờ số 1: ")


def test_venue_template_is_filled_in_the_registrants_language(venue, other_venue, occurrence, registrants):
    # given a Vietnamese template at the venue only
    MessageTemplate.objects.create(
        venue=venue, kind=K.CONFIRMATION, language="vi", body="Chào {name}! {title} lúc {when} tại {venue}: {url}"
    )
    vietnamese, english = registrants["confirmed"]

    # when the confirmation texts are made
    text = registration_message_text(vietnamese, K.CONFIRMATION)

    # then the Vietnamese registrant gets the venue's text filled, the English one the built-in English text
    values = registration_values(vietnamese)
    assert text == f"Chào Trần Thị Bình! {values['title']} lúc {values['when']} tại {venue.name}: {values['url']}"
    assert values["url"] == settings.SITE_URL + vietnamese.ticket.get_absolute_url()
    assert values["when"] == timezone.localtime(occurrence.start).strftime("%H:%M %d/%m/%Y")
    assert registration_message_text(english, K.CONFIRMATION).startswith("Registered: ")
    # and another venue is not affected
    assert message_text(K.CONFIRMATION, venue=other_venue, language="vi", values=values).startswith("Đã đăng ký")


def test_fill_never_reaches_attributes():
    # given a template with format tricks and unknown braces
    body = "{title.__class__} {title} {0} {} {{title}} {optout}"

    # when it is filled
    text = fill(body, {"title": "Sách", "optout": None})

    # then only known placeholders are replaced, a missing value is empty, the rest is left as typed
    assert text == "{title.__class__} Sách {0} {} {Sách} "


def test_template_errors_name_the_wrong_placeholders():
    assert template_errors("{title} {when} {venue} {url} {name}", K.CONFIRMATION) == []
    assert template_errors("{optout}", K.REMINDER) == []
    # each wrong placeholder once, in order; "{ title }" with spaces is not {title}
    errors = template_errors("{ title } {ten} {ten}", K.CONFIRMATION)
    assert len(errors) == 2 and "{ title }" in errors[0] and "{ten}" in errors[1]


# --- SMS policy ----------------------------------------------------------------


def test_policy_page_explains_the_cost_and_saves(en_client, owner, venue):
    # given the venue's manager
    en_client.force_login(owner)

    # when they open the SMS settings
    response = en_client.get(reverse("staff_messages:sms_policy", args=[venue.slug]))

    # then the page explains 160 against 70 characters, with the same confirmation counted both ways
    html = response.content.decode()
    assert "160" in html and "70" in html
    with_, without = response.context["examples"]
    assert "UCS-2" in with_["counter_text"] and "GSM-7" in without["counter_text"]

    # when they choose to send without diacritics, with a cap
    response = en_client.post(
        reverse("staff_messages:sms_policy", args=[venue.slug]), {"without_diacritics": "on", "monthly_cap": "5000"}
    )

    # then it is saved
    assert response.status_code == 302
    policy = SmsPolicy.objects.get(venue=venue)
    assert policy.without_diacritics and policy.monthly_cap == 5000


def test_policy_rejects_a_negative_cap(owner, client, venue):
    client.force_login(owner)
    response = client.post(reverse("staff_messages:sms_policy", args=[venue.slug]), {"monthly_cap": "-1"})
    assert response.status_code == 200 and response.context["form"].errors
    assert not SmsPolicy.objects.exists()


# --- a date cancelled or moved by the venue ----------------------------------------


def _active(registrants):
    return [*registrants["confirmed"], registrants["pending"], registrants["waiting"]]


def test_cancelling_a_date_tells_every_active_registrant_once(occurrence, registrants):
    # given a date with confirmed, pending and waiting registrants, and a cancelled one
    active = _active(registrants)

    # when the venue cancels the date
    occurrence_cancel(occurrence=occurrence)

    # then each active registrant gets one message, the cancelled one none
    sent = Message.objects.filter(kind=K.OCCURRENCE_CANCELLED)
    assert sorted(sent.values_list("registration_id", flat=True)) == sorted(r.pk for r in active)
    english = registrants["confirmed"][1]
    for message in sent:
        assert message.dedupe_key == f"occurrence:{occurrence.pk}:cancelled:{message.registration_id}:0"
        assert message.venue == occurrence.venue and message.occurrence == occurrence
        assert message.status == Message.Status.PENDING and message.segments >= 1
    assert sent.get(registration=english).body.startswith("Cancelled by the venue: ")
    assert sent.get(registration=registrants["confirmed"][0]).language == "vi"

    # when it is cancelled again
    occurrence_cancel(occurrence=occurrence)

    # then nothing more is recorded
    assert Message.objects.filter(kind=K.OCCURRENCE_CANCELLED).count() == len(active)


def test_moving_twice_tells_each_registrant_twice(occurrence, registrants):
    # given a date with active registrants
    active = _active(registrants)
    start = occurrence.start

    # when the venue moves it, then moves it again
    occurrence_move(occurrence=occurrence, start=start + dt.timedelta(hours=1), end=occurrence.end + dt.timedelta(hours=1))
    later = start + dt.timedelta(days=1)
    occurrence_move(occurrence=occurrence, start=later, end=later + dt.timedelta(hours=2))

    # then each active registrant has two messages, the second with the new time
    for registration in active:
        messages = Message.objects.filter(kind=K.OCCURRENCE_MOVED, registration=registration).order_by("pk")
        assert [m.dedupe_key for m in messages] == [
            f"occurrence:{occurrence.pk}:moved:{registration.pk}:0",
            f"occurrence:{occurrence.pk}:moved:{registration.pk}:1",
        ]
        assert timezone.localtime(later).strftime("%H:%M %d/%m/%Y") in messages[1].body
    assert not Message.objects.filter(kind=K.OCCURRENCE_MOVED, registration=registrants["cancelled"]).exists()


def test_a_date_change_uses_the_venue_template(venue, occurrence, registrants):
    # given the venue's own wording of a moved date
    MessageTemplate.objects.create(
        venue=venue, kind=K.OCCURRENCE_MOVED, language="vi", body="Đổi giờ: {title} nay là {when}. {name}"
    )

    # when the date is moved
    later = occurrence.start + dt.timedelta(days=2)
    occurrence_move(occurrence=occurrence, start=later, end=later + dt.timedelta(hours=1))

    # then Vietnamese registrants get it, English ones the built-in English text
    vietnamese, english = registrants["confirmed"]
    body = Message.objects.get(kind=K.OCCURRENCE_MOVED, registration=vietnamese).body
    assert body.startswith("Đổi giờ: ") and body.endswith("Trần Thị Bình")
    assert Message.objects.get(kind=K.OCCURRENCE_MOVED, registration=english).body.startswith("New time: ")


def test_cancelling_a_programme_tells_the_registrants_of_its_dates(occurrence, registrants):
    programme_cancel(programme=occurrence.programme)
    assert Message.objects.filter(kind=K.OCCURRENCE_CANCELLED).count() == len(_active(registrants))


def test_erased_registrants_are_skipped(occurrence, registrants):
    Registration.objects.filter(pk=registrants["waiting"].pk).update(phone="", full_name="")
    occurrence_cancel(occurrence=occurrence)
    assert Message.objects.filter(kind=K.OCCURRENCE_CANCELLED).count() == len(_active(registrants)) - 1


def test_a_date_already_over_is_not_told(occurrence, registrants):
    past = timezone.now() - dt.timedelta(days=2)
    type(occurrence).objects.filter(pk=occurrence.pk).update(start=past, end=past + dt.timedelta(hours=1))
    occurrence.refresh_from_db()
    assert staff_services.occurrence_change_notify(occurrence=occurrence, change="cancelled") == 0


# --- a message from staff ----------------------------------------------------------


def _staff_post(client, occurrence, **data):
    payload = {"body": "Chào {name}, nhớ mang thẻ thư viện.", "audience": "confirmed", "token": uuid.uuid4().hex}
    payload.update(data)
    return client.post(reverse("staff_messages:staff_message", args=[occurrence.pk]), payload)


def test_staff_message_to_confirmed_registrants(en_client, owner, occurrence, registrants):
    # given the venue's manager and a date with registrants
    en_client.force_login(owner)
    token = uuid.uuid4().hex

    # when they write to the confirmed registrants
    response = _staff_post(en_client, occurrence, token=token, action="send")

    # then one staff message per confirmed registrant is recorded, filled with their name
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_messages:occurrence_log", args=[occurrence.pk])
    sent = Message.objects.filter(kind=K.STAFF).order_by("registration_id")
    assert [m.registration for m in sent] == registrants["confirmed"]
    assert sent[0].body == "Chào Trần Thị Bình, nhớ mang thẻ thư viện."
    assert sent[0].dedupe_key == f"staff:{occurrence.pk}:{token}:{registrants['confirmed'][0].pk}"

    # when the same form is sent again (a double click)
    response = _staff_post(en_client, occurrence, token=token, action="send")

    # then nothing more is recorded, and staff are told
    assert Message.objects.filter(kind=K.STAFF).count() == 2
    assert "already sent" in _messages(en_client.get(response["Location"]))[-1]


@pytest.mark.parametrize("audience, expected", [("waiting", ["waiting"]), ("all", ["confirmed", "pending", "waiting"])])
def test_staff_message_audiences(client, owner, occurrence, registrants, audience, expected):
    client.force_login(owner)
    _staff_post(client, occurrence, audience=audience, action="send")
    wanted = []
    for key in expected:
        wanted += registrants[key] if isinstance(registrants[key], list) else [registrants[key]]
    assert sorted(Message.objects.filter(kind=K.STAFF).values_list("registration_id", flat=True)) == sorted(
        r.pk for r in wanted
    )


def test_staff_message_preview_and_errors_record_nothing(en_client, owner, occurrence, registrants):
    en_client.force_login(owner)
    # preview: the count for every recipient, nothing recorded
    response = _staff_post(en_client, occurrence, action="preview", audience="all")
    assert response.status_code == 200 and response.context["recipients"] == 4
    # an unknown placeholder: a clear error
    response = _staff_post(en_client, occurrence, body="Chào {ho_ten}", action="send")
    assert response.status_code == 200 and "Unknown placeholder {ho_ten}" in response.content.decode()
    assert not Message.objects.filter(kind=K.STAFF).exists()


def test_staff_message_page_counts_recipients(en_client, owner, occurrence, registrants):
    en_client.force_login(owner)
    response = en_client.get(reverse("staff_messages:staff_message", args=[occurrence.pk]))
    assert response.context["counts"] == {"confirmed": 2, "waiting": 1, "all": 4}
    assert 'id="sms-recipients"' in response.content.decode()


# --- the log and resend ------------------------------------------------------------


def test_log_shows_phones_to_venue_staff_and_masks_them_for_officers(client, teammate, officer, failed_message):
    url = reverse("staff_messages:occurrence_log", args=[failed_message.occurrence_id])
    shown = phone_display(failed_message.recipient)

    # given door staff: the phone number, the failure and the cost, but no resend button
    client.force_login(teammate)
    html = client.get(url).content.decode()
    assert shown in html and "21211 invalid number" in html
    assert reverse("staff_messages:message_resend", args=[failed_message.pk]) not in html

    # given the province's officer: the counts and the cost, the number masked
    client.force_login(officer)
    response = client.get(url)
    html = response.content.decode()
    assert shown not in html and failed_message.recipient not in html
    assert "••••••" + failed_message.recipient[-2:] in html
    assert response.context["totals"]["segments"] >= 2


def test_log_filters_by_status(client, owner, venue, failed_message):
    client.force_login(owner)
    url = reverse("staff_messages:venue_log", args=[venue.slug])
    failed = client.get(url + "?status=failed").context["rows"]
    assert [m.pk for m in failed] == [failed_message.pk]
    assert all(m.status == "pending" for m in client.get(url + "?status=pending").context["rows"])
    assert client.get(url + "?status=nonsense").context["status"] == ""


def test_resend_a_failed_message(en_client, owner, failed_message):
    # given a failed message and the venue's manager
    en_client.force_login(owner)
    url = reverse("staff_messages:message_resend", args=[failed_message.pk])

    # when they send it again
    response = en_client.post(url, {"n": "0"}, follow=True)

    # then a copy is recorded, pending, and the failed one stays as it was
    copy = Message.objects.get(dedupe_key=f"resend:{failed_message.pk}:0")
    assert (copy.recipient, copy.body, copy.kind, copy.registration, copy.occurrence, copy.venue) == (
        failed_message.recipient, failed_message.body, failed_message.kind,
        failed_message.registration, failed_message.occurrence, failed_message.venue,
    )
    assert copy.status == Message.Status.PENDING and copy.pk != failed_message.pk
    failed_message.refresh_from_db()
    assert failed_message.status == Message.Status.FAILED
    assert "sent again" in _messages(response)[0]

    # when the same button is pressed twice
    en_client.post(url, {"n": "0"})

    # then no second copy; the next resend (n=1) is a new copy
    assert Message.objects.filter(dedupe_key__startswith=f"resend:{failed_message.pk}:").count() == 1
    en_client.post(url, {"n": "1"})
    assert Message.objects.filter(dedupe_key__startswith=f"resend:{failed_message.pk}:").count() == 2


def test_a_message_that_did_not_fail_is_not_resent(en_client, owner, failed_message):
    Message.objects.filter(pk=failed_message.pk).update(status=Message.Status.DELIVERED)
    en_client.force_login(owner)
    response = en_client.post(reverse("staff_messages:message_resend", args=[failed_message.pk]), follow=True)
    assert "Only a message that failed" in _messages(response)[0]
    assert not Message.objects.filter(dedupe_key__startswith="resend:").exists()


# --- monthly count and cost --------------------------------------------------------


def _sms(venue, when, *, segments=1, status=Message.Status.DELIVERED, channel=Message.Channel.SMS):
    message = Message.objects.create(
        channel=channel, recipient=next_phone(), kind=K.REMINDER, body="x", venue=venue,
        segments=segments, cost=sms_cost(segments), status=status,
    )
    Message.objects.filter(pk=message.pk).update(created_at=when)
    return message


def test_monthly_totals_for_the_last_12_months(venue, other_venue, django_assert_num_queries):
    # given messages of the venue over more than a year, one just after midnight in Vietnam
    now = dt.datetime(2026, 5, 15, 10, 0, tzinfo=HCM)
    _sms(venue, dt.datetime(2026, 5, 2, 8, 0, tzinfo=HCM), segments=2)
    _sms(venue, dt.datetime(2026, 5, 3, 8, 0, tzinfo=HCM), segments=3, status=Message.Status.FAILED)
    # 31/03 17:30 UTC is 01/04 00:30 in Vietnam: April
    _sms(venue, dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.timezone.utc), segments=1)
    _sms(venue, dt.datetime(2025, 6, 1, 0, 5, tzinfo=HCM), segments=4)  # the oldest month shown
    _sms(venue, dt.datetime(2025, 5, 31, 23, 0, tzinfo=HCM), segments=5)  # 13 months ago: not shown
    _sms(other_venue, dt.datetime(2026, 5, 2, 8, 0, tzinfo=HCM), segments=7)
    _sms(venue, dt.datetime(2026, 5, 2, 8, 0, tzinfo=HCM), channel=Message.Channel.EMAIL)

    # when the totals are read
    with django_assert_num_queries(1):
        months = staff_services.monthly_totals(venue=venue, now=now)

    # then there are 12 months, oldest first, counted in Vietnam time, failed ones apart
    assert [m.month for m in months] == [dt.date(2025, 6, 1)] + [
        dt.date(2025 + (5 + i) // 12, (5 + i) % 12 + 1, 1) for i in range(1, 12)
    ]
    by_month = {m.month: m for m in months}
    may, april, march, june = (by_month[dt.date(2026, 5, 1)], by_month[dt.date(2026, 4, 1)],
                               by_month[dt.date(2026, 3, 1)], by_month[dt.date(2025, 6, 1)])
    assert (may.messages, may.segments, may.cost, may.failed) == (1, 2, sms_cost(2), 1)
    assert (april.messages, april.segments) == (1, 1)
    assert march.messages == 0
    assert (june.messages, june.segments) == (1, 4)
    assert sum(m.cost for m in months) == sms_cost(7)
    assert isinstance(may.cost, Decimal)


def test_venue_log_shows_the_monthly_count(en_client, officer, venue):
    _sms(venue, timezone.now(), segments=3)
    en_client.force_login(officer)
    response = en_client.get(reverse("staff_messages:venue_log", args=[venue.slug]))
    months = response.context["months"]
    assert len(months) == 12 and months[-1].segments == 3
    html = response.content.decode()
    assert timezone.localtime(timezone.now()).strftime("%m/%Y") in html
    assert response.context["months_total"]["messages"] == 1


# --- admin ---------------------------------------------------------------------------


def test_admin_pages(client, django_user_model, failed_message, venue):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(admin)
    MessageTemplate.objects.create(venue=venue, kind=K.CONFIRMATION, language="vi", body="{title}")
    SmsPolicy.objects.create(venue=venue)
    for name in ("message", "messagetemplate", "smspolicy", "smsoptout"):
        assert client.get(reverse(f"admin:notifications_{name}_changelist")).status_code == 200
    # the outbox is read-only
    assert client.get(reverse("admin:notifications_message_change", args=[failed_message.pk])).status_code == 200
    assert client.get(reverse("admin:notifications_message_add")).status_code == 403
    # a template with an unknown placeholder is refused
    response = client.post(
        reverse("admin:notifications_messagetemplate_add"),
        {"venue": venue.pk, "kind": K.WAITING, "language": "vi", "body": "{ten}"},
    )
    assert response.status_code == 200 and "{ten}" in response.content.decode()
