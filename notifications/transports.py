"""How a message leaves the system: one small transport per channel.

Modelled on healthchecks' transports: `notify(message)` sends or raises
TransportError; `permanent=True` means retrying cannot help.
"""

import email.utils
import logging
import threading
import time

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)


class TransportError(Exception):
    """Sending failed. `permanent`: retrying cannot help. `retry_after`: seconds
    the provider asked us to wait (its Retry-After), when it said so."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


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
    def notify(self, message) -> str:
        try:
            send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.recipient])
        except OSError as error:
            raise TransportError(str(error)) from error
        return ""


# Twilio error codes that no retry can fix: invalid number, the person replied
# STOP, region not enabled on the account, a landline.
TWILIO_PERMANENT_CODES = {21211, 21610, 21408, 21614}
# 4xx codes that are worth retrying: rate limited, too many messages queued on the sender.
TWILIO_TRANSIENT_CODES = {20429, 21611}


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


def _twilio_client() -> Client:
    """One client per thread and configuration: its requests session keeps the
    TLS connection to Twilio open between messages."""
    key = (
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL, settings.TWILIO_TIMEOUT
    )
    cached = getattr(_twilio_clients, "cached", None)
    if cached is None or cached[0] != key:
        client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=_TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT),
        )
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
    other client errors; transient for 429, 5xx and network failures.
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
            # Connection refused, reset, timeout: Twilio may or may not have the message.
            raise TransportError(f"No answer from Twilio: {error}") from error
        except TwilioException as error:
            raise self._error(error, client.http_client.last_response) from error
        return created.sid

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


def transport_for(channel: str) -> Transport:
    if channel == "email":
        return Email()
    return import_string(settings.SMS_TRANSPORT)()
