"""How a message leaves the system: one small transport per channel.

Modelled on healthchecks' transports: `notify(message)` sends or raises
TransportError; `permanent=True` means retrying cannot help, `in_doubt=True`
that the provider may have the message although the call failed. A transport
that can ask its provider whether it accepted a message also has
`find_accepted(message)` (see notifications.services.message_recover).
"""

import datetime as dt
import email.utils
import logging
import os
import secrets
import smtplib
import threading
import time
import unicodedata
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ReadTimeoutError

logger = logging.getLogger(__name__)


class TransportError(Exception):
    """Sending failed. `permanent`: retrying cannot help. `retry_after`: seconds
    the provider asked us to wait (its Retry-After), when it said so.
    `in_doubt`: the request may have reached the provider (no answer came in
    time), so it may have the message: not to be sent again before asking it
    (the outbox leaves the claim for the sweep)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None, in_doubt: bool = False
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class Transport:
    def notify(self, message) -> str:
        """Send `message`; return the provider's id (may be empty)."""
        raise NotImplementedError


class ConsoleSms(Transport):
    """Prints SMS to the log: the default for development."""

    def notify(self, message) -> str:
        logger.info("SMS to %s: %s", message.recipient, message.body)
        return ""


class MemorySms(Transport):
    """Keeps SMS in a list, for tests."""

    outbox: list = []

    def notify(self, message) -> str:
        MemorySms.outbox.append(message)
        return f"mem-{message.pk}"


class Email(Transport):
    """E-mail through Django's email backend (EMAIL_BACKEND): the stored subject
    and plain-text body, with an HTML alternative made from the body, from
    DEFAULT_FROM_EMAIL, replies to the venue's address when it has one.

    Raises TransportError: permanent for an address that is not one and for a
    recipient the server refused for good (5xx); transient for every other SMTP
    or network error (a refusal that is only 4xx, e.g. greylisting, too).
    Returns the Message-ID it set (when it fits the provider id column).
    """

    def notify(self, message) -> str:
        try:
            validate_email(message.recipient)
        except ValidationError as error:
            raise TransportError(f"Not an e-mail address: {message.recipient!r}", permanent=True) from error
        # Short enough for the provider id column, unique per attempt.
        message_id = f"<outbox.{message.pk}.{message.attempts}.{secrets.token_hex(4)}@{_mail_domain()}>"
        venue = message.venue
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            reply_to=[venue.email] if venue is not None and venue.email else None,
            headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
        )
        mail.attach_alternative(_email_html(message), "text/html")
        try:
            mail.send(fail_silently=False)
        except (smtplib.SMTPException, OSError, ValueError) as error:
            raise _email_error(error) from error
        message_id = message_id.strip("<>")
        return message_id if len(message_id) <= PROVIDER_ID_MAX else ""


PROVIDER_ID_MAX = 64  # Message.provider_id


def _mail_domain() -> str:
    # Message-IDs name the site, not the host (which may be a container's id).
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _email_html(message) -> str:
    with translation.override(message.language or settings.LANGUAGE_CODE):
        return render_to_string(
            "notifications/email/message.html",
            {"subject": message.subject, "body": message.body, "language": message.language},
        )


def _email_error(error: Exception) -> TransportError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        # 4xx: try later (a full mailbox, greylisting); 5xx: the address is refused.
        permanent = not codes or any(code >= 500 for code in codes)
        return TransportError(f"SMTP refused the recipient: {error.recipients}", permanent=permanent)
    if isinstance(error, smtplib.SMTPResponseException):
        return TransportError(f"SMTP {error.smtp_code}: {error.smtp_error!r}")
    if isinstance(error, ValueError):  # an address or header the message cannot carry
        return TransportError(f"E-mail not sendable: {error}", permanent=True)
    return TransportError(f"SMTP: {error}")


# Twilio error codes that no retry can fix: invalid number, the person replied
# STOP, region not enabled on the account, a landline.
TWILIO_PERMANENT_CODES = {21211, 21610, 21408, 21614}
# 4xx codes that are worth retrying: rate limited, too many messages queued on the sender.
TWILIO_TRANSIENT_CODES = {20429, 21611}
# find_accepted looks at messages Twilio created from this long before the
# claim (our clock and Twilio's may differ a little)...
FIND_ACCEPTED_MARGIN = dt.timedelta(minutes=1)
# ...among at most this many of the most recent messages to the number.
FIND_ACCEPTED_LIMIT = 100


class _TwilioHttpClient(TwilioHttpClient):
    # Keeps the last response so Retry-After can be read after the twilio client
    # has turned it into an exception (which carries no headers). Safe because
    # each thread has its own client (see _twilio_client).
    last_response = None

    def request(self, *args, **kwargs):
        self.last_response = None
        self.last_response = super().request(*args, **kwargs)
        return self.last_response


_twilio_clients = threading.local()
TWILIO_API = "https://api.twilio.com"


def _twilio_client() -> Client:
    """One client per thread and configuration: its requests session keeps the
    TLS connection to Twilio open between messages."""
    key = (
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL, settings.TWILIO_TIMEOUT
    )
    cached = getattr(_twilio_clients, "cached", None)
    if cached is None or cached[0] != key:
        http_client = _TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT)
        # What requests reads from the environment (proxies, CA bundle) on every
        # call, read once: scanning os.environ cost ~2 ms a message (bench/reminders.py).
        http_client.proxy = requests.utils.get_environ_proxies(settings.TWILIO_API_BASE_URL or TWILIO_API)
        http_client.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        http_client.session.trust_env = False
        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
        if settings.TWILIO_API_BASE_URL:
            # The Messages API lives on the "api" domain; tests and the benchmark
            # point it at a fake server.
            client.api.base_url = settings.TWILIO_API_BASE_URL
        cached = _twilio_clients.cached = (key, client)
    return cached[1]


def _retry_after(response) -> float | None:
    value = (response.headers or {}).get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class TwilioSms(Transport):
    """SMS through Twilio's Messages API, with a delivery status callback.

    Raises TransportError: permanent for numbers Twilio will never deliver to and
    other client errors; transient for 429, 5xx and network failures; in doubt
    when the request was sent but no answer came within TWILIO_TIMEOUT.
    `find_accepted` asks Twilio's Messages list whether it has a message.
    """

    def notify(self, message) -> str:
        params = {"to": message.recipient, "body": message.body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = settings.TWILIO_FROM
        if settings.SMS_STATUS_CALLBACK:
            params["status_callback"] = settings.SITE_URL + reverse("notifications:status_callback")
        client = _twilio_client()
        try:
            created = client.messages.create(**params)
        except requests.RequestException as error:
            if _answer_timed_out(error):
                # The request was sent: Twilio may have accepted the message.
                raise TransportError(
                    f"No answer from Twilio in {settings.TWILIO_TIMEOUT:g} s, it may have the message: {error}",
                    in_doubt=True,
                ) from error
            # Refused, reset, no connection in time: retried with back-off.
            raise TransportError(f"No answer from Twilio: {error}") from error
        except TwilioException as error:
            raise self._error(error, client.http_client.last_response) from error
        return created.sid

    def find_accepted(self, message) -> str | None:
        """The SID of the message Twilio accepted for `message`'s current claim,
        or None when it has none (then it never had it: the outbox sends it again).

        Looks among the messages to `message.recipient` created since shortly
        before the claim (`status_changed_at`) for one from our sender with the
        same body that no other row has recorded already (two rows with the same
        text to the same number must not settle on one SID). First with Twilio's
        DateSent filter, then, if none matched, among the most recent messages to
        the number whatever their DateSent: one Twilio accepted but has not sent
        yet (still in its queue) has none.

        Raises TransportError when Twilio cannot be asked (network, 429, 5xx:
        not permanent); the sweep asks again on its next run.
        """
        claimed_at = message.status_changed_at or message.created_at
        since = (claimed_at - FIND_ACCEPTED_MARGIN).astimezone(dt.timezone.utc)
        client = _twilio_client()

        def unrecorded(**filters) -> list:
            listed = client.messages.list(to=message.recipient, limit=FIND_ACCEPTED_LIMIT, **filters)
            return self._unrecorded(message, self._matching(message, since, listed))

        try:
            found = unrecorded(date_sent_after=since) or unrecorded()
        except (requests.RequestException, ValueError) as error:
            # ValueError: an answer that is not JSON (a proxy's error page).
            raise TransportError(f"Could not list messages at Twilio: {error}") from error
        except TwilioException as error:
            raise self._lookup_error(error, client.http_client.last_response) from error
        if not found:
            return None
        # The first one Twilio created after the claim.
        return min(found, key=lambda candidate: candidate.date_created or candidate.date_sent).sid

    @staticmethod
    def _matching(message, since: dt.datetime, listed) -> list:
        """The listed messages that can be `message`: created since `since`, to
        its recipient, with its body, from our sender (the messaging service when
        one is set, otherwise TWILIO_FROM)."""
        body = _comparable(message.body)
        service = settings.TWILIO_MESSAGING_SERVICE_SID
        found = []
        for candidate in listed:
            created = candidate.date_created or candidate.date_sent
            if not isinstance(created, dt.datetime) or created < since:
                continue
            if candidate.to != message.recipient or _comparable(candidate.body) != body:
                continue
            if service:
                if candidate.messaging_service_sid != service:
                    continue
            elif candidate.from_ != settings.TWILIO_FROM:
                continue
            found.append(candidate)
        return found

    @staticmethod
    def _unrecorded(message, candidates: list) -> list:
        """Those whose SID no other row has recorded already."""
        if not candidates:
            return []
        from notifications.models import Message

        recorded = set(
            Message.objects.filter(provider_id__in=[candidate.sid for candidate in candidates])
            .exclude(pk=message.pk)
            .values_list("provider_id", flat=True)
        )
        return [candidate for candidate in candidates if candidate.sid not in recorded]

    @staticmethod
    def _lookup_error(error: TwilioException, response) -> TransportError:
        # A list page that is not a 200 raises a bare TwilioException("Unable to
        # fetch page", response): the status is the response's.
        status = getattr(error, "status", None) or getattr(response, "status_code", None)
        if status is None:
            return TransportError(f"Twilio: {error}")
        detail = (getattr(response, "text", "") or "")[:200]
        return TransportError(
            f"Twilio HTTP {status} listing messages: {detail}",
            permanent=400 <= status < 500 and status != 429,
            retry_after=_retry_after(response),
        )

    @staticmethod
    def _error(error: TwilioException, response) -> TransportError:
        # TwilioRestException and the newer TwilioServiceException both carry
        # status and code; a bare TwilioException has neither (no HTTP answer).
        status = getattr(error, "status", None)
        code = getattr(error, "code", None)
        detail = getattr(error, "msg", None) or getattr(error, "detail", None) or getattr(error, "title", "")
        text = f"Twilio HTTP {status} error {code}: {detail}" if status else f"Twilio: {error}"
        if code in TWILIO_PERMANENT_CODES:
            return TransportError(text, permanent=True)
        if status is None or status == 429 or status >= 500 or code in TWILIO_TRANSIENT_CODES:
            return TransportError(text, permanent=False, retry_after=_retry_after(response))
        return TransportError(text, permanent=status >= 400)


def _answer_timed_out(error: requests.RequestException) -> bool:
    """Whether the request was sent and its answer did not come in time (the
    provider may have acted on it), as opposed to a connection that was never
    made. requests raises ReadTimeout, or a ConnectionError around urllib3's
    ReadTimeoutError when the time ran out while reading the answer's body."""
    if isinstance(error, requests.ReadTimeout):
        return True
    reason = error.args[0] if error.args else None
    return isinstance(reason, ReadTimeoutError)


def _comparable(body: str | None) -> str:
    return unicodedata.normalize("NFC", (body or "").replace("\r\n", "\n")).strip()


def transport_for(channel: str) -> Transport:
    if channel == "email":
        return Email()
    return import_string(settings.SMS_TRANSPORT)()
