"""Staff forms for messages: a venue's templates, its SMS policy, and a message
to the registrants of a date. Placeholders are checked here so a mistake is a
clear error on the field (the services check again)."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from notifications.models import Message, SmsPolicy
from notifications.staff_services import (
    AUDIENCE_ALL,
    AUDIENCE_CONFIRMED,
    AUDIENCE_WAITING,
    normalise_newlines,
)
from notifications.templating import template_errors

# Long enough for any sensible SMS (a dozen segments), short enough to stop a paste accident.
MAX_BODY = 1000


def _clean_body(body: str, kind: str) -> str:
    body = normalise_newlines(body).strip()
    errors = template_errors(body, kind)
    if errors:
        raise ValidationError(errors, code="unknown_placeholder")
    return body


class MessageTemplateForm(forms.Form):
    body = forms.CharField(
        label=_("Text"),
        max_length=MAX_BODY,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "true"}),
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_body(self):
        return _clean_body(self.cleaned_data["body"], self.kind)


class SmsPolicyForm(forms.ModelForm):
    class Meta:
        model = SmsPolicy
        fields = ["without_diacritics", "monthly_cap"]
        help_texts = {
            "without_diacritics": _(
                "Vietnamese with diacritics is sent in UCS-2: 70 characters a segment (67 when the message "
                "is split). Without diacritics it is GSM-7: 160 characters a segment (153). The same message "
                "then takes two to three times fewer segments, and costs that much less, but reads "
                "“Thu vien” instead of “Thư viện”."
            ),
            "monthly_cap": _("Segments a month at most; empty: no cap."),
        }


class StaffMessageForm(forms.Form):
    AUDIENCES = [
        (AUDIENCE_CONFIRMED, _("Confirmed registrants")),
        (AUDIENCE_WAITING, _("Waiting list")),
        (AUDIENCE_ALL, _("Everyone registered (confirmed, awaiting approval, waiting list)")),
    ]

    body = forms.CharField(
        label=_("Text"),
        max_length=MAX_BODY,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "true"}),
    )
    audience = forms.ChoiceField(
        label=_("Send to"), choices=AUDIENCES, initial=AUDIENCE_CONFIRMED, widget=forms.RadioSelect
    )
    # One per form shown: sending the same form twice records nothing more.
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)

    def __init__(self, *args, counts: dict | None = None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        if counts is not None:
            self.fields["audience"].choices = [
                (value, f"{label} ({counts.get(value, 0)})") for value, label in self.AUDIENCES
            ]

    def clean_body(self):
        return _clean_body(self.cleaned_data["body"], Message.Kind.STAFF)
