"""The filter forms of the public site: plain GET forms that work without JavaScript.

The map has 34 provinces and 3,321 communes, so the commune <select> only
appears once a province is chosen (press "Filter" and the page comes back with
that province's communes); a commune code or a venue slug in the address also
works on its own (links from venue pages), and the province is then inferred.
Narrower choices that no longer fit a newly chosen province are dropped rather
than reported, because without JavaScript the old commune is still submitted
when a visitor switches province.
"""

from django import forms
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from events import selectors
from events.models import Audience, Category
from events.selectors import OccurrenceFilters
from venues.models import AdminUnit, Venue

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
# Outside these years a date is a typo, and date arithmetic near year 9999 overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class DayField(forms.DateField):
    """A day typed as dd/mm/yyyy (shown that way) or sent as yyyy-mm-dd."""

    widget = forms.DateInput(
        format="%d/%m/%Y",
        attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric", "autocomplete": "off", "size": 10},
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", DATE_INPUT_FORMATS)
        kwargs.setdefault("help_text", _("dd/mm/yyyy"))
        super().__init__(**kwargs)

    def clean(self, value):
        day = super().clean(value)
        if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Enter a date between %(first)s and %(last)s."),
                code="out_of_range",
                params={"first": FIRST_YEAR, "last": LAST_YEAR},
            )
        return day


def _html_attrs(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False leaves the attribute out, True
    # writes its bare name.
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    """A <select> with exactly the markup of Django's template, written in Python.

    Django renders every <option> through template includes of its own; the
    province list and a province's communes are well over a hundred options,
    which made the filter form cost as much to render as the listing's cards.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{_html_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{escape(option["value"])}"{_html_attrs(option["attrs"])}>'
                    f'{conditional_escape(option["label"])}</option>\n'
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class SelectField(forms.ChoiceField):
    widget = PlainSelect


def _any(label):
    return [("", label)]


class AccessibleErrorsMixin:
    """Point each invalid control at its error message (aria-describedby), so a
    screen reader reads the error when the control gets focus."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            field = self.fields[name]
            ids = [f"id_{name}_helptext"] if field.help_text else []
            ids.append(f"id_{name}_errors")
            field.widget.attrs["aria-describedby"] = " ".join(ids)


class OccurrenceFilterForm(AccessibleErrorsMixin, forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("Words from the title, description or venue; accents optional."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    province = SelectField(
        label=_("Province / city"),
        required=False,
        error_messages={"invalid_choice": _("Choose a province from the list.")},
    )
    commune = SelectField(
        label=_("Commune / ward"),
        required=False,
        error_messages={"invalid_choice": _("Unknown commune or ward.")},
    )
    venue = SelectField(
        label=_("Venue"),
        required=False,
        error_messages={"invalid_choice": _("Unknown venue.")},
    )
    kind = SelectField(
        label=_("Kind of venue"),
        required=False,
        choices=_any(_("Any kind")) + Venue.Kind.choices,
        error_messages={"invalid_choice": _("Choose a kind of venue from the list.")},
    )
    category = SelectField(
        label=_("Category"),
        required=False,
        choices=_any(_("Any category")) + Category.choices,
        error_messages={"invalid_choice": _("Choose a category from the list.")},
    )
    audience = SelectField(
        label=_("Who it is for"),
        required=False,
        choices=_any(_("Everyone")) + Audience.Code.choices,
        error_messages={"invalid_choice": _("Choose an audience from the list.")},
    )
    date_from = DayField(label=_("From"), required=False)
    date_to = DayField(label=_("To"), required=False)
    day = SelectField(
        label=_("Commemorative day"),
        required=False,
        error_messages={"invalid_choice": _("Choose a commemorative day from the list.")},
    )
    free_seats = forms.BooleanField(label=_("Only events with free seats"), required=False)

    # Fields tucked away under "More filters" on a phone.
    ADVANCED = ("province", "commune", "venue", "kind", "category", "audience", "date_from", "date_to", "day", "free_seats")

    def __init__(self, data=None, **kwargs):
        data = data.copy() if data is not None else None
        super().__init__(data, **kwargs)
        self.province_obj: AdminUnit | None = None
        self.commune_obj: AdminUnit | None = None
        self.venue_obj: Venue | None = None
        self._resolve_area()

        self.fields["province"].choices = _any(_("All provinces")) + [(p.code, p.name) for p in self._provinces.values()]
        self.fields["commune"].choices = _any(_("All communes and wards")) + [(c.code, c.name) for c in self._communes.values()]
        self.fields["venue"].choices = _any(_("All venues")) + [(v.slug, v.name) for v in self._venues.values()]
        self.fields["day"].choices = _any(_("Any day")) + [(d.slug, d.name) for d in selectors.commemorative_days()]

    def _value(self, name: str) -> str:
        if self.data is None:
            return ""
        return (self.data.get(name) or "").strip()

    def _resolve_area(self) -> None:
        """Find the chosen province, commune and venue with a fixed number of queries,
        and load the choices the commune and venue <select>s need."""
        self._provinces = {p.code: p for p in selectors.provinces()}
        self._communes: dict[str, AdminUnit] = {}
        self._venues: dict[str, Venue] = {}
        province_code, commune_code, venue_slug = self._value("province"), self._value("commune"), self._value("venue")

        self.province_obj = self._provinces.get(province_code)
        if province_code and self.province_obj is None:
            # The province field reports the error; nothing narrower can be trusted.
            self.data["commune"] = self.data["venue"] = ""
            return

        if commune_code and self.province_obj is None:
            commune = selectors.commune_by_code(code=commune_code)
            if commune is not None:
                self.province_obj = commune.parent
        if venue_slug and self.province_obj is None:
            venue = selectors.venue_by_slug(slug=venue_slug)
            if venue is not None:
                self.province_obj = venue.admin_unit.province
        if self.province_obj is None:
            return
        if self.data is not None:
            self.data["province"] = self.province_obj.code

        self._communes = {c.code: c for c in selectors.communes_of(province=self.province_obj)}
        self.commune_obj = self._communes.get(commune_code)
        if commune_code and self.commune_obj is None:
            self.data["commune"] = ""  # another province's commune: stale, drop it

        self._venues = {v.slug: v for v in selectors.venue_choices_in(unit=self.commune_obj or self.province_obj)}
        self.venue_obj = self._venues.get(venue_slug)
        if venue_slug and self.venue_obj is None:
            self.data["venue"] = ""

    @property
    def area_chosen(self) -> bool:
        return self.province_obj is not None

    @property
    def advanced_used(self) -> bool:
        return any(self._value(name) for name in self.ADVANCED)

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", forms.ValidationError(_("The end date is before the start date."), code="date_order"))
        return cleaned

    def filters(self) -> OccurrenceFilters:
        """The filters to apply: every valid field, so one bad value does not
        hide the rest of what the visitor chose."""
        if not self.is_bound:
            return OccurrenceFilters()
        self.is_valid()
        cleaned = self.cleaned_data
        province = self._provinces.get(cleaned.get("province") or "")
        commune = self._communes.get(cleaned.get("commune") or "")
        venue = self._venues.get(cleaned.get("venue") or "")
        return OccurrenceFilters(
            unit=commune or province,
            venue=venue,
            kind=cleaned.get("kind") or "",
            category=cleaned.get("category") or "",
            audience=cleaned.get("audience") or "",
            date_from=cleaned.get("date_from"),
            date_to=cleaned.get("date_to"),
            text=cleaned.get("q") or "",
            commemorative_day=cleaned.get("day") or "",
            free_seats=bool(cleaned.get("free_seats")),
        )


class VenueFilterForm(AccessibleErrorsMixin, forms.Form):
    province = SelectField(
        label=_("Province / city"),
        required=False,
        error_messages={"invalid_choice": _("Choose a province from the list.")},
    )
    kind = SelectField(
        label=_("Kind of venue"),
        required=False,
        choices=_any(_("Any kind")) + Venue.Kind.choices,
        error_messages={"invalid_choice": _("Choose a kind of venue from the list.")},
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self._provinces = {p.code: p for p in selectors.provinces()}
        self.fields["province"].choices = _any(_("All provinces")) + [(p.code, p.name) for p in self._provinces.values()]

    def filters(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            "unit": self._provinces.get(self.cleaned_data.get("province") or ""),
            "kind": self.cleaned_data.get("kind") or "",
        }

