"""Targets the provincial plans set, and the indicators measured against them.

A target has a scope (one venue, or the venues selected by administrative unit
+ kind + tier), a year, an indicator, a value (or a range) and the document it
comes from. Results are computed by `targets.indicators` from the kept visit
totals (`attendance.VisitCount`) and occurrences, never from raw check-in rows;
indicators no event system measures are entered by officers (`ManualValue`).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from events.models import Category
from venues.models import Venue


class Indicator(models.TextChoices):
    VISITS = "visits", _("Visits in the year")
    VISITS_GROWTH = "visits_growth", _("Growth of visits over the previous year (%)")
    LIFELONG_LEARNING_SHARE = "lll_share", _("Venues providing lifelong-learning services (%)")
    DIGITAL_SHARE = "digital_share", _("Venues applying digital tools (%)")
    ACTIVITIES = "activities", _("Activities of a category in the year")
    MANUAL = "manual", _("Indicator entered by hand")


PERCENT_INDICATORS = {Indicator.VISITS_GROWTH, Indicator.LIFELONG_LEARNING_SHARE, Indicator.DIGITAL_SHARE}


class Target(models.Model):
    """One number a plan sets for one scope and year.

    Scope: `venue` alone, or `admin_unit` (+ optional `venue_kind`, `venue_tier`)
    selecting a set of venues. For VISITS and ACTIVITIES over a set,
    `per_venue` says whether the value is for each venue of the set (e.g. each
    provincial museum 15,000 visits) or for the set's sum.
    """

    venue = models.ForeignKey(
        "venues.Venue", verbose_name=_("venue"), null=True, blank=True, on_delete=models.CASCADE, related_name="targets"
    )
    admin_unit = models.ForeignKey(
        "venues.AdminUnit",
        verbose_name=_("administrative unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    venue_kind = models.CharField(_("kind of venue"), max_length=20, blank=True, choices=Venue.Kind.choices)
    venue_tier = models.CharField(_("tier"), max_length=20, blank=True, choices=Venue.Tier.choices)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    indicator = models.CharField(_("indicator"), max_length=20, choices=Indicator.choices)
    value = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    value_max = models.DecimalField(
        _("upper end of the range"), max_digits=12, decimal_places=2, null=True, blank=True,
        help_text=_("For a range such as 15,000–18,000 visits or 2–4 exhibitions."),
    )
    per_venue = models.BooleanField(_("for each venue of the set"), default=False)
    base_year = models.PositiveSmallIntegerField(
        _("average growth since"), null=True, blank=True,
        validators=[MinValueValidator(2000), MaxValueValidator(2100)],
        help_text=_(
            "For growth: the average yearly growth from this year's visits to the target's year "
            "(e.g. 2022 for 'on average 8 % a year' over 2023–2025). Empty: growth over the previous year."
        ),
    )
    category = models.CharField(_("category"), max_length=20, blank=True, choices=Category.choices)
    commemorative_days = models.ManyToManyField(
        "events.CommemorativeDay", verbose_name=_("only on these commemorative days"), blank=True, related_name="+"
    )
    label = models.CharField(
        _("label"), max_length=300, blank=True, help_text=_("What is counted, for indicators entered by hand.")
    )
    source_document = models.CharField(_("source document"), max_length=300)
    preset = models.CharField(max_length=80, blank=True, db_index=True, editable=False, help_text="Key of a loaded preset.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["year", "indicator", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(venue__isnull=False) & Q(admin_unit__isnull=True) & Q(venue_kind="") & Q(venue_tier=""))
                | (Q(venue__isnull=True) & Q(admin_unit__isnull=False)),
                name="target_scope_venue_or_set",
            ),
            models.CheckConstraint(
                condition=Q(value_max__isnull=True) | Q(value_max__gte=models.F("value")), name="target_range_ordered"
            ),
            models.UniqueConstraint(fields=["preset"], condition=~Q(preset=""), name="target_preset_once"),
            models.CheckConstraint(
                condition=Q(base_year__isnull=True) | Q(base_year__lt=models.F("year")), name="target_base_year_before"
            ),
        ]
        indexes = [models.Index(fields=["admin_unit", "year"]), models.Index(fields=["venue", "year"])]

    def __str__(self):
        return f"{self.get_indicator_display()} · {self.year} · {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.venue_id:
            return str(self.venue)
        parts = [str(self.admin_unit)]
        if self.venue_kind:
            parts.append(str(self.get_venue_kind_display()))
        if self.venue_tier:
            parts.append(str(self.get_venue_tier_display()))
        return " · ".join(parts)

    @property
    def indicator_label(self) -> str:
        """What the target measures, in words: the label of a hand-entered indicator, the
        category of counted activities, the base year of an average growth."""
        if self.indicator == Indicator.MANUAL and self.label:
            return self.label
        if self.indicator == Indicator.VISITS_GROWTH and self.base_year:
            return str(_("Average yearly growth of visits since %(year)s (%%)") % {"year": self.base_year})
        text = str(self.get_indicator_display())
        if self.category:
            text = f"{text}: {self.get_category_display()}"
        return text

    def clean(self):
        if bool(self.venue_id) == bool(self.admin_unit_id):
            raise ValidationError(_("Choose either one venue or an administrative unit."))
        if self.venue_id and (self.venue_kind or self.venue_tier):
            raise ValidationError(_("Kind and tier select venues within an administrative unit, not a single venue."))
        if self.indicator == Indicator.ACTIVITIES and not self.category:
            raise ValidationError({"category": _("Choose the category of activities counted.")})
        if self.indicator == Indicator.MANUAL and not self.label:
            raise ValidationError({"label": _("Say what is counted.")})
        if self.indicator in PERCENT_INDICATORS - {Indicator.VISITS_GROWTH} and not 0 <= self.value <= 100:
            raise ValidationError({"value": _("A share is between 0 and 100 %.")})
        if self.base_year is not None:
            if self.indicator != Indicator.VISITS_GROWTH:
                raise ValidationError({"base_year": _("Only a growth target has a base year.")})
            if self.year is not None and self.base_year >= self.year:
                raise ValidationError({"base_year": _("The base year comes before the target's year.")})


class ManualValue(models.Model):
    """A result an officer enters by hand for a MANUAL target (e.g. artifacts
    digitised). A correction is a new row; the previous one is kept, superseded."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="manual_values")
    value = models.DecimalField(_("result"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    note = models.CharField(_("note"), max_length=300, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("result entered by hand")
        verbose_name_plural = _("results entered by hand")
        ordering = ["-entered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(superseded_at__isnull=True), name="manualvalue_one_current"
            )
        ]

    def __str__(self):
        return f"{self.value} · {self.target}"


def private_storage():
    """Where report files are kept: outside MEDIA_ROOT, so only access-checked views serve them."""
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT)


class ReportRun(models.Model):
    """One build of the annual report for a unit and year, made by a Celery task;
    the page polls its progress and offers the files when done."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Building")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    admin_unit = models.ForeignKey("venues.AdminUnit", on_delete=models.CASCADE, related_name="report_runs")
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    xlsx = models.FileField(upload_to="reports/%Y/", storage=private_storage, blank=True)
    csv = models.FileField(upload_to="reports/%Y/", storage=private_storage, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("annual report")
        verbose_name_plural = _("annual reports")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["admin_unit", "year", "-requested_at"])]

    def __str__(self):
        return f"{self.admin_unit} · {self.year} · {self.get_status_display()}"

    @property
    def progress_percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.steps_done / self.steps_total) if self.steps_total else 0
