"""SMS through Twilio: the real `twilio` client against a local fake Twilio, and
the webhooks Twilio calls back (delivery status, STOP/START replies)."""

import email.utils
import socket
import time
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from notifications.models import Message, SmsOptOut
from notifications.services import message_create
from notifications.transports import TransportError, TwilioSms, transport_for
from tests.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SITE_URL = "https://sukien.example.vn"
TO = "+84912345678"


@pytest.fixture
def fake():
    with FakeTwilio(auth_token=AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
def twilio(settings, fake):
    settings.SMS_TRANSPORT = "notifications.transports.TwilioSms"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_TIMEOUT = 5
    settings.SMS_STATUS_CALLBACK = True
    settings.SITE_URL = SITE_URL
    return fake


def sms(recipient=TO, body="Nhắc lịch: Câu lạc bộ đọc sách, 9:00 thứ Bảy tại Thư viện tỉnh Hưng Yên.") -> Message:
    return Message(pk=1, channel=Message.Channel.SMS, recipient=recipient, kind=Message.Kind.REMINDER, body=body)


def send_failing() -> TransportError:
    with pytest.raises(TransportError) as caught:
        TwilioSms().notify(sms())
    return caught.value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Sending


def test_it_sends_through_the_messages_api(twilio):
    # given
    message = sms()

    # when
    sid = transport_for("sms").notify(message)

    # then
    [sent] = twilio.messages
    assert sid == sent["sid"] and sid.startswith("SM")
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    assert sent["To"] == TO
    assert sent["From"] == "+15005550006"
    assert "MessagingServiceSid" not in sent
    assert sent["Body"] == message.body
    assert sent["StatusCallback"] == "https://sukien.example.vn/sms/status/"


def test_it_sends_from_the_messaging_service_when_set(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32

    TwilioSms().notify(sms())

    [sent] = twilio.messages
    assert sent["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in sent


def test_it_asks_for_no_status_callback_when_off(twilio, settings):
    settings.SMS_STATUS_CALLBACK = False

    TwilioSms().notify(sms())

    assert "StatusCallback" not in twilio.messages[0]


def test_it_sends_one_request_per_message(twilio):
    sids = {TwilioSms().notify(sms(body=f"Tin {n}")) for n in range(5)}

    assert len(sids) == 5
    assert [m["Body"] for m in twilio.messages] == [f"Tin {n}" for n in range(5)]


# Errors


@pytest.mark.parametrize("code", [21211, 21610, 21408, 21614])
def test_undeliverable_numbers_are_permanent_errors(twilio, code):
    # given
    twilio.fail_for(TO, status=400, code=code, message="Not deliverable")

    # when
    error = send_failing()

    # then
    assert error.permanent is True
    assert error.retry_after is None
    assert str(code) in error.message
    assert twilio.messages == []


@pytest.mark.parametrize(("status", "code"), [(400, 21606), (400, 21617), (404, 20404)])
def test_other_client_errors_are_permanent(twilio, status, code):
    twilio.fail_next(status=status, code=code)

    assert send_failing().permanent is True


def test_a_wrong_auth_token_is_permanent(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    error = send_failing()

    assert error.permanent is True
    assert "401" in error.message


def test_rate_limited_is_transient_with_retry_after(twilio):
    # given
    twilio.fail_next(status=429, code=20429, message="Too Many Requests", retry_after=7)

    # when
    error = send_failing()

    # then
    assert error.permanent is False
    assert error.retry_after == 7.0


def test_retry_after_may_be_an_http_date(twilio):
    twilio.fail_next(status=429, code=20429, retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))

    error = send_failing()

    assert error.permanent is False
    assert 25 <= error.retry_after <= 31


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(twilio, status):
    # given
    twilio.fail_next(status=status, code=None if status == 502 else 20500)

    # when
    error = send_failing()

    # then
    assert error.permanent is False
    assert error.retry_after is None


def test_the_next_attempt_after_a_transient_error_goes_through(twilio):
    twilio.fail_next(status=503, retry_after=1)
    send_failing()

    sid = TwilioSms().notify(sms())

    assert [m["sid"] for m in twilio.messages] == [sid]
    assert len(twilio.requests) == 2


def test_connection_refused_is_transient(twilio, settings):
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"

    error = send_failing()

    assert error.permanent is False
    assert error.message.startswith("No answer from Twilio")


def test_a_dropped_connection_is_transient(twilio):
    twilio.fail_next(disconnect=True)

    assert send_failing().permanent is False


def test_a_timeout_is_transient_though_twilio_may_have_the_message(twilio, settings):
    # given: Twilio answers after the client gave up
    settings.TWILIO_TIMEOUT = 0.2
    twilio.latency = 1

    # when
    error = send_failing()

    # then
    assert error.permanent is False
    assert len(twilio.messages) == 1


# Delivery status callbacks


def post_signed(client, path, data, *, token=AUTH_TOKEN, url=None):
    signature = RequestValidator(token).compute_signature(url or SITE_URL + path, data)
    return client.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )


def callback(sid, status, **extra):
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": ACCOUNT_SID, "To": TO, "From": "+15005550006", "ApiVersion": "2010-04-01", **extra}


@pytest.fixture
def sent(db):
    return Message.objects.create(
        channel=Message.Channel.SMS, recipient=TO, kind=Message.Kind.REMINDER, body="Nhắc lịch",
        status=Message.Status.SENT, provider_id="SM" + "a" * 32,
    )


def test_a_signed_callback_updates_the_status(client, twilio, sent):
    # when
    response = post_signed(client, "/sms/status/", callback(sent.provider_id, "delivered"))

    # then
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert sent.status_changed_at is not None
    assert sent.last_error == ""


def test_a_failed_delivery_records_the_error_code(client, twilio, sent):
    post_signed(client, "/sms/status/", callback(sent.provider_id, "undelivered", ErrorCode="30003"))

    sent.refresh_from_db()
    assert sent.status == Message.Status.UNDELIVERED
    assert sent.last_error == "Twilio error 30003"


def test_a_forged_signature_is_refused(client, twilio, sent):
    response = post_signed(client, "/sms/status/", callback(sent.provider_id, "failed"), token="guessed-token")

    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


def test_a_missing_signature_is_refused(client, twilio, sent):
    response = client.post(
        "/sms/status/", urlencode(callback(sent.provider_id, "failed")), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


def test_a_signature_of_other_parameters_is_refused(client, twilio, sent):
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        SITE_URL + "/sms/status/", callback(sent.provider_id, "delivered")
    )

    response = client.post(
        "/sms/status/", urlencode(callback(sent.provider_id, "failed")),
        content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert response.status_code == 403


def test_the_signature_is_checked_against_the_public_url(client, twilio, sent):
    # given: signed for the address Django sees behind the proxy, not the public one
    response = post_signed(
        client, "/sms/status/", callback(sent.provider_id, "delivered"), url="http://testserver/sms/status/"
    )

    assert response.status_code == 403


def test_nothing_is_accepted_without_an_auth_token(client, twilio, settings, sent):
    settings.TWILIO_AUTH_TOKEN = ""

    response = post_signed(client, "/sms/status/", callback(sent.provider_id, "failed"), token="")

    assert response.status_code == 403


def test_an_unknown_message_is_acknowledged_and_ignored(client, twilio, sent):
    response = post_signed(client, "/sms/status/", callback("SM" + "f" * 32, "failed"))

    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT
    assert sent.status_changed_at is None


def test_a_callback_without_sid_changes_nothing(client, twilio, db):
    # given: messages sent through the console have no provider id
    message = Message.objects.create(
        channel=Message.Channel.SMS, recipient=TO, kind=Message.Kind.REMINDER, body="x", status=Message.Status.SENT
    )

    response = post_signed(client, "/sms/status/", callback("", "failed"))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


@pytest.mark.parametrize(
    ("statuses", "final"),
    [
        (["queued", "sent", "delivered"], Message.Status.DELIVERED),
        (["delivered", "sent"], Message.Status.DELIVERED),
        (["delivered", "queued", "sending"], Message.Status.DELIVERED),
        (["undelivered", "sent", "delivered"], Message.Status.UNDELIVERED),
        (["failed", "delivered"], Message.Status.FAILED),
        (["sent", "queued"], Message.Status.SENT),
    ],
)
def test_statuses_never_go_backwards(client, twilio, sent, statuses, final):
    # given: the message was only queued when the callbacks start arriving
    Message.objects.filter(pk=sent.pk).update(status=Message.Status.QUEUED)

    # when
    for status in statuses:
        assert post_signed(client, "/sms/status/", callback(sent.provider_id, status)).status_code == 200

    # then
    sent.refresh_from_db()
    assert sent.status == final


def test_a_late_callback_does_not_stop_a_pending_resend(client, twilio, sent):
    # given: the message waits for another attempt
    Message.objects.filter(pk=sent.pk).update(status=Message.Status.PENDING)

    post_signed(client, "/sms/status/", callback(sent.provider_id, "sent"))

    sent.refresh_from_db()
    assert sent.status == Message.Status.PENDING


def test_callbacks_are_post_only(client, twilio):
    assert client.get("/sms/status/").status_code == 405
    assert client.get("/sms/inbound/").status_code == 405


def test_a_message_goes_out_once_and_its_callback_finds_it(client, twilio, django_capture_on_commit_callbacks, db):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        message = message_create(channel="sms", recipient=TO, kind=Message.Kind.CONFIRMATION, body="Đã đăng ký")

    # then
    [received] = twilio.messages
    message.refresh_from_db()
    assert message.provider_id == received["sid"]
    assert received["Body"] == "Đã đăng ký"

    # when
    post_signed(client, "/sms/status/", callback(received["sid"], "delivered"))

    # then
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


# Replies: STOP and START


def inbound(body, phone=TO):
    return {"MessageSid": "SM" + "b" * 32, "AccountSid": ACCOUNT_SID, "From": phone, "To": "+15005550006",
            "Body": body, "NumMedia": "0"}


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop. ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_stop_opts_the_number_out(client, twilio, db, body):
    # when
    response = post_signed(client, "/sms/inbound/", inbound(body))

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response" in response.content and b"<Message" not in response.content
    assert SmsOptOut.objects.get(phone=TO).source == SmsOptOut.Source.STOP


def test_stop_twice_keeps_one_opt_out(client, twilio, db):
    post_signed(client, "/sms/inbound/", inbound("STOP"))
    post_signed(client, "/sms/inbound/", inbound("STOP"))

    assert SmsOptOut.objects.filter(phone=TO).count() == 1


@pytest.mark.parametrize("body", ["START", "yes", "UNSTOP"])
def test_start_opts_the_number_back_in(client, twilio, db, body):
    # given
    SmsOptOut.objects.create(phone=TO, source=SmsOptOut.Source.LINK)
    SmsOptOut.objects.create(phone="+84987654321", source=SmsOptOut.Source.STOP)

    # when
    response = post_signed(client, "/sms/inbound/", inbound(body))

    # then
    assert response.status_code == 200
    assert list(SmsOptOut.objects.values_list("phone", flat=True)) == ["+84987654321"]


def test_other_replies_get_an_empty_answer(client, twilio, db):
    response = post_signed(client, "/sms/inbound/", inbound("Cho tôi hỏi giờ mở cửa"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Message" not in response.content
    assert not SmsOptOut.objects.exists()


def test_an_unsigned_stop_is_refused(client, twilio, db):
    response = client.post("/sms/inbound/", urlencode(inbound("STOP")), content_type="application/x-www-form-urlencoded")

    assert response.status_code == 403
    assert not SmsOptOut.objects.exists()
