"""The citizen's pages: register for a date (alone or as a group), the ticket page
with its QR code and cancel button, "Find my tickets", and the throttles on them."""

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlparse

import pytest
import zxingcpp
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from attendance import services
from attendance.models import Registration, Ticket
from attendance.services import ticket_redeem
from events.models import Occurrence
from events.services import occurrence_cancel, programme_cancel
from notifications.models import Message
from tests.attendance_helpers import make_occurrence, register
from tests.factories import make_programme

S = Registration.Status
EN = {"django_language": "en"}


@pytest.fixture(autouse=True)
def clear_cache():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def en_client(client):
    client.cookies.load(EN)
    return client


def register_url(occurrence, **query):
    url = reverse("attendance:register", args=[occurrence.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def form_data(**overrides):
    data = {
        "full_name": "Nguyễn Thị Bình",
        "phone": "0912 345 678",
        "email": "",
        "party_size": "2",
        "sms_opt_in": "on",
        "consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def error_codes(response, field):
    return [error.code for error in response.context["form"].errors.as_data().get(field, [])]


def seats(occurrence):
    occurrence.refresh_from_db()
    return occurrence.seats_taken


# --- registration -------------------------------------------------------------------------


def test_the_form_shows_seats_left_consent_text_and_a_link_back(en_client, venue, settings):
    # given
    settings.PERSONAL_DATA_RETENTION_DAYS = 90
    occurrence = make_occurrence(venue=venue, capacity=10, max_party_size=3)
    register(occurrence, party_size=3)

    # when
    response = en_client.get(register_url(occurrence))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "7 seats left" in html
    assert occurrence.get_absolute_url() in html
    assert "Decree 13/2023/NĐ-CP" in html and "erased 90 days after the event" in html
    form = response.context["form"]
    assert [value for value, _label in form.fields["party_size"].choices] == [1, 2, 3]
    assert form["sms_opt_in"].value() is True
    assert 'type="tel"' in html


def test_registering_through_the_form_redirects_to_the_ticket_with_its_qr_code(en_client, venue):
    # given
    occurrence = make_occurrence(venue=venue, capacity=10)

    # when
    response = en_client.post(register_url(occurrence), form_data(language="ignored"))

    # then
    registration = Registration.objects.get()
    assert (registration.status, registration.phone, registration.party_size) == (S.CONFIRMED, "+84912345678", 2)
    assert registration.language == "en" and registration.sms_opt_in
    assert response.status_code == 302
    assert response["Location"] == registration.ticket.get_absolute_url()
    page = en_client.get(response["Location"])
    html = page.content.decode()
    assert page.context["registration"].status == S.CONFIRMED
    assert reverse("attendance:ticket_qr_png", args=[registration.ticket.secret]) in html
    local_start = timezone.localtime(occurrence.start)
    assert local_start.strftime("%d/%m/%Y %H:%M") in html
    assert seats(occurrence) == 2


def test_the_registration_language_is_the_page_language(client, venue):
    # given: no language chosen, so Vietnamese
    occurrence = make_occurrence(venue=venue)

    # when
    client.post(register_url(occurrence), form_data())

    # then
    assert Registration.objects.get().language == "vi"


def test_sms_opt_in_can_be_unticked(client, venue):
    occurrence = make_occurrence(venue=venue)
    client.post(register_url(occurrence), form_data(sms_opt_in=None))
    assert Registration.objects.get().sms_opt_in is False


@pytest.mark.parametrize("without_diacritics", [None, False, True])
def test_the_confirmation_follows_the_venue_sms_policy_read_with_the_page(client, venue, without_diacritics):
    # given a venue with no SMS policy, or one that keeps or drops diacritics
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.models import SmsPolicy

    if without_diacritics is not None:
        SmsPolicy.objects.create(venue=venue, without_diacritics=without_diacritics)
    occurrence = make_occurrence(venue=venue)

    # when a citizen registers through the form
    with CaptureQueriesContext(connection) as queries:
        client.post(register_url(occurrence), form_data())

    # then the confirmation is encoded as the policy says, and the policy came with
    # the page's own read of the date instead of a query of its own
    message = Message.objects.get(channel=Message.Channel.SMS)
    assert message.encoding == ("GSM-7" if without_diacritics else "UCS-2")
    assert not [q for q in queries if 'FROM "notifications_smspolicy"' in q["sql"]]


def test_a_full_date_announces_the_waiting_list_and_the_ticket_shows_the_position(en_client, venue):
    # given: two seats, both taken
    occurrence = make_occurrence(venue=venue, capacity=2)
    register(occurrence, party_size=2)

    # when
    form_page = en_client.get(register_url(occurrence))
    response = en_client.post(register_url(occurrence), form_data(party_size="1"), follow=True)

    # then
    assert "you will join the waiting list" in form_page.content.decode()
    registration = Registration.objects.get(phone="+84912345678")
    assert registration.status == S.WAITING
    assert response.context["position"] == 1
    assert "you are number 1" in response.content.decode()
    assert response.context["show_qr"] is False
    qr = en_client.get(reverse("attendance:ticket_qr_png", args=[registration.ticket.secret]))
    assert qr.status_code == 404


def test_the_same_phone_from_the_same_browser_gets_its_ticket_back_with_a_note(en_client, venue):
    # given
    occurrence = make_occurrence(venue=venue)
    first = en_client.post(register_url(occurrence), form_data())

    # when: the same number, written another way
    again = en_client.post(register_url(occurrence), form_data(phone="+84 912-345-678", party_size="1"), follow=True)

    # then
    assert Registration.objects.count() == 1
    assert again.redirect_chain[-1][0] == first["Location"]
    assert "You were already registered" in again.content.decode()
    assert seats(occurrence) == 2


def test_registering_remembers_the_browser_in_a_signed_cookie_not_a_session(en_client, venue):
    from django.contrib.sessions.models import Session

    # given a citizen without a session
    occurrence = make_occurrence(venue=venue)

    # when they register
    response = en_client.post(register_url(occurrence), form_data())

    # then no session row is written, and the browser keeps a signed list of what it registered
    assert response.status_code == 302
    assert not Session.objects.exists()
    cookie = response.cookies["registrations"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert str(Registration.objects.get().pk) in cookie.value


def test_an_altered_registrations_cookie_does_not_open_someone_elses_ticket(en_client, venue):
    # given someone else's registration, and a browser whose cookie claims it without a valid signature
    occurrence = make_occurrence(venue=venue)
    Client().post(register_url(occurrence), form_data())
    registration = Registration.objects.get()
    en_client.cookies["registrations"] = f"{registration.pk}:forged-signature"

    # when that browser types the same phone
    response = en_client.post(register_url(occurrence), form_data(), follow=True)

    # then it is not shown the ticket: the link goes to the phone by SMS
    assert response.redirect_chain[-1][0] == reverse("attendance:ticket_lookup_sent")
    assert registration.ticket.secret not in response.content.decode()


def test_the_same_phone_from_another_browser_gets_the_link_by_sms_not_the_ticket(venue):
    # given: registered on one phone
    occurrence = make_occurrence(venue=venue)
    owner = Client()
    owner.post(register_url(occurrence), form_data())
    ticket = Ticket.objects.get()

    # when: someone else types the same number
    stranger = Client()
    stranger.cookies.load(EN)
    response = stranger.post(register_url(occurrence), form_data(full_name="Someone Else"), follow=True)

    # then: no second registration, no ticket shown, a link sent to the number
    assert Registration.objects.count() == 1
    assert response.redirect_chain[-1][0] == reverse("attendance:ticket_lookup_sent")
    assert ticket.secret not in response.content.decode()
    assert "already registered" in response.content.decode()
    lookup = Message.objects.get(kind=Message.Kind.TICKET_LOOKUP)
    assert lookup.recipient == "+84912345678"


def test_an_invalid_phone_is_a_form_error_and_nothing_is_created(en_client, venue):
    # given
    occurrence = make_occurrence(venue=venue)

    # when
    response = en_client.post(register_url(occurrence), form_data(phone="12345"))

    # then
    assert response.status_code == 200
    assert error_codes(response, "phone") == ["invalid_phone"]
    assert "Example: 0912 345 678" in response.content.decode()
    assert not Registration.objects.exists() and not Message.objects.exists()


def test_without_consent_nothing_is_created(en_client, venue):
    occurrence = make_occurrence(venue=venue)
    response = en_client.post(register_url(occurrence), form_data(consent=None))
    assert response.status_code == 200
    assert error_codes(response, "consent") == ["consent_required"]
    assert "Please agree to the processing" in response.content.decode()
    assert not Registration.objects.exists()


def test_a_service_refusal_is_shown_on_its_field(en_client, venue):
    # given: a group of 5 for a date of 4 seats in all
    occurrence = make_occurrence(venue=venue, capacity=4, group_bookings=True)

    # when: the group form caps at the capacity
    response = en_client.post(
        register_url(occurrence, group=1), form_data(organisation="Lớp 6A", party_size="5")
    )

    # then
    assert response.status_code == 200
    assert error_codes(response, "party_size") == ["max_value"]
    assert not Registration.objects.exists()


def test_vietnamese_errors_by_default(client, venue):
    occurrence = make_occurrence(venue=venue)
    response = client.post(register_url(occurrence), form_data(consent=None))
    assert response.status_code == 200
    assert response.context["LANGUAGE_CODE"] == "vi"
    assert error_codes(response, "consent") == ["consent_required"]


def test_a_school_class_registers_with_the_group_form(en_client, venue):
    # given: a museum visit that takes groups, approved by staff
    occurrence = make_occurrence(venue=venue, capacity=40, group_bookings=True, group_approval_required=True)

    # when
    form_page = en_client.get(register_url(occurrence, group=1))
    response = en_client.post(
        register_url(occurrence, group=1),
        form_data(organisation="Lớp 6A, THCS Hiến Nam", full_name="Cô Lan", phone="0987 654 321", party_size="32"),
        follow=True,
    )

    # then
    assert form_page.context["group"] is True
    assert "organisation" in form_page.context["form"].fields
    registration = Registration.objects.get()
    assert (registration.kind, registration.organisation, registration.party_size) == (
        Registration.Kind.GROUP, "Lớp 6A, THCS Hiến Nam", 32,
    )
    assert registration.status == S.PENDING
    html = response.content.decode()
    assert response.context["show_qr"] is False
    assert "Awaiting approval by the venue" in html and "Lớp 6A, THCS Hiến Nam" in html
    assert seats(occurrence) == 32


def test_the_group_form_is_not_offered_when_the_programme_takes_no_groups(en_client, venue):
    occurrence = make_occurrence(venue=venue)
    response = en_client.get(register_url(occurrence, group=1))
    assert response.context["group"] is False
    assert 'href="?group=1"' not in response.content.decode()


def _cancelled_date(venue):
    occurrence = make_occurrence(venue=venue)
    return occurrence_cancel(occurrence=occurrence)


def _cancelled_programme(venue):
    occurrence = make_occurrence(venue=venue)
    programme_cancel(programme=occurrence.programme)
    return occurrence


@pytest.mark.parametrize(
    "build, code",
    [
        (_cancelled_date, "cancelled"),
        (_cancelled_programme, "not_open"),
        (lambda venue: make_occurrence(venue=venue, days_ahead=-1), "started"),
        (lambda venue: make_occurrence(venue=venue, registration_required=False), "walk_in_only"),
        (lambda venue: make_occurrence(venue=venue, days_ahead=10, registration_opens_days=3), "not_yet_open"),
        (lambda venue: make_occurrence(venue=venue, days_ahead=1, registration_closes_minutes=3 * 24 * 60), "closed"),
    ],
)
def test_a_date_that_takes_no_registrations_shows_why_instead_of_the_form(en_client, venue, build, code):
    # given
    occurrence = build(venue)

    # when
    shown = en_client.get(register_url(occurrence))
    posted = en_client.post(register_url(occurrence), form_data())

    # then
    for response in (shown, posted):
        assert response.status_code == 200
        assert response.context["error"].code == code
        assert "form" not in response.context
        assert f'data-code="{code}"' in response.content.decode()
    assert not Registration.objects.exists()


def test_a_draft_has_no_registration_page(client, venue):
    programme = make_programme(venue=venue, status="draft", day=timezone.localdate() + dt.timedelta(days=3))
    response = client.get(register_url(programme.occurrences.get()))
    assert response.status_code == 404


# --- throttling ----------------------------------------------------------------------------


def test_registration_posts_are_limited_per_ip(client, venue, settings):
    # given: two attempts per window from one address
    settings.ATTENDANCE_THROTTLES = {"register_ip": (2, 600)}
    occurrence = make_occurrence(venue=venue)

    # when
    codes = [
        client.post(register_url(occurrence), form_data(phone=f"09123456{n:02d}"), REMOTE_ADDR="10.0.0.1").status_code
        for n in range(3)
    ]
    elsewhere = client.post(register_url(occurrence), form_data(phone="0912345699"), REMOTE_ADDR="10.0.0.2")

    # then
    assert codes == [302, 302, 429]
    assert elsewhere.status_code == 302
    assert Registration.objects.count() == 3


def test_invalid_registration_posts_count_against_their_address_too(client, venue, settings):
    # given two attempts per window from one address
    settings.ATTENDANCE_THROTTLES = {"register_ip": (2, 600)}
    occurrence = make_occurrence(venue=venue)

    # when two forms with a bad phone are sent, then a good one
    bad = [client.post(register_url(occurrence), form_data(phone="123"), REMOTE_ADDR="10.0.0.1") for _ in range(2)]
    good = client.post(register_url(occurrence), form_data(phone="0912345600"), REMOTE_ADDR="10.0.0.1")

    # then the bad ones were shown again with their error, and the third attempt is refused
    assert [r.status_code for r in bad] == [200, 200]
    assert good.status_code == 429
    assert Registration.objects.count() == 0


def test_registration_posts_are_limited_per_phone(en_client, venue, settings):
    # given
    settings.ATTENDANCE_THROTTLES = {"register_phone": (1, 600)}
    first = make_occurrence(venue=venue)
    second = make_occurrence(venue=venue)

    # when: the same number, from different addresses, written differently
    ok = en_client.post(register_url(first), form_data(phone="0912 345 678"), REMOTE_ADDR="10.0.0.1")
    limited = en_client.post(register_url(second), form_data(phone="+84912345678"), REMOTE_ADDR="10.0.0.2")

    # then
    assert ok.status_code == 302
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) == 600
    assert "Too many attempts" in limited.content.decode()
    assert Registration.objects.count() == 1


def test_ticket_look_ups_are_limited_per_ip_and_per_phone(client, venue, settings):
    settings.ATTENDANCE_THROTTLES = {"lookup_ip": (2, 600), "lookup_phone": (1, 3600)}
    url = reverse("attendance:ticket_lookup_start")

    # per phone
    assert client.post(url, {"phone": "0912345678"}, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert client.post(url, {"phone": "0912 345 678"}, REMOTE_ADDR="10.0.0.3").status_code == 429

    # per address
    assert client.post(url, {"phone": "0912000001"}, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert client.post(url, {"phone": "0912000002"}, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert client.post(url, {"phone": "0912000003"}, REMOTE_ADDR="10.0.0.2").status_code == 429


# --- the ticket page -----------------------------------------------------------------------


def test_a_wrong_secret_is_not_found(client, venue):
    outcome = register(make_occurrence(venue=venue))
    secret = outcome.registration.ticket.secret
    for bad in ("nope", secret[:-1], secret.upper(), "x" * 100):
        assert client.get(reverse("attendance:ticket", args=[bad])).status_code == 404
        assert client.get(reverse("attendance:ticket_qr_png", args=[bad])).status_code == 404


def _starting_in(venue, *, minutes):
    """A date starting `minutes` from now (tomorrow's, just before midnight)."""
    start = timezone.localtime() + dt.timedelta(minutes=minutes)
    return make_occurrence(venue=venue, days_ahead=(start.date() - timezone.localdate()).days, start_time=start.time())


def test_the_ticket_page_is_private_light_and_complete(en_client, venue):
    # given: a party of three, two already admitted
    occurrence = _starting_in(venue, minutes=30)
    outcome = register(occurrence, party_size=3)
    ticket = outcome.registration.ticket
    ticket_redeem(code=ticket.secret, venue=venue, scan_id="scan-1", headcount=2)

    # when
    response = en_client.get(ticket.get_absolute_url())

    # then
    html = response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert "private" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex' in html
    assert "<script" not in html
    assert len(response.content) < 12_000
    assert occurrence.programme.title in html and venue.address in html
    assert venue.map_url.replace("&", "&amp;") in html
    assert reverse("feeds:occurrence", args=[occurrence.pk]) in html
    assert "calendar.google.com" in html
    assert "2 of 3" in html
    # Partly admitted: the ticket can no longer be cancelled.
    assert response.context["can_cancel"] is False


def test_the_qr_png_decodes_to_the_secret(client, venue):
    # given
    ticket = register(make_occurrence(venue=venue)).registration.ticket

    # when
    response = client.get(reverse("attendance:ticket_qr_png", args=[ticket.secret]))

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    image = Image.open(io.BytesIO(response.content))
    decoded = zxingcpp.read_barcodes(image)
    assert [result.text for result in decoded] == [ticket.secret]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode


def test_the_qr_svg_is_valid_xml(client, venue):
    ticket = register(make_occurrence(venue=venue)).registration.ticket
    response = client.get(reverse("attendance:ticket_qr_svg", args=[ticket.secret]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "private" in response["Cache-Control"]
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_cancelling_from_the_ticket_frees_the_seat_and_promotes_the_waiting_list(en_client, venue):
    # given: one seat, taken, and one person waiting
    occurrence = make_occurrence(venue=venue, capacity=1)
    mine = register(occurrence).registration
    waiting = register(occurrence).registration
    cancel_url = reverse("attendance:ticket_cancel", args=[mine.ticket.secret])

    # when
    ticket_page = en_client.get(mine.ticket.get_absolute_url())
    confirm = en_client.get(cancel_url)
    response = en_client.post(cancel_url, follow=True)

    # then
    assert cancel_url in ticket_page.content.decode()
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    assert response.redirect_chain[-1][0] == mine.ticket.get_absolute_url()
    assert response.context["registration"].status == S.CANCELLED
    assert "Your registration is cancelled" in response.content.decode()
    assert response.context["show_qr"] is False and response.context["can_cancel"] is False
    waiting.refresh_from_db()
    assert waiting.status == S.CONFIRMED
    assert seats(occurrence) == 1


def test_cancelling_needs_the_csrf_token(venue):
    occurrence = make_occurrence(venue=venue)
    mine = register(occurrence).registration
    response = Client(enforce_csrf_checks=True).post(reverse("attendance:ticket_cancel", args=[mine.ticket.secret]))
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == S.CONFIRMED


def test_a_used_ticket_cannot_be_cancelled_and_the_page_says_why(en_client, venue):
    # given: a ticket admitted at the door (the date starts in 30 minutes)
    occurrence = _starting_in(venue, minutes=30)
    mine = register(occurrence).registration
    ticket_redeem(code=mine.ticket.secret, venue=venue, scan_id="scan-1")

    # when
    response = en_client.post(reverse("attendance:ticket_cancel", args=[mine.ticket.secret]), follow=True)

    # then
    assert response.status_code == 200
    assert "already been used at the door" in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == S.CONFIRMED


def test_the_ticket_of_a_cancelled_date_shows_no_qr(en_client, venue):
    occurrence = make_occurrence(venue=venue)
    mine = register(occurrence).registration
    occurrence_cancel(occurrence=occurrence)
    response = en_client.get(mine.ticket.get_absolute_url())
    assert response.context["show_qr"] is False
    assert "The venue has cancelled this date" in response.content.decode()


# --- find my tickets -----------------------------------------------------------------------


def without_csrf_token(content: bytes) -> bytes:
    # The token is masked anew on every page (the language form carries one).
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _link_in(message: Message) -> str:
    """The path of the link in an SMS."""
    url = next(word for word in message.body.split() if "/tickets/" in word)
    return urlparse(url).path


def _moved_to_the_past(registration: Registration, *, days: int) -> Registration:
    # Registration refuses past dates, so register first and move the date back.
    start = timezone.now() - dt.timedelta(days=days)
    Occurrence.objects.filter(pk=registration.occurrence_id).update(start=start, end=start + dt.timedelta(hours=1))
    return registration


def test_find_my_tickets_sends_one_sms_with_a_link_that_lists_the_tickets(en_client, venue, settings):
    # given: two registrations of the same phone, and someone else's
    settings.SITE_URL = "https://events.example.vn"
    first = register(make_occurrence(venue=venue, title="Giờ đọc sách"), phone="0912 345 678").registration
    second = register(make_occurrence(venue=venue, title="Triển lãm ảnh"), phone="0912345678").registration
    other = register(make_occurrence(venue=venue, title="Khác"), phone="0987 654 321").registration
    Message.objects.all().delete()

    # when
    response = en_client.post(reverse("attendance:ticket_lookup_start"), {"phone": "0912 345 678"})

    # then: exactly one SMS, to that phone, with a link that works
    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.kind, message.recipient, message.channel) == (Message.Kind.TICKET_LOOKUP, "+84912345678", "sms")
    assert "https://events.example.vn/tickets/" in message.body
    listing = en_client.get(_link_in(message))
    html = listing.content.decode()
    assert listing.status_code == 200
    assert listing["Referrer-Policy"] == "no-referrer"
    assert first.ticket.get_absolute_url() in html and second.ticket.get_absolute_url() in html
    assert other.ticket.get_absolute_url() not in html and "Khác" not in html


def test_find_my_tickets_answers_the_same_for_an_unknown_number_and_sends_nothing(client, venue):
    # given
    register(make_occurrence(venue=venue), phone="0912 345 678")
    Message.objects.all().delete()
    url = reverse("attendance:ticket_lookup_start")

    # when
    known = client.post(url, {"phone": "0912 345 678"}, follow=True)
    sent = Message.objects.count()
    unknown = client.post(url, {"phone": "0987 654 321"}, follow=True)

    # then
    assert known.redirect_chain == unknown.redirect_chain
    assert without_csrf_token(known.content) == without_csrf_token(unknown.content)
    assert sent == 1 and Message.objects.count() == 1


def test_find_my_tickets_sends_nothing_for_past_dates_only(client, venue):
    _moved_to_the_past(register(make_occurrence(venue=venue), phone="0912 345 678").registration, days=2)
    Message.objects.all().delete()
    client.post(reverse("attendance:ticket_lookup_start"), {"phone": "0912 345 678"})
    assert not Message.objects.exists()


def test_find_my_tickets_rejects_an_invalid_number(client):
    response = client.post(reverse("attendance:ticket_lookup_start"), {"phone": "abc"})
    assert response.status_code == 200
    assert error_codes(response, "phone") == ["invalid_phone"]


@pytest.mark.parametrize("tamper", ["forged", "other_salt", "truncated"])
def test_a_tampered_link_lists_nothing(en_client, venue, tamper):
    # given
    mine = register(make_occurrence(venue=venue), phone="0912 345 678").registration
    token = services.lookup_token_make("+84912345678")
    token = {
        "forged": signing.TimestampSigner(key="not-our-key", salt="ticket-lookup").sign_object("+84912345678"),
        "other_salt": signing.TimestampSigner(salt="something-else").sign_object("+84912345678"),
        "truncated": token[:-2],
    }[tamper]

    # when
    response = en_client.get(reverse("attendance:ticket_lookup", args=[token]))

    # then
    assert response.status_code == 404
    assert "upcoming" not in response.context
    assert mine.ticket.secret not in response.content.decode()
    assert "This link is not valid" in response.content.decode()


def test_an_expired_link_lists_nothing(en_client, venue, monkeypatch):
    # given: a link made 61 minutes ago
    mine = register(make_occurrence(venue=venue), phone="0912 345 678").registration
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 61 * 60)
    token = services.lookup_token_make("+84912345678")
    monkeypatch.setattr(signing.time, "time", real_time)

    # when
    response = en_client.get(reverse("attendance:ticket_lookup", args=[token]))

    # then
    assert response.status_code == 410
    assert "upcoming" not in response.context
    assert mine.ticket.secret not in response.content.decode()
    assert "This link has expired" in response.content.decode()


def test_the_lookup_list_shows_recent_past_registrations_apart(en_client, venue):
    # given
    past = _moved_to_the_past(register(make_occurrence(venue=venue), phone="0912 345 678").registration, days=3)
    old = _moved_to_the_past(register(make_occurrence(venue=venue), phone="0912 345 678").registration, days=60)
    upcoming = register(make_occurrence(venue=venue), phone="0912 345 678").registration

    # when
    response = en_client.get(reverse("attendance:ticket_lookup", args=[services.lookup_token_make("+84912345678")]))

    # then
    assert [r.pk for r in response.context["upcoming"]] == [upcoming.pk]
    assert [r.pk for r in response.context["recent"]] == [past.pk]
    assert old.ticket.get_absolute_url() not in response.content.decode()
