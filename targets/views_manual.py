"""Staff page for results entered by hand: the MANUAL targets of a unit and year
(e.g. artifacts digitised), their current value with who entered it and when,
a form to enter or correct each one, and the history of corrections.

Who may see and enter: the officers over the unit (an officer of a province also
over its communes and reporting groups) and superusers, like the unit dashboard.
Venue managers, door staff and citizens get 403, anonymous users the login page.
A target posted that is not one of the unit's MANUAL targets is a 404.

Numbers are typed as people write them: "1.250" is one thousand two hundred and
fifty in Vietnamese ("1,250" in English), "12,5" (or "12.5") a decimal. A
correction is a new row (`targets.services.manual_value_enter`); the previous one
is kept, superseded, and shown in the history.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from common.errors import DomainError
from common.numbers import number_text
from targets import dashboards, indicators, views
from targets.models import Indicator, ManualValue, Target
from targets.services import MANUAL_VALUE_MAX, manual_value_enter
from venues.access import staff_required
from venues.models import AdminUnit

MAX_DECIMAL_PLACES = 2
_NUMBER = re.compile(r"^\d+([.,]\d+)*$")


def parse_number(raw: str) -> Decimal | None:
    """A number as a person types it, in the active language; None when it is not one.

    Spaces are grouping. With both "." and "," the last one is the decimal mark. With
    one kind used several times it groups thousands. Used once, it is the decimal mark,
    except the language's thousands separator followed by exactly three digits
    ("1.250" in Vietnamese, "1,250" in English), which groups thousands.
    """
    text = re.sub(r"[\s\u00a0\u202f]", "", raw or "")
    if not _NUMBER.match(text):
        return None
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        if text.count(decimal_mark) > 1:
            return None
        group_mark = "," if decimal_mark == "." else "."
        whole, _sep, fraction = text.partition(decimal_mark)
        text = whole.replace(group_mark, "") + "." + fraction
    elif dots or commas:
        mark = "." if dots else ","
        parts = text.split(mark)
        thousands = formats.get_format("THOUSAND_SEPARATOR")
        if len(parts) > 2 or (mark == thousands and len(parts[1]) == 3):
            if any(len(p) != 3 for p in parts[1:]):
                return None
            text = "".join(parts)
        else:
            text = ".".join(parts)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def number_display(value) -> str:
    """A result with the locale's grouping, and its decimals when it has any."""
    if value is None:
        return "—"
    decimals = MAX_DECIMAL_PLACES if Decimal(value) % 1 else 0
    return number_text(value, decimals).rstrip("0").rstrip(",.") if decimals else number_text(value)


class ManualValueForm(forms.Form):
    """The result of one MANUAL target. The form checks the shape of the number; the
    service has the last word, and its refusal is shown on the field it names."""

    value = forms.CharField(
        label=gettext_lazy("Result"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=gettext_lazy("A number of 0 or more, e.g. 1.250 or 12,5."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Where the number comes from, e.g. the inventory book."),
    )

    def clean_value(self) -> Decimal:
        raw = self.cleaned_data["value"]
        amount = parse_number(raw.lstrip("+"))
        if amount is None:
            if raw.strip().startswith("-"):
                raise ValidationError(_("Enter a number of 0 or more."), code="negative")
            raise ValidationError(_("Enter a number, e.g. 1.250 or 12,5."), code="invalid")
        if -amount.as_tuple().exponent > MAX_DECIMAL_PLACES:
            raise ValidationError(
                _("Use at most %(places)s decimal places.") % {"places": MAX_DECIMAL_PLACES}, code="decimals"
            )
        if amount > MANUAL_VALUE_MAX:
            raise ValidationError(
                _("Enter a number up to %(max)s.") % {"max": number_text(MANUAL_VALUE_MAX, 2)},
                code="too_large",
            )
        return amount

    def add_service_error(self, error: DomainError) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, ValidationError(error.message, code=error.code))


def _unit(request, code: str) -> AdminUnit:
    unit = get_object_or_404(AdminUnit.objects.select_related("parent"), code=code)
    if not views.can_see_unit(request.user, unit):
        raise PermissionDenied
    return unit


def _manual_targets(unit: AdminUnit, year: int):
    return (
        indicators.targets_for_unit(unit, year)
        .filter(indicator=Indicator.MANUAL)
        .order_by("admin_unit__name", "label", "pk")
    )


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "—"


def _rows(unit: AdminUnit, year: int, today, bound: ManualValueForm | None, bound_target_id: int | None) -> list[dict]:
    targets = list(
        _manual_targets(unit, year).prefetch_related(
            Prefetch("manual_values", queryset=ManualValue.objects.select_related("entered_by"), to_attr="all_values")
        )
    )
    rows = []
    for target in targets:
        entries = list(target.all_values)  # newest first (the model's ordering)
        for entry in entries:
            entry.who = _who(entry.entered_by)
            entry.value_shown = number_display(entry.value)
        current = next((e for e in entries if e.superseded_at is None), None)
        target.current_manual_values = [current] if current else []  # read by indicators.evaluate
        result = indicators.evaluate(target, today=today)
        if bound is not None and target.pk == bound_target_id:
            form = bound
        else:
            initial = {"value": number_display(current.value)} if current else {}
            form = ManualValueForm(prefix=f"t{target.pk}", initial=initial)
        rows.append({
            "target": target,
            "target_display": dashboards.value_display(target.indicator, target.value, target.value_max),
            "current": current,
            "history": [e for e in entries if e is not current],
            "status_label": dashboards.status_label(result.status),
            "status_class": dashboards.STATUS_CLASSES.get(result.status, ""),
            "form": form,
        })
    return rows


def _render(request, unit, year, year_error, today, *, bound=None, bound_target_id=None, status=200):
    return render(
        request,
        "targets/manual_values.html",
        {
            "unit": unit,
            "year": year,
            "years": views._years(today, year),
            "year_error": year_error,
            "rows": _rows(unit, year, today, bound, bound_target_id),
        },
        status=status,
    )


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def manual_values(request, code: str):
    unit = _unit(request, code)
    today = views._today()
    if request.method != "POST":
        year, year_error = views._year(request, today)
        return _render(request, unit, year, year_error, today)

    raw_id = request.POST.get("target", "")
    if not raw_id.isdigit():
        raise Http404(_("This target does not exist."))
    target = get_object_or_404(Target.objects.select_related("admin_unit"), pk=int(raw_id), indicator=Indicator.MANUAL)
    if not _manual_targets(unit, target.year).filter(pk=target.pk).exists():
        raise Http404(_("This target does not exist."))
    year = target.year
    form = ManualValueForm(request.POST, prefix=f"t{target.pk}")
    if form.is_valid():
        try:
            entry = manual_value_enter(
                target.pk, form.cleaned_data["value"], form.cleaned_data["note"], user=request.user
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("Result saved for “%(label)s”: %(value)s.") % {"label": target.label, "value": number_display(entry.value)},
            )
            url = reverse("targets:manual_values", args=[unit.code])
            return redirect(f"{url}?year={year}#target-{target.pk}")
    return _render(request, unit, year, "", today, bound=form, bound_target_id=target.pk)
