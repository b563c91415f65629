"""The scanner page at the door, the venue picker, and the service worker that
keeps the page working offline.

The page decides nothing itself while online: it calls the door API
(attendance.api). Offline it decides from today's list with the server's
order of checks and queues what it did for /api/door/sync.
"""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from attendance.models import WalkIn
from attendance.selectors import occurrences_of_day, venue_day_counts
from attendance.texts import SCAN_COLOURS, SCAN_MESSAGES
from venues.access import staff_required
from venues.selectors import DOOR, VIEW, user_can, venues_for_user

# What the service worker keeps for the page to open with no network.
STATIC_FILES = [
    "css/site.css",
    "door/door.css",
    "door/scanner.js",
    "vendor/qr-scanner/qr-scanner.umd.min.js",
]
# qr-scanner imports its decoder from next to itself by its plain name, also
# when the library itself is served under a hashed name (manifest storage).
QR_WORKER = "vendor/qr-scanner/qr-scanner-worker.min.js"


@staff_required
def venue_picker(request):
    venues = list(venues_for_user(request.user, DOOR).order_by("name", "pk"))
    if not venues:
        raise PermissionDenied
    return render(request, "door/venues.html", {"venues": venues})


@staff_required
@ensure_csrf_cookie
def scanner(request, slug):
    # A venue the user may not even view does not exist for them (as on staff pages).
    venue = get_object_or_404(venues_for_user(request.user, VIEW), slug=slug)
    if not user_can(request.user, DOOR, venue):
        raise PermissionDenied
    day = timezone.localdate()
    page_url = reverse("door:scanner", args=[venue.slug])
    config = {
        "venue": venue.slug,
        "day": day.isoformat(),
        "urls": {
            "scan": reverse("door-scan"),
            "undo": reverse("door-undo"),
            "walkins": reverse("door-walkins"),
            "walkins_undo": reverse("door-walkins-undo"),
            "sync": reverse("door-sync"),
            "today": reverse("door-today"),
            "sw": reverse("door:sw"),
            "sw_scope": reverse("door:venues"),
            "login": f"{reverse('login')}?next={page_url}",
            "page": page_url,
        },
        "precache": _precache_urls(page_url),
        "csrf_token": get_token(request),
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "checkin_opens_minutes": settings.CHECKIN_OPENS_MINUTES,
        "checkin_closes_minutes": settings.CHECKIN_CLOSES_MINUTES,
        "walkin_max": settings.WALKIN_MAX_COUNT,
        "time_zone": settings.TIME_ZONE,
        "counts": venue_day_counts(venue=venue, day=day),
        "rendered_at": timezone.now().isoformat(),
        "messages": {str(code): str(text) for code, text in SCAN_MESSAGES.items()},
        "colours": {str(code): colour for code, colour in SCAN_COLOURS.items()},
        "strings": page_strings(),
    }
    context = {
        "venue": venue,
        "day": day,
        "occurrences": occurrences_of_day(venue=venue, day=day),
        "audiences": WalkIn.Audience.choices,
        "config": config,
    }
    return render(request, "door/scanner.html", context)


def _precache_urls(page_url: str) -> list[str]:
    urls = [page_url, *(static(path) for path in STATIC_FILES), settings.STATIC_URL + QR_WORKER]
    return list(dict.fromkeys(urls))


def page_strings() -> dict:
    """What the page says on its own (offline, syncing, details of an answer)."""
    return {
        "offline": _("Offline: answers are decided on this phone from today's list."),
        "no_list": _("Offline and no list of today's tickets on this phone: every code is unknown."),
        "list_saved": _("Today's list saved at %(time)s."),
        "decided_offline": _("Decided on this phone (offline)."),
        "waiting_one": _("1 scan waiting to sync"),
        "waiting_many": _("%(count)s scans waiting to sync"),
        "syncing": _("Syncing…"),
        "refused": _("The server refused %(count)s queued actions."),
        "login_again": _("Your session has ended: log in again to sync."),
        "first_checkin": _("First check-in: %(when)s"),
        "by_user": _("by %(user)s"),
        "on_device": _("device %(device)s"),
        "ticket_for": _("Ticket for: %(when)s"),
        "party": _("Party of %(count)s"),
        "admitted": _("%(admitted)s of %(party)s admitted"),
        "admitted_now": _("Admitted now: %(count)s"),
        "walkins_added": _("+%(count)s walk-in visitors"),
        "scan_undone": _("Check-in undone."),
        "walkin_undone": _("Walk-in count undone."),
        "nothing_to_undo": _("Nothing to undo."),
        "camera_failed": _("The camera could not be started."),
        "camera_start": _("Start camera"),
        "camera_stop": _("Stop camera"),
        "error": _("Something went wrong. Try again."),
    }


@never_cache
def service_worker(request):
    """The service worker script, served under /door/ so that its scope covers
    the scanner pages (static files are served from elsewhere)."""
    response = HttpResponse(_service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("door:venues")
    return response


def _service_worker_source() -> str:
    # A few kB, read when a browser checks for an update (at most once a page load).
    path = finders.find("door/sw.js")
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read()
    with staticfiles_storage.open("door/sw.js") as file:
        return file.read().decode("utf-8")
