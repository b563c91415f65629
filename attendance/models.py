"""Registrations, tickets and what happens at the door.

Counts that pages read (seats taken, people admitted) are kept on the rows
they belong to and changed only inside the services that lock those rows.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def new_ticket_secret() -> str:
    # 160 random bits, URL-safe: the secret is the ticket (QR content and page URL).
    return secrets.token_urlsafe(20)


def secret_digest(secret: str) -> str:
    """What scanners store offline: a SHA-256 of the secret, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


class SecretDigestField(models.CharField):
    """The digest of the row's `secret`, set whenever the row is written (save,
    bulk_create, or an INSERT built from the fields), so it cannot go stale."""

    def pre_save(self, model_instance, add):
        value = secret_digest(model_instance.secret)
        setattr(model_instance, self.attname, value)
        return value


class Registration(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        GROUP = "group", _("Group")

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITING = "waiting", _("Waiting list")
        PENDING = "pending", _("Awaiting approval")
        CANCELLED = "cancelled", _("Cancelled")
        DECLINED = "declined", _("Declined")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        DESK = "desk", _("At the desk")
        API = "api", _("API")

    # Statuses that hold seats on the occurrence (a group awaiting approval keeps
    # its seats, so approving it can never oversell).
    HOLDS_SEATS = (Status.CONFIRMED, Status.PENDING)
    ACTIVE = (Status.CONFIRMED, Status.PENDING, Status.WAITING)

    # Indexed by (occurrence, status, created_at) below.
    occurrence = models.ForeignKey(
        "events.Occurrence", verbose_name=_("date"), on_delete=models.PROTECT, related_name="registrations",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INDIVIDUAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ONLINE)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=20, help_text="E.164")
    email = models.EmailField(_("email"), blank=True)
    party_size = models.PositiveSmallIntegerField(_("number of people"))
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=5, default="vi")
    sms_opt_in = models.BooleanField(_("SMS reminders"), default=True)
    consent_at = models.DateTimeField(_("consent given at"))
    consent_version = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when personal data was erased (retention); the counts stay.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["created_at", "pk"]
        constraints = [
            # One live registration per phone and date: a second attempt gets the first back.
            models.UniqueConstraint(
                fields=["occurrence", "phone"],
                condition=Q(status__in=["confirmed", "pending", "waiting"]) & ~Q(phone=""),
                name="registration_one_live_per_phone",
            ),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="registration_party_positive"),
        ]
        indexes = [
            models.Index(fields=["occurrence", "status", "created_at"]),
            models.Index(fields=["phone"]),
        ]

    def __str__(self):
        return f"{self.full_name or '—'} ({self.party_size}) · {self.get_status_display()}"

    @property
    def holds_seats(self) -> bool:
        return self.status in self.HOLDS_SEATS


class Ticket(models.Model):
    """The door pass of a confirmed registration; a group has one ticket with a headcount."""

    registration = models.OneToOneField(Registration, on_delete=models.CASCADE, related_name="ticket")
    # Unique by the constraints below (an equality index only: never searched by prefix).
    secret = models.CharField(max_length=64, default=new_ticket_secret, editable=False)
    digest = SecretDigestField(max_length=64, editable=False)
    # How many people of the party have been admitted (the visits it counts).
    admitted = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["secret"], name="ticket_secret_unique"),
            models.UniqueConstraint(fields=["digest"], name="ticket_digest_unique"),
        ]

    def __str__(self):
        return f"#{self.pk} · {self.registration}"

    def get_absolute_url(self):
        return reverse("attendance:ticket", args=[self.secret])


class CheckIn(models.Model):
    """One scan at the door, admitted or denied, so the door log is complete."""

    class Result(models.TextChoices):
        OK = "ok", _("Admitted")
        ALREADY = "already_checked_in", _("Already checked in")
        WRONG_OCCURRENCE = "wrong_occurrence", _("Ticket for another date")
        WRONG_VENUE = "wrong_venue", _("Ticket for another venue")
        TOO_EARLY = "too_early", _("Too early")
        TOO_LATE = "too_late", _("Too late")
        CANCELLED = "cancelled", _("Cancelled")
        WAITING = "waiting_list", _("On the waiting list")
        UNKNOWN = "unknown", _("Unknown ticket")

    # Every scan inserts a row, into every index of this table: each one is read by
    # something. The scan id is unique by a constraint (equality, no LIKE index);
    # ticket, date and venue are indexed by the pairs below, which lead with them.
    scan_id = models.CharField(max_length=64, help_text=_("Client-generated id; a repeated upload is a no-op."))
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="checkins", db_index=False
    )
    occurrence = models.ForeignKey(
        "events.Occurrence", null=True, blank=True, on_delete=models.PROTECT, related_name="checkins", db_index=False
    )
    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="checkins", db_index=False)
    result = models.CharField(max_length=20, choices=Result.choices)
    headcount = models.PositiveSmallIntegerField(default=0)
    scanned_at = models.DateTimeField(help_text=_("When the device scanned (its clock)."))
    received_at = models.DateTimeField(auto_now_add=True)
    offline = models.BooleanField(default=False)
    device = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-scanned_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["scan_id"], name="checkin_scan_id_unique")]
        indexes = [
            models.Index(fields=["occurrence", "result"]),
            models.Index(fields=["venue", "scanned_at"]),
            models.Index(fields=["ticket", "result"]),
        ]

    def __str__(self):
        return f"{self.get_result_display()} · {self.scanned_at:%d/%m/%Y %H:%M}"

    @property
    def counts(self) -> bool:
        return self.result == self.Result.OK and self.undone_at is None


class WalkIn(models.Model):
    """Visitors counted at the door without a ticket (+1 / +N)."""

    class Audience(models.TextChoices):
        CHILDREN = "children", _("Children")
        ADULTS = "adults", _("Adults")
        ELDERLY = "elderly", _("Elderly people")

    client_id = models.CharField(max_length=64, unique=True)
    # Indexed by the Meta indexes below.
    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="walkins", db_index=False)
    occurrence = models.ForeignKey(
        "events.Occurrence", null=True, blank=True, on_delete=models.PROTECT, related_name="walkins", db_index=False
    )
    day = models.DateField(_("day"), help_text=_("Local day at the venue."))
    count = models.PositiveSmallIntegerField(_("visitors"))
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, blank=True)
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    offline = models.BooleanField(default=False)
    device = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("walk-in")
        verbose_name_plural = _("walk-ins")
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["venue", "day"]), models.Index(fields=["occurrence"])]
        constraints = [models.CheckConstraint(condition=Q(count__gte=1), name="walkin_count_positive")]

    def __str__(self):
        return f"+{self.count} · {self.venue} · {self.day:%d/%m/%Y}"


class VisitCounters(models.Model):
    """The three kinds of visit a total adds up (visits = their sum)."""

    checked_in = models.IntegerField(default=0)
    walk_ins = models.IntegerField(default=0)
    manual = models.IntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def visits(self) -> int:
        return self.checked_in + self.walk_ins + self.manual


class VisitCount(VisitCounters):
    """Visits kept current as they happen, so no dashboard or report reads raw rows.

    One row per venue, local day, date (occurrence, or none for the venue's day)
    and audience. Every service that admits, undoes, counts a walk-in or enters
    attendance by hand changes these columns in its own transaction (see
    `attendance.totals`); `rebuild_visit_counts` recounts them from the raw rows.
    Visits = checked_in + walk_ins + manual.
    """

    # venue and programme are indexed by the pairs below, which lead with them.
    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="visit_counts", db_index=False)
    day = models.DateField(help_text=_("Local day at the venue."))
    occurrence = models.ForeignKey(
        "events.Occurrence", null=True, blank=True, on_delete=models.CASCADE, related_name="visit_counts"
    )
    # Copied from the occurrence so totals by programme and category need no join.
    programme = models.ForeignKey(
        "events.Programme", null=True, blank=True, on_delete=models.CASCADE, related_name="visit_counts",
        db_index=False,
    )
    category = models.CharField(max_length=20, blank=True)
    audience = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("visit count")
        verbose_name_plural = _("visit counts")
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "day", "audience"],
                condition=Q(occurrence__isnull=False),
                name="visitcount_one_per_occurrence_day",
            ),
            models.UniqueConstraint(
                fields=["venue", "day", "audience"],
                condition=Q(occurrence__isnull=True),
                name="visitcount_one_per_venue_day",
            ),
        ]
        indexes = [
            models.Index(fields=["venue", "day"]),
            models.Index(fields=["day", "venue"]),
            models.Index(fields=["programme", "day"]),
        ]

    def __str__(self):
        return f"{self.venue_id} · {self.day:%d/%m/%Y} · {self.visits}"


class VisitMonth(VisitCounters):
    """The same visits rolled up by venue, month, category and audience, kept by the
    same statement-pair as VisitCount, so year and province figures read a few
    thousand rows instead of every day of every venue."""

    # Indexed by the unique key and the covering index, which lead with it.
    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="visit_months", db_index=False)
    month = models.DateField(help_text=_("First day of the month (local)."))
    category = models.CharField(max_length=20, blank=True)
    audience = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("visits in a month")
        verbose_name_plural = _("visits by month")
        constraints = [
            models.UniqueConstraint(fields=["venue", "month", "category", "audience"], name="visitmonth_one_per_key"),
        ]
        indexes = [
            models.Index(fields=["month", "venue"]),
            # Year figures of a province's venues read only this index on PostgreSQL
            # (an index-only scan), not the rows scattered over the table.
            models.Index(
                fields=["venue", "month"], include=["checked_in", "walk_ins", "manual"], name="visitmonth_venue_cover"
            ),
        ]

    def __str__(self):
        return f"{self.venue_id} · {self.month:%m/%Y} · {self.visits}"


class ManualAttendance(models.Model):
    """Attendance of a date entered by hand where tickets were not scanned.

    A correction is a new row; the previous one is kept with `superseded_at`
    set, so who entered what, and when, stays on record."""

    occurrence = models.ForeignKey("events.Occurrence", on_delete=models.PROTECT, related_name="manual_attendance")
    count = models.PositiveIntegerField(_("visitors"))
    audience = models.CharField(_("audience"), max_length=10, choices=WalkIn.Audience.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance entered by hand")
        verbose_name_plural = _("attendance entered by hand")
        ordering = ["-entered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence"], condition=Q(superseded_at__isnull=True), name="manualattendance_one_current"
            ),
        ]

    def __str__(self):
        return f"{self.count} · {self.occurrence_id}"
