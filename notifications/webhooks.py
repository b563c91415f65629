"""What Twilio tells us: delivery status of our messages, and replies (STOP/START).

Every request must carry Twilio's signature of the public URL and the form
(X-Twilio-Signature, checked with twilio's own RequestValidator); anything else
is answered 403 and changes nothing.
"""

import functools
import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifications.models import Message, SmsOptOut

logger = logging.getLogger(__name__)

S = Message.Status
# Twilio's message statuses as ours.
TWILIO_STATUSES = {
    "accepted": S.QUEUED,
    "scheduled": S.QUEUED,
    "queued": S.QUEUED,
    "sending": S.SENT,
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "failed": S.FAILED,
    "canceled": S.FAILED,
}
# Statuses a callback may move a message out of, for each status it reports.
# Callbacks arrive in any order, so a status only ever moves forward along
# queued → sent → delivered / undelivered / failed, and the final ones are final.
# A pending message is waiting for a (re)send: news about an earlier attempt must not stop it.
EARLIER = {
    S.QUEUED: [],
    S.SENT: [S.QUEUED],
    S.DELIVERED: [S.QUEUED, S.SENT],
    S.UNDELIVERED: [S.QUEUED, S.SENT],
    S.FAILED: [S.QUEUED, S.SENT],
}

OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}


def twilio_signed(view):
    """403 unless the request is signed with our auth token.

    The signature covers the URL Twilio called, which is the public one: a proxy
    in front terminates TLS, so the URL Django sees would not match.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        # Without a token any "signature" made with an empty key would pass.
        if not settings.TWILIO_AUTH_TOKEN or not signature:
            return HttpResponseForbidden()
        url = settings.SITE_URL + request.get_full_path()
        if not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature):
            logger.warning("Twilio webhook %s with a bad signature", request.path)
            return HttpResponseForbidden()
        return view(request, *args, **kwargs)

    return wrapper


@csrf_exempt
@require_POST
@twilio_signed
def status_callback(request):
    """Twilio reports a message's status. Always 200 once signed: Twilio must
    not retry news about a message we do not know or have moved past."""
    sid = request.POST.get("MessageSid", "")
    status = TWILIO_STATUSES.get(request.POST.get("MessageStatus") or request.POST.get("SmsStatus", ""))
    if sid and status:
        sms_status_record(provider_id=sid, status=status, error_code=request.POST.get("ErrorCode", ""))
    return HttpResponse(status=200)


def sms_status_record(*, provider_id: str, status: str, error_code: str = "") -> bool:
    """Move the SMS with `provider_id` to `status` if that is forward in its
    lifecycle. One conditional UPDATE, so concurrent callbacks cannot move it
    backwards. Returns whether the message changed."""
    fields = {"status": status, "status_changed_at": timezone.now()}
    if error_code:
        fields["last_error"] = f"Twilio error {error_code}"
    changed = Message.objects.filter(
        channel=Message.Channel.SMS, provider_id=provider_id, status__in=EARLIER[status]
    ).update(**fields)
    return bool(changed)


@csrf_exempt
@require_POST
@twilio_signed
def inbound(request):
    """A reply to our number: STOP-like words opt the number out of reminders,
    START-like words opt it back in. Twilio gets an empty TwiML answer (no reply SMS)."""
    phone = request.POST.get("From", "")
    keyword = request.POST.get("Body", "").strip(" \t\r\n.!").upper()
    if phone and keyword in OPT_OUT_KEYWORDS:
        SmsOptOut.objects.get_or_create(phone=phone, defaults={"source": SmsOptOut.Source.STOP})
    elif phone and keyword in OPT_IN_KEYWORDS:
        SmsOptOut.objects.filter(phone=phone).delete()
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")
