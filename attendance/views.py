"""The citizen's side of attendance: register for a date, see and cancel a ticket,
find my tickets. No account: a ticket is reached only through its secret URL,
and the list of a phone's tickets only through a signed link sent to that phone.

Pages are light (no JavaScript, one small stylesheet) for phones on weak data.
Writes go through attendance.services; every refusal it raises is shown in the
visitor's language, never as a server error.
"""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from attendance import qr
from attendance.forms import GroupRegistrationForm, RegistrationForm, TicketLookupForm
from attendance.models import Registration, Ticket
from attendance.registration_sql import date_for_page
from attendance.selectors import registrations_for_phone, waiting_count
from attendance.services import (
    RegistrationError,
    lookup_token_read,
    registration_cancel,
    registration_create,
    registration_window_check,
    ticket_lookup_send,
    waiting_position,
)
from common.throttle import client_ip, throttle_hits
from events.models import Occurrence

# (attempts, seconds) per scope; settings.ATTENDANCE_THROTTLES overrides any of them.
THROTTLES = {
    "register_ip": (20, 600),
    "register_phone": (5, 600),
    "lookup_ip": (10, 600),
    # Every look-up may cost an SMS (2-3 segments in Vietnamese).
    "lookup_phone": (3, 3600),
}

# Refusals that concern the date, not what the visitor typed: the page shows the
# reason instead of the form.
DATE_REFUSALS = {"not_open", "cancelled", "started", "walk_in_only", "not_yet_open", "closed"}

# Registrations this browser made, so that registering again from the same
# browser opens the ticket; anyone else typing the same phone gets an SMS instead.
# Kept in a signed cookie: a citizen has no session, and registering writes no
# session row.
MADE_HERE_COOKIE = "registrations"
MADE_HERE_SALT = "attendance.made-here"
MADE_HERE_KEPT = 20
MADE_HERE_MAX_AGE = 400 * 24 * 3600

# -- helpers ----------------------------------------------------------------------------


def _attempt_within_limits(request, kind: str, phone: str | None) -> tuple[bool, int]:
    """Count an attempt ("register", "lookup") for the client's address and, once
    the form gave one, for its phone, in one round trip to the cache."""
    return _within_limits([(f"{kind}_ip", client_ip(request))] + ([(f"{kind}_phone", phone)] if phone else []))


def _within_limits(hits: list[tuple[str, str]]) -> tuple[bool, int]:
    """Count one attempt for each (scope, key), in one round trip to the cache:
    (True, 0) when all are within their limits, else (False, the window of the
    first one over it)."""
    throttles = {**THROTTLES, **getattr(settings, "ATTENDANCE_THROTTLES", {})}
    limits = [(scope, key, *throttles[scope]) for scope, key in hits]
    for allowed, (_scope, _key, _limit, window) in zip(throttle_hits(limits), limits):
        if not allowed:
            return False, window
    return True, 0


def _throttled(request, window: int) -> HttpResponse:
    response = render(request, "attendance/throttled.html", {"minutes": max(window // 60, 1)}, status=429)
    response.headers["Retry-After"] = str(window)
    return response


def _private(response: HttpResponse, *, max_age: int = 0) -> HttpResponse:
    """Headers of a page or image reached through a secret: never cached by shared
    caches, never indexed, and the secret URL never sent on as a referrer."""
    patch_cache_control(response, private=True, max_age=max_age)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _ticket_or_404(secret: str) -> Ticket:
    if len(secret) > 64:
        raise Http404
    return get_object_or_404(
        Ticket.objects.select_related(
            "registration__occurrence__programme__event", "registration__occurrence__venue"
        ),
        secret=secret,
    )


def _made_here_ids(request) -> list[int]:
    """The registrations this browser made (a forged or altered cookie counts as none)."""
    value = request.get_signed_cookie(MADE_HERE_COOKIE, default="", salt=MADE_HERE_SALT)
    return [int(part) for part in value.split(".") if part.isdigit()]


def _remember(request, response: HttpResponse, registration: Registration) -> None:
    ids = [pk for pk in _made_here_ids(request) if pk != registration.pk]
    response.set_signed_cookie(
        MADE_HERE_COOKIE, ".".join(str(pk) for pk in (ids + [registration.pk])[-MADE_HERE_KEPT:]),
        salt=MADE_HERE_SALT, max_age=MADE_HERE_MAX_AGE, secure=settings.SESSION_COOKIE_SECURE, httponly=True,
        samesite="Lax",
    )


def _made_here(request, registration: Registration) -> bool:
    return registration.pk in _made_here_ids(request)


# -- registration -------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def register(request, pk):
    if request.method == "POST":
        return _register_post(request, pk)
    return _register_page(request, pk)


def _register_post(request, pk):
    """A registration: the form's own checks, then registration_create, which reads
    and locks the date. The date is read for a page only when one is shown again."""
    form_class = GroupRegistrationForm if request.GET.get("group") == "1" else RegistrationForm
    form = form_class(request.POST, occurrence=None)
    valid = form.is_valid()
    allowed, window = _attempt_within_limits(request, "register", form.cleaned_data["phone"] if valid else None)
    if not allowed:
        return _throttled(request, window)
    if not valid:
        return _register_page(request, pk, data=request.POST)
    try:
        outcome = registration_create(occurrence_id=pk, language=get_language(), **form.registration_fields())
    except Occurrence.DoesNotExist as missing:
        raise Http404 from missing
    except RegistrationError as error:
        return _register_page(request, pk, data=request.POST, error=error)
    return _registered(request, outcome)


def _register_page(request, pk, *, data=None, error: RegistrationError | None = None):
    """The date's registration form (with `data`: as submitted, with its errors and
    the service's `error`), or why the date takes no registration."""
    # Drafts have no public page; a cancelled programme or a closed venue shows why.
    occurrence = date_for_page(pk)
    if occurrence is None:
        raise Http404
    programme = occurrence.programme
    group = programme.group_bookings and request.GET.get("group") == "1"
    form_class = GroupRegistrationForm if group else RegistrationForm
    if error is not None and error.code in DATE_REFUSALS:
        return _register_refused(request, occurrence, error)
    try:
        registration_window_check(occurrence, now=timezone.now())
    except RegistrationError as refusal:
        return _register_refused(request, occurrence, refusal)

    if data is None:
        form = form_class(occurrence=occurrence)
    else:
        # Checked again with the date's own limits; the service's refusal is shown
        # when those find nothing (it would repeat them otherwise).
        form = form_class(data, occurrence=occurrence)
        if form.is_valid() and error is not None:
            form.add_service_error(error)
    context = {
        "occurrence": occurrence,
        "programme": programme,
        "venue": occurrence.venue,
        "form": form,
        "group": group,
        # Someone already waiting means newcomers wait too (arrival order).
        "joins_waiting_list": occurrence.is_full or waiting_count(occurrence) > 0,
    }
    return render(request, "attendance/register.html", context)


def _register_refused(request, occurrence: Occurrence, error: RegistrationError) -> HttpResponse:
    context = {"occurrence": occurrence, "programme": occurrence.programme, "venue": occurrence.venue, "error": error}
    return render(request, "attendance/register_refused.html", context)


def _registered(request, outcome) -> HttpResponse:
    registration = outcome.registration
    if outcome.created:
        response = redirect(registration.ticket)
        _remember(request, response, registration)
        return response
    if _made_here(request, registration):
        messages.info(request, _("You were already registered for this date: here is your ticket."))
        return redirect(registration.ticket)
    # Someone typed a phone that is already registered. Showing that ticket would
    # let anyone who knows a number see (and cancel) its ticket, so the link goes
    # to the phone by SMS, as "Find my tickets" does, and at most as often.
    allowed, _window = _within_limits([("lookup_phone", registration.phone)])
    if allowed:
        ticket_lookup_send(phone=registration.phone, language=get_language(), now=timezone.now())
    messages.info(
        request, _("This phone number is already registered for this date. We sent a link to its tickets by SMS.")
    )
    return redirect("attendance:ticket_lookup_sent")


# -- ticket -------------------------------------------------------------------------------


def _can_cancel(registration: Registration, *, now: dt.datetime) -> bool:
    return registration.status in Registration.ACTIVE and registration.occurrence.end > now


@require_safe
def ticket_detail(request, secret):
    ticket = _ticket_or_404(secret)
    registration = ticket.registration
    occurrence = registration.occurrence
    now = timezone.now()
    context = {
        "ticket": ticket,
        "registration": registration,
        "occurrence": occurrence,
        "programme": occurrence.programme,
        "venue": occurrence.venue,
        "position": waiting_position(registration),
        "show_qr": registration.status == Registration.Status.CONFIRMED and not occurrence.cancelled,
        "is_active": registration.status in Registration.ACTIVE,
        "can_cancel": _can_cancel(registration, now=now) and not ticket.admitted,
        "is_past": occurrence.end <= now,
    }
    return _private(render(request, "attendance/ticket.html", context))


def _qr_response(content: bytes, content_type: str) -> HttpResponse:
    # The image never changes for a ticket, but the ticket may be cancelled: a day.
    return _private(HttpResponse(content, content_type=content_type), max_age=86400)


def _confirmed_ticket_or_404(secret: str) -> Ticket:
    ticket = _ticket_or_404(secret)
    if ticket.registration.status != Registration.Status.CONFIRMED:
        raise Http404
    return ticket


@require_safe
def ticket_qr_png(request, secret):
    ticket = _confirmed_ticket_or_404(secret)
    return _qr_response(qr.qr_png(ticket.secret), "image/png")


@require_safe
def ticket_qr_svg(request, secret):
    ticket = _confirmed_ticket_or_404(secret)
    return _qr_response(qr.qr_svg(ticket.secret), "image/svg+xml")


@require_http_methods(["GET", "HEAD", "POST"])
def ticket_cancel(request, secret):
    ticket = _ticket_or_404(secret)
    registration = ticket.registration
    if registration.status not in Registration.ACTIVE:
        return redirect(ticket)
    if not _can_cancel(registration, now=timezone.now()):
        messages.error(request, _("This date is over: the registration can no longer be cancelled."))
        return redirect(ticket)
    if request.method == "POST":
        try:
            registration_cancel(registration_id=registration.pk)
        except RegistrationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Your registration is cancelled. Thank you for freeing the seat."))
        return redirect(ticket)
    context = {"ticket": ticket, "registration": registration, "occurrence": registration.occurrence}
    return _private(render(request, "attendance/ticket_cancel.html", context))


# -- find my tickets ----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def ticket_lookup_start(request):
    if request.method == "POST":
        form = TicketLookupForm(request.POST)
        valid = form.is_valid()
        allowed, window = _attempt_within_limits(request, "lookup", form.cleaned_data["phone"] if valid else None)
        if not allowed:
            return _throttled(request, window)
        if valid:
            phone = form.cleaned_data["phone"]
            ticket_lookup_send(phone=phone, language=get_language(), now=timezone.now())
            # The same answer whether or not the number has tickets.
            return redirect("attendance:ticket_lookup_sent")
    else:
        form = TicketLookupForm()
    return render(request, "attendance/lookup.html", {"form": form})


@require_safe
def ticket_lookup_sent(request):
    return render(request, "attendance/lookup_sent.html")


@require_safe
def ticket_lookup(request, token):
    try:
        phone = lookup_token_read(token)
    except signing.SignatureExpired:
        return _private(render(request, "attendance/lookup_invalid.html", {"expired": True}, status=410))
    except signing.BadSignature:
        return _private(render(request, "attendance/lookup_invalid.html", {"expired": False}, status=404))
    now = timezone.now()
    registrations = list(registrations_for_phone(phone=phone, now=now))
    context = {
        "upcoming": [r for r in registrations if r.occurrence.end > now],
        "recent": [r for r in registrations if r.occurrence.end <= now],
    }
    return _private(render(request, "attendance/lookup_list.html", context))
