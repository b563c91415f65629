"""The citizen's forms: register for a date (alone or as a group) and find my tickets;
and the staff form for attendance entered by hand.

Plain server-rendered forms that work without JavaScript on a cheap phone. The
phone is normalised here (so a throttle counts "0912 345 678" and
"+84912345678" as one number); every other rule (consent, party size, the
registration window) is the service's, whose refusals come back as errors on
these forms with the service's codes.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from attendance.models import Registration, WalkIn
from attendance.services import MANUAL_ATTENDANCE_MAX
from common.errors import DomainError
from common.phone import phone_normalise
from events.models import Programme

# A group is one ticket with a headcount; beyond this it is not a class or a club.
GROUP_MAX_PARTICIPANTS = 500
# The largest party any programme allows (Programme.max_party_size's own limit).
PARTY_SIZE_LIMIT = next(
    v.limit_value for v in Programme._meta.get_field("max_party_size").validators if isinstance(v, MaxValueValidator)
)


class PhoneField(forms.CharField):
    """A phone as people type it ("0912 345 678"), cleaned to E.164."""

    widget = forms.TextInput(
        attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel", "placeholder": "0912 345 678"}
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", _("A Vietnamese mobile number, e.g. 0912 345 678."))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return phone_normalise(value)
        except DomainError as error:
            raise ValidationError(error.message, code=error.code) from error


def consent_label() -> str:
    return gettext(
        "I agree that my name, phone number and email are processed to register me, to send me reminders "
        "and to admit me at the door. They are erased %(days)d days after the event "
        "(Decree 13/2023/NĐ-CP on personal data protection)."
    ) % {"days": settings.PERSONAL_DATA_RETENTION_DAYS}


class _RegistrationBase(forms.Form):
    """Fields and error mapping shared by the individual and the group form."""

    kind = Registration.Kind.INDIVIDUAL

    phone = PhoneField(label=_("Phone"))
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    sms_opt_in = forms.BooleanField(label=_("Send me reminders by SMS"), required=False, initial=True)
    # Checked by the form (with the service's code) rather than required=True, so
    # a missing tick reads "consent_required" like the service's refusal.
    consent = forms.BooleanField(required=False, widget=forms.CheckboxInput(attrs={"required": True}))

    def __init__(self, *args, occurrence, **kwargs):
        """`occurrence` None checks only what holds for every date; the date's own
        limits (its largest party, whether it takes groups) are then left to
        registration_create, which refuses on the field concerned."""
        super().__init__(*args, **kwargs)
        self.occurrence = occurrence
        self.fields["consent"].label = consent_label()

    def clean_consent(self):
        if not self.cleaned_data.get("consent"):
            raise ValidationError(
                gettext("Please agree to the processing of your personal data."), code="consent_required"
            )
        return True

    def add_service_error(self, error: DomainError) -> None:
        """Show a RegistrationError on the field it names, else above the form."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, ValidationError(error.message, code=error.code))

    def registration_fields(self) -> dict:
        """Keyword arguments for attendance.services.registration_create."""
        data = self.cleaned_data
        return {
            "full_name": data["full_name"],
            "phone": data["phone"],
            "email": data["email"],
            "party_size": data["party_size"],
            "kind": self.kind,
            "organisation": data.get("organisation", ""),
            "sms_opt_in": data["sms_opt_in"],
            "consent": data["consent"],
        }


class RegistrationForm(_RegistrationBase):
    full_name = forms.CharField(
        label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    party_size = forms.TypedChoiceField(label=_("Number of people"), coerce=int, initial=1)

    field_order = ["full_name", "phone", "email", "party_size", "sms_opt_in", "consent"]

    def __init__(self, *args, occurrence, **kwargs):
        super().__init__(*args, occurrence=occurrence, **kwargs)
        if occurrence is None:  # checked, never shown: any party a programme may allow
            self.fields["party_size"] = forms.IntegerField(min_value=1, max_value=PARTY_SIZE_LIMIT)
            return
        largest = occurrence.programme.max_party_size
        field = self.fields["party_size"]
        field.choices = [(n, str(n)) for n in range(1, largest + 1)]
        if largest == 1:
            field.widget = forms.HiddenInput()


class GroupRegistrationForm(_RegistrationBase):
    kind = Registration.Kind.GROUP

    organisation = forms.CharField(
        label=_("School, class or club"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    full_name = forms.CharField(
        label=_("Leader's name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    party_size = forms.IntegerField(
        label=_("Number of participants"),
        help_text=_("Everyone who comes, leaders included."),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    field_order = ["organisation", "full_name", "phone", "email", "party_size", "sms_opt_in", "consent"]

    def __init__(self, *args, occurrence, **kwargs):
        super().__init__(*args, occurrence=occurrence, **kwargs)
        self.fields["phone"].label = _("Contact phone")
        capacity = occurrence.capacity if occurrence is not None else None
        largest = min(capacity or GROUP_MAX_PARTICIPANTS, GROUP_MAX_PARTICIPANTS)
        field = self.fields["party_size"]
        field.max_value = largest
        field.validators.append(MaxValueValidator(largest))
        field.widget.attrs["max"] = largest


class TicketLookupForm(forms.Form):
    phone = PhoneField(label=_("Phone number you registered with"))


class ManualAttendanceForm(forms.Form):
    """Staff: how many people came to a date whose tickets were not scanned.

    The form checks the shape of the input (a whole number in range); whether the
    date takes an entry (started, not cancelled, no scans) is the service's rule,
    whose refusal comes back on the field it names."""

    count = forms.IntegerField(
        label=_("Visitors"),
        min_value=0,
        max_value=MANUAL_ATTENDANCE_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("Everyone who came, counted or from the sign-in sheet."),
    )
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=[("", _("Not specified"))] + list(WalkIn.Audience.choices),
        required=False,
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        max_length=300,
        required=False,
        help_text=_("Where the number comes from, e.g. the sign-in sheet."),
    )

    def add_service_error(self, error: DomainError) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, ValidationError(error.message, code=error.code))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"count": data["count"], "audience": data["audience"] or "", "note": data["note"].strip()}
