"""How a message leaves the system: one small transport per channel.

Modelled on healthchecks' transports: `notify(message)` sends or raises
TransportError; `permanent=True` means retrying cannot help.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


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


def transport_for(channel: str) -> Transport:
    if channel == "email":
        return Email()
    return import_string(settings.SMS_TRANSPORT)()
