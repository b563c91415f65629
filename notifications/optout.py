"""The opt-out link in reminders: a short signed token and its page.

Twilio's route to Vietnam is one-way (no STOP replies), so each reminder
carries SITE_URL/sms/optout/<token>/. The token names a registration (never
the phone, which would end up in logs and browser histories) and is signed
with SECRET_KEY; 72 bits of HMAC keep the SMS short. Opening the link shows
what will stop; one POST records SmsOptOut(source="link") for the number.
No login: whoever holds the link received the SMS.
"""

import base64
import re

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from attendance.models import Registration
from common.phone import phone_display
from notifications.models import SmsOptOut
from notifications.services import sms_opt_out

SALT = "notifications.optout"
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([A-Za-z0-9_-]{12})$")


def _signature(value: str) -> str:
    digest = salted_hmac(SALT, value, algorithm="sha256").digest()[:9]
    return base64.urlsafe_b64encode(digest).decode()


def optout_token_make(registration_id: int) -> str:
    """A URL-safe token for the opt-out link of a registration, ~17 characters."""
    value = int_to_base36(registration_id)
    return f"{value}-{_signature(value)}"


def optout_token_read(token: str) -> int | None:
    """The registration id a token was made for, or None when we did not make it."""
    match = _TOKEN.match(token or "")
    if match is None or not constant_time_compare(match[2], _signature(match[1])):
        return None
    return base36_to_int(match[1])


def optout_url(registration) -> str:
    return settings.SITE_URL + reverse("sms_optout:optout", args=[optout_token_make(registration.pk)])


def _masked(phone: str) -> str:
    """0912 ••• 678: enough to recognise one's number on a forwarded link."""
    shown = phone_display(phone)
    digits = [i for i, c in enumerate(shown) if c.isdigit()]
    hidden = set(digits[4:-3])
    return "".join("•" if i in hidden else c for i, c in enumerate(shown))


def _private(response):
    patch_cache_control(response, private=True, max_age=0)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# The token in the URL is the credential, and a forged cross-site POST would
# need it too; without CSRF the one tap also works in in-app browsers that
# drop cookies.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def optout(request, token):
    registration_id = optout_token_read(token)
    registration = Registration.objects.filter(pk=registration_id).first() if registration_id else None
    if registration is None or not registration.phone:
        return _private(render(request, "notifications/optout_invalid.html", status=404))
    if request.method == "POST":
        sms_opt_out(phone=registration.phone, source=SmsOptOut.Source.LINK)
        return redirect(request.path)
    context = {
        "phone": _masked(registration.phone),
        "opted_out": SmsOptOut.objects.filter(phone=registration.phone).exists(),
    }
    return _private(render(request, "notifications/optout.html", context))
