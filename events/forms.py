"""Forms of the staff pages.

They parse what staff type (dates as dd/mm/yyyy, times, a recurrence preset)
into the keyword arguments of events.services; the services decide what is
allowed and raise ProgrammeError, which `add_service_error` shows on the
field it concerns.
"""

import datetime as dt

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from common.timeutil import local_datetime, to_local
from events.models import Audience, Category, CommemorativeDay, Programme
from events.services import WEEKDAY_CODES, ProgrammeError

DATE_INPUT_FORMATS = ["%d/%m/%Y"]
DATE_FORMAT = "%d/%m/%Y"
TIME_FORMAT = "%H:%M"

WEEKDAY_CHOICES = list(
    zip(
        WEEKDAY_CODES,
        [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")],
    )
)
NTH_CHOICES = [
    ("", _("Choose…")),
    (1, _("First")),
    (2, _("Second")),
    (3, _("Third")),
    (4, _("Fourth")),
    (-1, _("Last")),
]
ADMISSION_REGISTRATION = "registration"
ADMISSION_WALK_IN = "walk_in"


class DateInput(forms.DateInput):
    """A text box for dd/mm/yyyy: browsers' date pickers would submit yyyy-mm-dd
    and show the date in the browser's own order, not ours."""

    def __init__(self, attrs=None):
        defaults = {"placeholder": _("dd/mm/yyyy"), "inputmode": "numeric", "autocomplete": "off", "size": 10}
        super().__init__({**defaults, **(attrs or {})}, format=DATE_FORMAT)


def date_field(label, **kwargs):
    return forms.DateField(
        label=label,
        input_formats=DATE_INPUT_FORMATS,
        widget=DateInput(),
        error_messages={"invalid": _("Enter a date as dd/mm/yyyy, for example 21/04/2026.")},
        **kwargs,
    )


def time_field(label, **kwargs):
    return forms.TimeField(
        label=label,
        input_formats=[TIME_FORMAT],
        widget=forms.TimeInput(attrs={"type": "time"}, format=TIME_FORMAT),
        error_messages={"invalid": _("Enter a time as hh:mm, for example 14:30.")},
        **kwargs,
    )


class ServiceErrorMixin:
    """Show a ProgrammeError on the form field it is about."""

    # Service field name -> form field name.
    service_fields: dict[str, str] = {}

    def service_field(self, name: str | None) -> str | None:
        field = self.service_fields.get(name, name)
        return field if field in self.fields else None

    def add_service_error(self, error: ProgrammeError) -> None:
        self.add_error(self.service_field(error.field), error.message)


class ProgrammeForm(ServiceErrorMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    audiences = forms.ModelMultipleChoiceField(
        label=_("Audiences"),
        queryset=Audience.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    language = forms.ChoiceField(label=_("Language"), choices=Programme.Language.choices, initial=Programme.Language.VI)

    start_date = date_field(_("Date (first date for a repeating programme)"))
    start_time = time_field(_("Start time"))
    end_time = time_field(_("End time"), required=False)
    duration_minutes = forms.IntegerField(
        label=_("or duration (minutes)"), min_value=1, max_value=60 * 24 * 366, required=False
    )
    end_date = date_field(
        _("Last day"), required=False,
        help_text=_("Only for a one-off event over several days, such as an exhibition."),
    )

    recurrence = forms.ChoiceField(
        label=_("Repeats"), choices=Programme.Recurrence.choices, widget=forms.RadioSelect,
        initial=Programme.Recurrence.ONCE,
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On these days (weekly)"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    nth = forms.TypedChoiceField(
        label=_("Week of the month (monthly)"), choices=NTH_CHOICES, coerce=int, empty_value=None, required=False
    )
    monthly_weekday = forms.ChoiceField(
        label=_("Weekday (monthly)"), choices=[("", _("Choose…")), *WEEKDAY_CHOICES], required=False
    )
    repeat_until = date_field(_("Repeat until"), required=False, help_text=_("Required for a repeating programme."))

    capacity = forms.IntegerField(
        label=_("Capacity per date"), min_value=1, required=False, help_text=_("Leave empty for no limit.")
    )
    admission = forms.ChoiceField(
        label=_("Admission"),
        choices=[
            (ADMISSION_REGISTRATION, _("Registration required")),
            (ADMISSION_WALK_IN, _("Walk-in only, no registration")),
        ],
        widget=forms.RadioSelect,
        initial=ADMISSION_REGISTRATION,
    )
    registration_opens_days = forms.IntegerField(
        label=_("Registration opens (days before)"), min_value=0, max_value=365, required=False,
        help_text=_("Empty: as soon as the programme is published."),
    )
    registration_closes_minutes = forms.IntegerField(
        label=_("Registration closes (minutes before start)"), min_value=0, max_value=60 * 24 * 30,
        required=False, initial=0,
    )
    max_party_size = forms.IntegerField(label=_("Largest party per registration"), min_value=1, max_value=50, initial=4)
    reminder_hours = forms.CharField(
        label=_("SMS reminders (hours before)"),
        required=False,
        initial="24,2",
        max_length=30,
        help_text=_("Comma-separated, e.g. 24,2. Empty: no reminders."),
    )
    group_bookings = forms.BooleanField(label=_("Group bookings allowed (e.g. school classes)"), required=False)
    group_approval_required = forms.BooleanField(label=_("Groups need staff approval"), required=False)
    image = forms.ImageField(label=_("Image"), required=False)
    commemorative_day = forms.ModelChoiceField(
        label=_("Commemorative day"), queryset=CommemorativeDay.objects.all(), required=False,
        empty_label=_("None"),
    )

    service_fields = {"start": "start_time", "end": "end_time"}

    def __init__(self, *args, programme: Programme | None = None, **kwargs):
        self.programme = programme
        if programme is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(programme)
        super().__init__(*args, **kwargs)

    def clean_reminder_hours(self) -> str:
        """"24, 2" -> "24,2": whole hours from 1 to a week, each once, latest first."""
        raw = self.cleaned_data["reminder_hours"] or ""
        try:
            hours = {int(part) for part in raw.replace(";", ",").split(",") if part.strip()}
        except ValueError:
            raise forms.ValidationError(_("Enter whole hours separated by commas, e.g. 24,2.")) from None
        if any(not 1 <= h <= 168 for h in hours):
            raise forms.ValidationError(_("Each reminder must be between 1 and 168 hours before."))
        return ",".join(str(h) for h in sorted(hours, reverse=True))

    @staticmethod
    def initial_for(programme: Programme) -> dict:
        event = programme.event
        start, end = to_local(event.start), to_local(event.end)
        weekdays = [d for d in programme.weekdays.split(",") if d]
        monthly = programme.recurrence == Programme.Recurrence.MONTHLY_NTH
        return {
            "title": event.title,
            "description": event.description,
            "category": programme.category,
            "audiences": list(programme.audiences.all()),
            "language": programme.language,
            "start_date": start.date(),
            "start_time": start.time(),
            "end_time": end.time(),
            "end_date": end.date() if end.date() != start.date() else None,
            "recurrence": programme.recurrence,
            "weekdays": [] if monthly else weekdays,
            "nth": programme.nth,
            "monthly_weekday": weekdays[0] if monthly and weekdays else "",
            "repeat_until": programme.repeat_until,
            "capacity": programme.capacity,
            "admission": ADMISSION_REGISTRATION if programme.registration_required else ADMISSION_WALK_IN,
            "registration_opens_days": programme.registration_opens_days,
            "registration_closes_minutes": programme.registration_closes_minutes,
            "max_party_size": programme.max_party_size,
            "reminder_hours": programme.reminder_hours,
            "group_bookings": programme.group_bookings,
            "group_approval_required": programme.group_approval_required,
            "image": programme.image,
            "commemorative_day": programme.commemorative_day,
        }

    def service_field(self, name):
        # A monthly programme's one weekday is chosen in its own box.
        if name == "weekdays" and self.cleaned_data.get("recurrence") == Programme.Recurrence.MONTHLY_NTH:
            return "monthly_weekday"
        return super().service_field(name)

    def clean(self):
        data = super().clean()
        has_end_time = data.get("end_time") is not None
        has_duration = data.get("duration_minutes") is not None
        if "end_time" in data and "duration_minutes" in data:
            if has_end_time == has_duration:
                self.add_error("end_time", _("Give either an end time or a duration."))
            elif data.get("end_date") and not has_end_time:
                self.add_error("end_time", _("A last day needs an end time."))
        if data.get("end_date") and data.get("recurrence") != Programme.Recurrence.ONCE:
            self.add_error("end_date", _("Only a one-off event can run over several days."))
        return data

    def _schedule(self) -> dict:
        data = self.cleaned_data
        start = local_datetime(data["start_date"], data["start_time"])
        if data.get("end_time") is not None:
            end = local_datetime(data.get("end_date") or data["start_date"], data["end_time"])
        else:
            end = start + dt.timedelta(minutes=data["duration_minutes"])
        recurrence = data["recurrence"]
        if recurrence == Programme.Recurrence.WEEKLY:
            weekdays = [d for d in WEEKDAY_CODES if d in data["weekdays"]]
        elif recurrence == Programme.Recurrence.MONTHLY_NTH:
            weekdays = [data["monthly_weekday"]] if data.get("monthly_weekday") else []
        else:
            weekdays = []
        return {
            "start": start,
            "end": end,
            "recurrence": recurrence,
            "weekdays": weekdays,
            "nth": data.get("nth") if recurrence == Programme.Recurrence.MONTHLY_NTH else None,
            "repeat_until": data.get("repeat_until") if recurrence != Programme.Recurrence.ONCE else None,
        }

    def service_kwargs(self) -> dict:
        """Keyword arguments for programme_create / programme_update."""
        data = self.cleaned_data
        kwargs = {
            "title": data["title"].strip(),
            "description": data["description"],
            "category": data["category"],
            "audiences": list(data["audiences"]),
            "language": data["language"],
            "capacity": data["capacity"],
            "registration_required": data["admission"] == ADMISSION_REGISTRATION,
            "registration_opens_days": data["registration_opens_days"],
            "registration_closes_minutes": data["registration_closes_minutes"] or 0,
            "max_party_size": data["max_party_size"],
            "reminder_hours": data["reminder_hours"],
            "group_bookings": data["group_bookings"],
            "group_approval_required": data["group_bookings"] and data["group_approval_required"],
            "commemorative_day": data["commemorative_day"],
            **self._schedule(),
        }
        image = data.get("image")
        if image is False:  # "clear" ticked on the edit form
            kwargs["image"] = ""
        elif isinstance(image, UploadedFile):
            kwargs["image"] = image
        return kwargs


class OccurrenceMoveForm(ServiceErrorMixin, forms.Form):
    date = date_field(_("New date"))
    start_time = time_field(_("Start time"))
    end_time = time_field(_("End time"))

    service_fields = {"start": "start_time", "end": "end_time"}

    def __init__(self, *args, occurrence=None, **kwargs):
        if occurrence is not None and "initial" not in kwargs:
            start, end = to_local(occurrence.start), to_local(occurrence.end)
            kwargs["initial"] = {"date": start.date(), "start_time": start.time(), "end_time": end.time()}
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "start": local_datetime(data["date"], data["start_time"]),
            "end": local_datetime(data["date"], data["end_time"]),
        }


class OccurrenceCapacityForm(ServiceErrorMixin, forms.Form):
    capacity = forms.IntegerField(
        label=_("Capacity of this date"), min_value=0, required=False,
        help_text=_("Leave empty to use the programme's capacity."),
    )

    def __init__(self, *args, occurrence=None, **kwargs):
        if occurrence is not None and "initial" not in kwargs:
            kwargs["initial"] = {"capacity": occurrence.capacity if occurrence.capacity_overridden else None}
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return {"capacity": self.cleaned_data["capacity"]}
