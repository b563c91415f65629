"""The public site: listing, occurrence, programme and venue pages.

Thin views: the forms turn the query string into filters, events.selectors
reads the rows, templates show them. Nothing here needs a login.
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from events import selectors
from events.forms_public import OccurrenceFilterForm, VenueFilterForm

OCCURRENCES_PER_PAGE = 20
VENUES_PER_PAGE = 30
PROGRAMME_NEXT_DATES = 10
VENUE_NEXT_DATES = 20


def occurrence_list(request):
    form = OccurrenceFilterForm(request.GET or None)
    listing = selectors.occurrence_listing(
        filters=form.filters(), page_number=request.GET.get("page"), per_page=OCCURRENCES_PER_PAGE
    )
    return render(
        request,
        "public/occurrence_list.html",
        {"form": form, "listing": listing, "ongoing": listing.ongoing, "page": listing.page},
    )


def occurrence_detail(request, pk):
    occurrence = get_object_or_404(selectors.occurrences_public(), pk=pk)
    now = timezone.now()
    programme = occurrence.programme
    # The registration page itself explains a closed window; this only hides the
    # button where registering can never apply.
    can_register = programme.registration_required and not occurrence.cancelled and occurrence.start > now
    return render(
        request,
        "public/occurrence_detail.html",
        {"occurrence": occurrence, "programme": programme, "is_past": occurrence.end <= now, "can_register": can_register},
    )


def programme_detail(request, pk):
    programme = get_object_or_404(selectors.programmes_public(), pk=pk)
    next_occurrences = selectors.programme_next_occurrences(programme=programme, limit=PROGRAMME_NEXT_DATES)
    return render(
        request,
        "public/programme_detail.html",
        {"programme": programme, "next_occurrences": next_occurrences, "next_limit": PROGRAMME_NEXT_DATES},
    )


def venue_list(request):
    form = VenueFilterForm(request.GET or None)
    venues = selectors.venues_list(**form.filters())
    page = Paginator(venues, VENUES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "public/venue_list.html", {"form": form, "page": page})


def venue_detail(request, slug):
    venue = get_object_or_404(selectors.venues_public(), slug=slug)
    upcoming = selectors.venue_upcoming_occurrences(venue=venue, limit=VENUE_NEXT_DATES)
    return render(
        request,
        "public/venue_detail.html",
        {"venue": venue, "upcoming": upcoming, "upcoming_limit": VENUE_NEXT_DATES},
    )
