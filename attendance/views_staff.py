"""Staff pages for one date's registrations: the list with its counts, the
desk, cancel / approve / decline, attendance entered by hand, and the CSV and
Excel exports.

Who may do what (venues.selectors), following events/views_staff.py: a date or
registration of a venue the user may not view is a 404; a change without the
capability is a 403.
- Everyone who may view the venue (officers too) reads the list and its counts.
- The venue's own staff, managers and door staff (DOOR), register visitors at
  the desk and cancel registrations: both happen at the door.
- Only managers (MANAGE) approve or decline groups: that is a decision about
  the programme, not a door task.
- Only managers (MANAGE) enter attendance by hand for a date whose tickets
  were not scanned: it becomes the date's visits in every report. Everyone who
  may view the list sees the entry, who made it and its corrections.
- Exports carry every name, phone and email of the date, so they are for the
  venue's own staff only (DOOR), not for officers (Decree 13/2023/NĐ-CP: share
  personal data no wider than its purpose). For the same reason officers see
  the list without phone numbers.
Writes go through attendance.services; a RegistrationError becomes a message.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from attendance import exports, selectors, services
from attendance.forms import ManualAttendanceForm
from attendance.models import ManualAttendance, Registration
from attendance.services import ManualAttendanceError, RegistrationError
from common.numbers import number_text
from common.phone import phone_display
from events.models import Occurrence
from venues.access import get_for_staff_or_404, safe_next, staff_required
from venues.selectors import DOOR, MANAGE, VIEW, user_can

REGISTRATIONS_PER_PAGE = 50
# Exports and phone numbers: the venue's own staff (managers and door staff).
PERSONAL_DATA = DOOR
# Far above any programme's limit; keeps a typo out of a small-integer column.
MAX_PARTY_SIZE = 999


# -- lookups ------------------------------------------------------------------------


def _occurrence(request, pk: int, capability: str = VIEW) -> Occurrence:
    return get_for_staff_or_404(
        request, Occurrence.objects.select_related("programme__event", "venue"), "venue", capability, pk=pk
    )


def _registration(request, pk: int, capability: str) -> Registration:
    return get_for_staff_or_404(
        request,
        Registration.objects.select_related("occurrence__programme", "occurrence__venue"),
        "occurrence__venue",
        capability,
        pk=pk,
    )


def _list_url(occurrence: Occurrence) -> str:
    return reverse("staff_attendance:registrations", args=[occurrence.pk])


def _name(registration: Registration) -> str:
    return registration.full_name or _("(erased)")


# -- the list -----------------------------------------------------------------------


@staff_required
@never_cache
def registration_list(request, pk):
    occurrence = _occurrence(request, pk)
    return render(request, "staff/attendance/registration_list.html", _list_context(request, occurrence))


def _list_context(request, occurrence: Occurrence, manual_form: ManualAttendanceForm | None = None) -> dict:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in Registration.Status.values:
        status = ""
    registrations = selectors.registrations_for_occurrence(occurrence=occurrence, query=query, status=status)
    page = Paginator(registrations, REGISTRATIONS_PER_PAGE).get_page(request.GET.get("page"))

    user = request.user
    venue = occurrence.venue
    can_see_phones = user_can(user, PERSONAL_DATA, venue)
    can_manage = user_can(user, MANAGE, venue)
    waiting = selectors.registrations_for_occurrence(occurrence=occurrence, status=Registration.Status.WAITING)
    positions = {pk: n for n, pk in enumerate(waiting.values_list("pk", flat=True), start=1)}
    rows = list(page.object_list)
    for registration in rows:
        registration.position = positions.get(registration.pk)
        registration.phone_shown = phone_display(registration.phone) if can_see_phones else ""
        registration.admitted = registration.ticket.admitted if hasattr(registration, "ticket") else 0

    counts = selectors.occurrence_counts(occurrence=occurrence)
    manual_history = list(
        ManualAttendance.objects.filter(occurrence=occurrence).select_related("entered_by").order_by("-entered_at", "-pk")
    )
    for entry in manual_history:
        user_ = entry.entered_by
        entry.who = (user_.get_full_name() or user_.get_username()) if user_ else "—"
        entry.count_shown = number_text(entry.count)
    manual_current = next((entry for entry in manual_history if entry.superseded_at is None), None)
    # A posted form is shown again with its errors; a blank one only where an entry is possible.
    if not can_manage:
        manual_form = None
    elif manual_form is None and _takes_manual_attendance(occurrence, counts):
        initial = {"count": manual_current.count, "audience": manual_current.audience} if manual_current else {}
        manual_form = ManualAttendanceForm(initial=initial)

    filters = {key: value for key, value in (("q", query), ("status", status)) if value}
    return {
        "occurrence": occurrence,
        "programme": occurrence.programme,
        "venue": venue,
        "counts": counts,
        "page": page,
        "rows": rows,
        "query": query,
        "status": status,
        "statuses": Registration.Status.choices,
        "pagination_query": urlencode(filters) + "&" if filters else "",
        "can_door": user_can(user, DOOR, venue),
        "can_manage": can_manage,
        "can_see_phones": can_see_phones,
        "manual_form": manual_form,
        "manual_current": manual_current,
        "manual_history": [entry for entry in manual_history if entry is not manual_current],
    }


# -- attendance entered by hand -------------------------------------------------------


def _takes_manual_attendance(occurrence: Occurrence, counts: dict, now=None) -> bool:
    """Whether the page offers the hand-entry form: a date that started, is not
    cancelled and has no admitted scan (the service decides in the end)."""
    now = now or timezone.now()
    return occurrence.start <= now and not occurrence.cancelled and not counts["checked_in"]


@staff_required
def manual_attendance(request, pk):
    """POST: a manager enters (or corrects) how many people came to a date whose
    tickets were not scanned. Errors are shown on the registrations page."""
    occurrence = _occurrence(request, pk, MANAGE)
    if request.method != "POST":
        return redirect(_list_url(occurrence) + "#attendance-by-hand")
    form = ManualAttendanceForm(request.POST)
    if form.is_valid():
        try:
            entry = services.manual_attendance_enter(
                occurrence_id=occurrence.pk, user=request.user, **form.service_kwargs()
            )
        except ManualAttendanceError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                ngettext(
                    "Attendance entered by hand: %(count)s visitor.",
                    "Attendance entered by hand: %(count)s visitors.",
                    entry.count,
                )
                % {"count": number_text(entry.count)},
            )
            return redirect(_list_url(occurrence) + "#attendance-by-hand")
    return render(
        request, "staff/attendance/registration_list.html", _list_context(request, occurrence, manual_form=form)
    )


# -- the desk -----------------------------------------------------------------------


class DeskRegistrationForm(forms.Form):
    """A visitor registered by staff at the desk; the services decide what is
    allowed and their errors are shown on the field they concern."""

    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=150)
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(label=gettext_lazy("Email (optional)"), required=False)
    party_size = forms.IntegerField(
        label=gettext_lazy("Number of people"), min_value=1, max_value=MAX_PARTY_SIZE, initial=1
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Registration for"),
        choices=Registration.Kind.choices,
        initial=Registration.Kind.INDIVIDUAL,
        widget=forms.RadioSelect,
    )
    organisation = forms.CharField(
        label=gettext_lazy("School or organisation (groups)"), max_length=200, required=False
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of messages"), choices=settings.LANGUAGES, initial="vi"
    )
    sms_opt_in = forms.BooleanField(label=gettext_lazy("SMS reminders"), required=False, initial=True)
    consent = forms.BooleanField(
        label=gettext_lazy(
            "The visitor agreed, orally, to the processing of their personal data for this registration."
        ),
        error_messages={"required": gettext_lazy("Ask the visitor for their consent and tick this box.")},
    )

    def __init__(self, *args, programme, **kwargs):
        super().__init__(*args, **kwargs)
        if not programme.group_bookings:
            del self.fields["kind"]
            del self.fields["organisation"]

    def add_service_error(self, error: RegistrationError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "full_name": data["full_name"],
            "phone": data["phone"],
            "email": data["email"],
            "party_size": data["party_size"],
            "kind": data.get("kind") or Registration.Kind.INDIVIDUAL,
            "organisation": data.get("organisation") or "",
            "language": data["language"],
            "sms_opt_in": data["sms_opt_in"],
            "consent": data["consent"],
        }


def _desk_message(outcome) -> tuple[int, str]:
    registration = outcome.registration
    name = _name(registration)
    if not outcome.created:
        return messages.WARNING, _(
            "This phone number already has a registration for this date (%(name)s): nothing was added."
        ) % {"name": name}
    if registration.status == Registration.Status.WAITING:
        return messages.WARNING, _("The date is full: %(name)s is number %(position)d on the waiting list.") % {
            "name": name,
            "position": outcome.position,
        }
    if registration.status == Registration.Status.PENDING:
        return messages.SUCCESS, _("%(name)s is registered; the group awaits a manager's approval.") % {"name": name}
    return messages.SUCCESS, ngettext(
        "%(name)s is registered (%(count)d person).",
        "%(name)s is registered (%(count)d people).",
        registration.party_size,
    ) % {"name": name, "count": registration.party_size}


@staff_required
def registration_desk(request, pk):
    occurrence = _occurrence(request, pk, DOOR)
    form = DeskRegistrationForm(request.POST or None, programme=occurrence.programme)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.registration_create(
                occurrence_id=occurrence.pk,
                source=Registration.Source.DESK,
                created_by=request.user,
                **form.service_kwargs(),
            )
        except RegistrationError as error:
            form.add_service_error(error)
        else:
            level, text = _desk_message(outcome)
            messages.add_message(request, level, text)
            return redirect(_list_url(occurrence))
    return render(
        request,
        "staff/attendance/registration_desk.html",
        {"form": form, "occurrence": occurrence, "programme": occurrence.programme, "venue": occurrence.venue},
    )


# -- actions on one registration ----------------------------------------------------


def _promoted_message(request, promoted) -> None:
    if promoted:
        messages.info(
            request,
            ngettext(
                "%(count)d registration moved from the waiting list to confirmed.",
                "%(count)d registrations moved from the waiting list to confirmed.",
                len(promoted),
            )
            % {"count": len(promoted)},
        )


@staff_required
def registration_cancel(request, pk):
    """GET asks for confirmation; POST cancels and promotes the waiting list."""
    registration = _registration(request, pk, DOOR)
    back = safe_next(request, _list_url(registration.occurrence))
    if request.method == "POST":
        try:
            promoted = services.registration_cancel(registration_id=registration.pk, by=request.user)
        except RegistrationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The registration of %(name)s is cancelled.") % {"name": _name(registration)})
            _promoted_message(request, promoted)
        return redirect(back)
    return render(
        request,
        "staff/attendance/registration_cancel.html",
        {
            "registration": registration,
            "occurrence": registration.occurrence,
            "programme": registration.occurrence.programme,
            "venue": registration.occurrence.venue,
            "is_active": registration.status in Registration.ACTIVE,
            "next": back,
        },
    )


@staff_required
@require_POST
def registration_approve(request, pk):
    registration = _registration(request, pk, MANAGE)
    try:
        services.registration_approve(registration_id=registration.pk, by=request.user)
    except RegistrationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The group %(name)s is confirmed.") % {"name": _name(registration)})
    return redirect(safe_next(request, _list_url(registration.occurrence)))


@staff_required
@require_POST
def registration_decline(request, pk):
    registration = _registration(request, pk, MANAGE)
    try:
        promoted = services.registration_decline(registration_id=registration.pk, by=request.user)
    except RegistrationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The group %(name)s is declined.") % {"name": _name(registration)})
        _promoted_message(request, promoted)
    return redirect(safe_next(request, _list_url(registration.occurrence)))


# -- exports ------------------------------------------------------------------------


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    return HttpResponse(
        content,
        content_type=content_type,
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )


@staff_required
@never_cache
def registrations_csv(request, pk):
    occurrence = _occurrence(request, pk, PERSONAL_DATA)
    registrations = selectors.registrations_for_occurrence(occurrence=occurrence)
    return _download(
        exports.registrations_csv(registrations),
        "text/csv; charset=utf-8",
        exports.export_filename(occurrence, "csv"),
    )


@staff_required
@never_cache
def registrations_xlsx(request, pk):
    occurrence = _occurrence(request, pk, PERSONAL_DATA)
    registrations = selectors.registrations_for_occurrence(occurrence=occurrence)
    return _download(
        exports.registrations_xlsx(occurrence, registrations),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        exports.export_filename(occurrence, "xlsx"),
    )
