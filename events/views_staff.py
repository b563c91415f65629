"""Staff pages: the venues a user works for, their programmes and dates.

Every view asks venues.selectors who may do what: a venue or programme the
user may not view is a 404 (its existence is not revealed); one they may view
but not manage is a 403 for changes. Writes go through events.services.
"""


from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Min, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events import services
from events.forms import OccurrenceCapacityForm, OccurrenceMoveForm, ProgrammeForm
from events.models import Occurrence, Programme
from events.services import ProgrammeError
from venues.access import get_for_staff_or_404, safe_next, staff_required
from venues.models import Venue
from venues.selectors import DOOR, MANAGE, VIEW, user_can, venues_for_user

PROGRAMMES_PER_PAGE = 30
OCCURRENCES_PER_PAGE = 50


def _venue(request, slug: str, capability: str = VIEW) -> Venue:
    return get_for_staff_or_404(request, Venue.objects.select_related("admin_unit"), "", capability, slug=slug)


def _programme(request, pk: int, capability: str = VIEW) -> Programme:
    return get_for_staff_or_404(request, Programme.objects.select_related("event", "venue"), "venue", capability, pk=pk)


def _occurrence(request, pk: int, capability: str = VIEW) -> Occurrence:
    return get_for_staff_or_404(
        request, Occurrence.objects.select_related("programme__event", "venue"), "venue", capability, pk=pk
    )


def _programme_url(programme: Programme) -> str:
    return reverse("staff:programme_detail", args=[programme.pk])


@staff_required
def home(request):
    user = request.user
    now = timezone.now()
    visible = venues_for_user(user, VIEW)
    venues = (
        Venue.objects.filter(pk__in=visible)
        .select_related("admin_unit__parent")
        .annotate(
            programme_count=Count("programmes", filter=~Q(programmes__status=Programme.Status.CANCELLED), distinct=True),
            upcoming_count=Count(
                "occurrences",
                filter=Q(occurrences__end__gt=now, occurrences__cancelled=False)
                & ~Q(occurrences__programme__status=Programme.Status.CANCELLED),
                distinct=True,
            ),
        )
    )
    manageable = set(venues_for_user(user, MANAGE).values_list("pk", flat=True))
    groups: dict = {}
    for venue in venues:
        venue.can_manage = venue.pk in manageable
        province = venue.admin_unit.province
        groups.setdefault(province, []).append(venue)
    grouped = sorted(groups.items(), key=lambda item: item[0].name if item[0] else "")
    return render(request, "staff/home.html", {"groups": grouped, "venue_count": len(venues)})


@staff_required
def venue_detail(request, slug):
    venue = _venue(request, slug)
    now = timezone.now()
    programmes = (
        Programme.objects.filter(venue=venue)
        .select_related("event")
        .annotate(
            next_start=Min("occurrences__start", filter=Q(occurrences__end__gt=now, occurrences__cancelled=False))
        )
        .order_by("-created_at")
    )
    status = request.GET.get("status", "")
    if status in Programme.Status.values:
        programmes = programmes.filter(status=status)
    page = Paginator(programmes, PROGRAMMES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/venue.html",
        {
            "venue": venue,
            "page": page,
            "status": status,
            "statuses": Programme.Status.choices,
            "can_manage": user_can(request.user, MANAGE, venue),
            "can_door": user_can(request.user, DOOR, venue),
        },
    )


@staff_required
def programme_detail(request, pk):
    programme = _programme(request, pk)
    now = timezone.now()
    past = request.GET.get("when") == "past"
    occurrences = Occurrence.objects.filter(programme=programme)
    occurrences = occurrences.filter(end__lte=now).order_by("-start") if past else occurrences.filter(end__gt=now)
    page = Paginator(occurrences, OCCURRENCES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/programme_detail.html",
        {
            "programme": programme,
            "venue": programme.venue,
            "audiences": programme.audiences.all(),
            "page": page,
            "past": past,
            "can_manage": user_can(request.user, MANAGE, programme.venue),
        },
    )


@staff_required
def programme_create(request, slug):
    venue = _venue(request, slug, MANAGE)
    form = ProgrammeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.programme_create(venue=venue, created_by=request.user, **form.service_kwargs())
            if "publish" in request.POST:
                services.programme_publish(programme=programme)
        except ProgrammeError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("The programme was created."))
            return redirect(_programme_url(programme))
    return render(request, "staff/programme_form.html", {"form": form, "venue": venue, "programme": None})


@staff_required
def programme_edit(request, pk):
    programme = _programme(request, pk, MANAGE)
    if programme.status == Programme.Status.CANCELLED:
        return _refuse_cancelled(request, programme)
    form = ProgrammeForm(request.POST or None, request.FILES or None, programme=programme)
    if request.method == "POST" and form.is_valid():
        try:
            services.programme_update(programme=programme, **form.service_kwargs())
        except ProgrammeError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("The programme was saved."))
            return redirect(_programme_url(programme))
    return render(
        request, "staff/programme_form.html", {"form": form, "venue": programme.venue, "programme": programme}
    )


def _refuse_cancelled(request, programme):
    # The service refuses the change too; this spares staff a form they cannot save.
    messages.error(request, _("A cancelled programme cannot be changed."))
    return redirect(_programme_url(programme))


def _programme_action(request, programme, action, success_message):
    try:
        action(programme=programme)
    except ProgrammeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success_message)
    return redirect(safe_next(request, _programme_url(programme)))


@staff_required
@require_POST
def programme_publish(request, pk):
    programme = _programme(request, pk, MANAGE)
    return _programme_action(request, programme, services.programme_publish, _("The programme is published."))


@staff_required
@require_POST
def programme_unpublish(request, pk):
    programme = _programme(request, pk, MANAGE)
    return _programme_action(request, programme, services.programme_unpublish, _("The programme is no longer public."))


@staff_required
def programme_cancel(request, pk):
    """GET asks for confirmation; POST cancels the programme and its future dates."""
    programme = _programme(request, pk, MANAGE)
    if request.method == "POST":
        return _programme_action(request, programme, services.programme_cancel, _("The programme is cancelled."))
    upcoming = Occurrence.objects.filter(programme=programme, start__gt=timezone.now(), cancelled=False).count()
    return render(
        request,
        "staff/programme_cancel.html",
        {"programme": programme, "venue": programme.venue, "upcoming": upcoming},
    )


def _occurrence_action(request, occurrence, action, success_message):
    try:
        action(occurrence=occurrence)
    except ProgrammeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success_message)
    return redirect(safe_next(request, _programme_url(occurrence.programme)))


@staff_required
@require_POST
def occurrence_cancel(request, pk):
    occurrence = _occurrence(request, pk, MANAGE)
    return _occurrence_action(request, occurrence, services.occurrence_cancel, _("The date is cancelled."))


@staff_required
@require_POST
def occurrence_restore(request, pk):
    occurrence = _occurrence(request, pk, MANAGE)
    return _occurrence_action(request, occurrence, services.occurrence_restore, _("The date is restored."))


def _occurrence_form(request, pk, form_class, action, template, success_message):
    occurrence = _occurrence(request, pk, MANAGE)
    form = form_class(request.POST or None, occurrence=occurrence)
    if request.method == "POST" and form.is_valid():
        try:
            action(occurrence=occurrence, **form.service_kwargs())
        except ProgrammeError as error:
            form.add_service_error(error)
        else:
            messages.success(request, success_message)
            return redirect(safe_next(request, _programme_url(occurrence.programme)))
    context = {
        "form": form,
        "occurrence": occurrence,
        "programme": occurrence.programme,
        "venue": occurrence.venue,
        "next": safe_next(request, ""),
    }
    return render(request, template, context)


@staff_required
def occurrence_move(request, pk):
    return _occurrence_form(
        request, pk, OccurrenceMoveForm, services.occurrence_move, "staff/occurrence_move.html", _("The date was moved.")
    )


@staff_required
def occurrence_capacity(request, pk):
    return _occurrence_form(
        request,
        pk,
        OccurrenceCapacityForm,
        services.occurrence_set_capacity,
        "staff/occurrence_capacity.html",
        _("The capacity of this date was saved."),
    )
