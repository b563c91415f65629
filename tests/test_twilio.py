"""SMS through Twilio: the real `twilio` client against a local fake Twilio,
asking Twilio whether it accepted a message (recovery after a lost worker or a
timeout), and the webhooks Twilio calls back (delivery status, STOP/START
replies)."""

import datetime as dt
import email.utils
import socket
import time
import zoneinfo
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from config.celery import app
from notifications import services
from notifications.models import Message, SmsOptOut
from notifications.services import (
    NOTE_LOST,
    NOTE_RECOVERED,
    message_create,
    message_recover,
    message_send,
    outbox_sweep,
)
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


def test_connection_refused_is_not_in_doubt(twilio, settings):
    # Twilio never had the request: sending again is safe.
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"

    assert send_failing().in_doubt is False


def test_a_read_timeout_is_in_doubt_as_twilio_may_have_the_message(twilio, settings):
    # given: Twilio accepts the message but answers after the client gave up
    settings.TWILIO_TIMEOUT = 0.2
    twilio.delay_next(1)

    # when
    error = send_failing()

    # then: not to be sent again before asking Twilio
    assert error.in_doubt is True
    assert error.permanent is False
    assert "may have the message" in error.message
    assert len(twilio.messages) == 1


def test_other_errors_are_not_in_doubt(twilio):
    twilio.fail_next(status=503)

    assert send_failing().in_doubt is False


# Asking Twilio whether it accepted a message


def claimed(message: Message, at: dt.datetime | None = None) -> Message:
    """`message` as a worker claimed it, at `at` (now by default)."""
    message.status = Message.Status.QUEUED
    message.status_changed_at = at or timezone.now()
    return message


def test_find_accepted_finds_the_message_by_recipient_and_body(twilio, db):
    # given: other messages around it, to other numbers or with other texts
    message = claimed(sms())
    TwilioSms().notify(sms(body="Một tin khác"))
    sid = TwilioSms().notify(message)
    TwilioSms().notify(sms(recipient="+84987654321"))

    # when
    found = TwilioSms().find_accepted(message)

    # then
    assert found == sid


def test_find_accepted_finds_a_message_sent_from_the_messaging_service(twilio, settings, db):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    message = claimed(sms())
    sid = TwilioSms().notify(message)

    assert TwilioSms().find_accepted(message) == sid


def test_find_accepted_asks_for_messages_to_the_number_since_a_minute_before_the_claim(twilio, db):
    # given: claimed at 9:00 in Vietnam (UTC+7)
    at = dt.datetime(2025, 3, 8, 9, 0, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))

    # when
    TwilioSms().find_accepted(claimed(sms(), at))

    # then: Twilio's DateSent filter, in GMT
    first = [r for r in twilio.requests if r["method"] == "GET"][0]
    assert first["To"] == TO
    assert first["DateSent>"] == "2025-03-08T01:59:30Z"


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"body": "Nhắc lịch: một buổi khác"}, id="other body"),
        pytest.param({"recipient": "+84987654321"}, id="other recipient"),
    ],
)
def test_find_accepted_finds_nothing_for_another_message(twilio, db, other):
    TwilioSms().notify(sms(**other))

    assert TwilioSms().find_accepted(claimed(sms())) is None


def test_find_accepted_finds_nothing_accepted_before_the_claim(twilio, db):
    # given: the same text went to the same number three minutes before this claim
    TwilioSms().notify(sms())

    found = TwilioSms().find_accepted(claimed(sms(), timezone.now() + dt.timedelta(minutes=3)))

    assert found is None


def test_find_accepted_finds_nothing_sent_from_another_sender(twilio, settings, db):
    TwilioSms().notify(sms())
    settings.TWILIO_FROM = "+15005550007"

    assert TwilioSms().find_accepted(claimed(sms())) is None


def test_find_accepted_finds_a_message_twilio_has_not_sent_yet(twilio, db):
    # given: accepted but still in Twilio's queue, so without a DateSent
    twilio.send_at_once = False
    message = claimed(sms())
    sid = TwilioSms().notify(message)

    # when
    found = TwilioSms().find_accepted(message)

    # then: found by the second look, among the latest messages to the number
    assert found == sid
    first, second = [r for r in twilio.requests if r["method"] == "GET"]
    assert "DateSent>" in first and "DateSent>" not in second


def test_find_accepted_skips_a_message_another_row_recorded(twilio, db):
    # given: the same text to the same number for two rows; the first one recorded its SID
    first = Message.objects.create(
        channel=Message.Channel.SMS, recipient=TO, kind=Message.Kind.REMINDER, body=sms().body,
        status=Message.Status.SENT,
    )
    second = claimed(
        Message.objects.create(channel=Message.Channel.SMS, recipient=TO, kind=Message.Kind.REMINDER, body=first.body)
    )
    first.provider_id = TwilioSms().notify(first)
    first.save()

    # when the second was not accepted, then nothing
    assert TwilioSms().find_accepted(second) is None

    # when it was, then its own SID
    sid = TwilioSms().notify(second)
    assert TwilioSms().find_accepted(second) == sid


@pytest.mark.parametrize("status", [500, 503])
def test_find_accepted_raises_a_transient_error_when_twilio_fails(twilio, db, status):
    twilio.fail_next(status=status, code=20500)

    with pytest.raises(TransportError) as caught:
        TwilioSms().find_accepted(claimed(sms()))

    assert caught.value.permanent is False
    assert str(status) in caught.value.message


def test_find_accepted_raises_a_transient_error_when_twilio_is_unreachable(twilio, settings, db):
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(TransportError) as caught:
        TwilioSms().find_accepted(claimed(sms()))

    assert caught.value.permanent is False


def test_find_accepted_raises_a_transient_error_on_a_timeout(twilio, settings, db):
    # Listing changes nothing at Twilio: a timeout is not in doubt, just asked again later.
    settings.TWILIO_TIMEOUT = 0.2
    twilio.delay_next(1)

    with pytest.raises(TransportError) as caught:
        TwilioSms().find_accepted(claimed(sms()))

    assert caught.value.permanent is False
    assert caught.value.in_doubt is False


# Recovery with Twilio: a worker lost during its call, or a timeout


class WorkerLost(BaseException):
    """Stands for a SIGKILL: nothing after it runs, not even `except Exception`."""


class LostAfterTwilioAccepted(TwilioSms):
    def notify(self, message) -> str:
        super().notify(message)
        raise WorkerLost


class LostBeforeTwilio(TwilioSms):
    def notify(self, message) -> str:
        raise WorkerLost


@pytest.fixture
def outbox(twilio, settings, monkeypatch, db):
    """The outbox on TwilioSms and the fake, tasks running in-process."""
    settings.SMS_RATE_PER_SECOND = 0
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    return twilio


def pending_sms() -> Message:
    # Recorded in the test's transaction, which never commits: no task is handed over.
    return message_create(channel="sms", recipient=TO, kind=Message.Kind.CONFIRMATION, body="Đã đăng ký: Câu lạc bộ đọc sách")


def lose_the_worker(message: Message, transport: type[TwilioSms], settings) -> None:
    settings.SMS_TRANSPORT = f"tests.test_twilio.{transport.__name__}"
    with pytest.raises(WorkerLost):
        message_send(message_id=message.pk)
    # A new worker, with the real transport.
    settings.SMS_TRANSPORT = "notifications.transports.TwilioSms"


def sweep_once_stale(settings):
    return outbox_sweep(now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))


def posts(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST"]


def test_a_message_twilio_accepted_before_the_worker_was_lost_is_recorded_not_resent(outbox, settings):
    # given: Twilio accepted the message, the worker died before recording it
    message = pending_sms()
    lose_the_worker(message, LostAfterTwilioAccepted, settings)
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Message.Status.QUEUED, "")

    # when the sweep finds the stale claim
    result = sweep_once_stale(settings)

    # then Twilio was asked, and the row has its SID: sent once
    message.refresh_from_db()
    [accepted] = outbox.messages
    assert result.recovered == 1
    assert message.status == Message.Status.SENT
    assert message.provider_id == accepted["sid"]
    assert message.last_error == NOTE_RECOVERED
    assert message.attempts == 1
    assert len(posts(outbox)) == 1


def test_a_message_twilio_never_had_is_sent_again_once(outbox, settings):
    # given: the worker died after its claim, before calling Twilio
    message = pending_sms()
    lose_the_worker(message, LostBeforeTwilio, settings)

    # when
    result = sweep_once_stale(settings)

    # then: back to pending, handed over, sent: once at Twilio
    message.refresh_from_db()
    [accepted] = outbox.messages
    assert result.recovered == 1
    assert message.status == Message.Status.SENT
    assert message.provider_id == accepted["sid"]
    assert message.attempts == 2
    assert accepted["Body"] == message.body


def test_a_message_twilio_never_had_goes_back_to_pending(outbox, settings, monkeypatch):
    # given: no worker takes what is handed over
    monkeypatch.setattr(services, "_hand_over", lambda *args, **kwargs: False)
    message = pending_sms()
    lose_the_worker(message, LostBeforeTwilio, settings)

    status = message_recover(message_id=message.pk)

    message.refresh_from_db()
    assert status == Message.Status.PENDING
    assert message.status == Message.Status.PENDING
    assert message.last_error == NOTE_LOST
    assert outbox.messages == []


def test_a_read_timeout_is_settled_by_the_sweep_without_a_second_message(outbox, settings):
    # given: Twilio accepted the message, its answer came after the timeout
    settings.TWILIO_TIMEOUT = 0.3
    outbox.delay_next(1.5)
    message = pending_sms()

    # when the worker sends it
    message_send(message_id=message.pk)

    # then the claim stays for the sweep
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert "may have the message" in message.last_error

    # when the sweep finds the stale claim
    sweep_once_stale(settings)

    # then the message is recorded with Twilio's SID, never sent twice
    message.refresh_from_db()
    [accepted] = outbox.messages
    assert message.status == Message.Status.SENT
    assert message.provider_id == accepted["sid"]
    assert len(posts(outbox)) == 1


def test_the_sweep_asks_again_when_twilio_cannot_answer(outbox, settings):
    # given
    message = pending_sms()
    lose_the_worker(message, LostAfterTwilioAccepted, settings)

    # when Twilio fails the first time it is asked
    outbox.fail_next(status=503)
    first = sweep_once_stale(settings)

    # then the claim is left as it was
    message.refresh_from_db()
    assert first.recovered == 0
    assert (message.status, message.provider_id) == (Message.Status.QUEUED, "")

    # when the next sweep runs
    sweep_once_stale(settings)

    # then
    message.refresh_from_db()
    [accepted] = outbox.messages
    assert message.status == Message.Status.SENT and message.provider_id == accepted["sid"]
    assert len(posts(outbox)) == 1


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


def test_a_message_goes_out_once_and_its_callback_finds_it(client, twilio, db):
    # given a recorded message, sent by a worker (called here: with a broker
    # configured the task would go to Redis, not run in this process)
    message = message_create(channel="sms", recipient=TO, kind=Message.Kind.CONFIRMATION, body="Đã đăng ký")
    message_send(message_id=message.pk)
    message_send(message_id=message.pk)  # a redelivered task sends nothing more

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
