import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    READING = "reading", _("Reading promotion")
    EXHIBITION = "exhibition", _("Exhibition")
    WORKSHOP = "workshop", _("Workshop / class")
    TALK = "talk", _("Talk")
    CLUB = "club", _("Club")
    EXPERIENTIAL = "experiential", _("Experiential education")
    DIGITAL = "digital", _("Digital skills")
    OTHER = "other", _("Other")


class Audience(models.Model):
    """Who a programme is for. Rows are fixed (seeded by a migration); the code is the key."""

    class Code(models.TextChoices):
        CHILDREN = "children", _("Children")
        STUDENTS = "students", _("Students")
        ADULTS = "adults", _("Adults")
        ELDERLY = "elderly", _("Elderly people")
        DISABILITIES = "disabilities", _("People with disabilities")
        MINORITIES = "minorities", _("Ethnic minorities")
        FAMILIES = "families", _("Families")

    code = models.CharField(max_length=20, primary_key=True, choices=Code.choices)

    class Meta:
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")
        ordering = ["code"]

    def __str__(self):
        return str(self.get_code_display())


class CommemorativeDay(models.Model):
    """A day (or week) the plans ask venues to mark with activities, e.g. 21/4."""

    slug = models.SlugField(primary_key=True, max_length=50)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    day = models.PositiveSmallIntegerField(_("day"), validators=[MinValueValidator(1), MaxValueValidator(31)])
    length_days = models.PositiveSmallIntegerField(_("length in days"), default=1)

    class Meta:
        verbose_name = _("commemorative day")
        verbose_name_plural = _("commemorative days")
        ordering = ["month", "day"]

    def __str__(self):
        return self.name

    @property
    def name(self):
        return self.name_en if (get_language() or "vi").startswith("en") else self.name_vi

    def dates_in(self, year: int) -> tuple[dt.date, dt.date]:
        first = dt.date(year, self.month, self.day)
        return first, first + dt.timedelta(days=self.length_days - 1)


class Programme(models.Model):
    """A talk, a workshop series, a reading club, an exhibition or a school-visit slot.

    It wraps a django-scheduler Event on the venue's calendar: the Event holds the
    title, description, first start/end, the recurrence Rule and its end; the
    programme adds what a venue publishes about it. Its dates are materialised as
    `Occurrence` rows for a rolling horizon (events.services).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    class Recurrence(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Weekly on chosen days")
        MONTHLY_NTH = "monthly_nth", _("Monthly on the nth weekday")

    class Language(models.TextChoices):
        VI = "vi", _("Vietnamese")
        EN = "en", _("English")
        OTHER = "other", _("Other / ethnic-minority language")

    venue = models.ForeignKey("venues.Venue", verbose_name=_("venue"), on_delete=models.PROTECT, related_name="programmes")
    event = models.OneToOneField("schedule.Event", on_delete=models.PROTECT, related_name="programme", editable=False)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    audiences = models.ManyToManyField(Audience, verbose_name=_("audiences"), blank=True, related_name="programmes")
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.VI)
    capacity = models.PositiveIntegerField(
        _("capacity per occurrence"), null=True, blank=True, help_text=_("Leave empty for no limit.")
    )
    registration_required = models.BooleanField(
        _("registration required"), default=True, help_text=_("Off: walk-in only, no tickets.")
    )
    registration_opens_days = models.PositiveSmallIntegerField(
        _("registration opens (days before)"), null=True, blank=True,
        help_text=_("Empty: as soon as the programme is published."),
    )
    registration_closes_minutes = models.PositiveIntegerField(
        _("registration closes (minutes before start)"), default=0
    )
    max_party_size = models.PositiveSmallIntegerField(
        _("largest party per registration"), default=4, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    reminder_hours = models.CharField(
        _("reminders (hours before)"), max_length=30, default="24,2", blank=True,
        help_text=_("Comma-separated, e.g. 24,2. Empty: no reminders."),
    )
    group_bookings = models.BooleanField(_("group bookings allowed"), default=False)
    group_approval_required = models.BooleanField(_("groups need staff approval"), default=False)
    image = models.ImageField(_("image"), upload_to="programmes/%Y/", blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    commemorative_day = models.ForeignKey(
        CommemorativeDay, verbose_name=_("commemorative day"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="programmes",
    )
    # The preset staff chose; the django-scheduler Rule on the event is derived from it.
    recurrence = models.CharField(_("repeats"), max_length=12, choices=Recurrence.choices, default=Recurrence.ONCE)
    weekdays = models.CharField(_("weekdays"), max_length=20, blank=True, help_text="MO,WE,FR")
    nth = models.SmallIntegerField(_("week of the month"), null=True, blank=True)
    repeat_until = models.DateField(_("repeat until"), null=True, blank=True)
    # Unaccented lower-case title, description and venue name for free-text search.
    search_text = models.TextField(editable=False, blank=True)
    materialised_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "category"])]

    def __str__(self):
        return self.title

    @property
    def title(self):
        return self.event.title

    @property
    def description(self):
        return self.event.description

    @property
    def duration(self) -> dt.timedelta:
        return self.event.end - self.event.start

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    def get_absolute_url(self):
        return reverse("public:programme_detail", args=[self.pk])


class OccurrenceQuerySet(models.QuerySet):
    def public(self):
        return self.filter(programme__status=Programme.Status.PUBLISHED, venue__is_active=True)

    def upcoming(self, now=None):
        return self.filter(end__gt=now or timezone.now())

    def with_free_seats(self):
        return self.filter(Q(capacity__isnull=True) | Q(capacity__gt=F("seats_taken")))


# A date longer than this (an exhibition, a fair) is flagged `spans_days`, so the
# listing can find what is running now with a bounded look into the past.
MULTI_DAY = dt.timedelta(days=1)


def spans_days(start: dt.datetime, end: dt.datetime) -> bool:
    return end - start > MULTI_DAY


class Occurrence(models.Model):
    """One dated instance of a programme, materialised from its django-scheduler rule.

    A move or a cancellation is recorded on django-scheduler's persisted Occurrence
    (the source of truth) and mirrored here; capacity can be overridden per row.
    Registrations and check-ins point at these rows.
    """

    # Indexed by the unique (programme, original start) and by (venue, start), which lead
    # with them: a registration's seat count rewrites the row in every index.
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="occurrences", db_index=False)
    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="occurrences", db_index=False)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    original_start = models.DateTimeField(_("original start"))
    original_end = models.DateTimeField(_("original end"))
    cancelled = models.BooleanField(_("cancelled"), default=False)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    capacity_overridden = models.BooleanField(default=False)
    seats_taken = models.PositiveIntegerField(default=0)
    # end - start > MULTI_DAY; written with start and end (events.services).
    spans_days = models.BooleanField(default=False, db_default=False, editable=False)
    # Its visits were entered by hand (attendance.ManualAttendance): from then on
    # that count is the date's visits and ticket scans no longer add to them.
    counted_by_hand = models.BooleanField(default=False, db_default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OccurrenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("occurrence")
        verbose_name_plural = _("occurrences")
        ordering = ["start", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "original_start"], name="occurrence_unique_original_start"),
        ]
        indexes = [
            models.Index(fields=["start"]),
            # A venue's dates by time; on PostgreSQL it also carries what the yearly
            # indicators count (programme, cancelled, seats taken), so a province's year
            # of dates is read from the index alone.
            models.Index(
                fields=["venue", "start"], include=["programme", "cancelled", "seats_taken"],
                name="occurrence_venue_start_cover",
            ),
            # Few rows: only the multi-day dates, for "happening now" (events.selectors).
            models.Index(fields=["start"], condition=Q(spans_days=True), name="occurrence_spans_days_start"),
        ]

    def __str__(self):
        return f"{self.programme.title} · {timezone.localtime(self.start):%d/%m/%Y %H:%M}"

    def get_absolute_url(self):
        return reverse("public:occurrence_detail", args=[self.pk])

    @property
    def moved(self) -> bool:
        return self.start != self.original_start or self.end != self.original_end

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.seats_taken >= self.capacity
