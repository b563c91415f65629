from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    """One message to one person, written before it is sent (an outbox row).

    The row is created in the same transaction as what causes it, so nothing
    accepted is lost; `dedupe_key` makes a second copy of the same message
    impossible.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", _("Registration confirmed")
        WAITING = "waiting", _("Placed on the waiting list")
        PENDING = "pending", _("Group awaiting approval")
        PROMOTED = "promoted", _("Promoted from the waiting list")
        DECLINED = "declined", _("Group declined")
        CANCELLED = "cancelled", _("Registration cancelled")
        TICKET_LOOKUP = "ticket_lookup", _("Link to my tickets")
        REMINDER = "reminder", _("Reminder")
        OCCURRENCE_CANCELLED = "occurrence_cancelled", _("Date cancelled by the venue")
        OCCURRENCE_MOVED = "occurrence_moved", _("Date moved by the venue")
        STAFF = "staff", _("Message from staff")
        REPORT_DUE = "report_due", _("Annual report due")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERED = "undelivered", _("Undelivered")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    language = models.CharField(max_length=5, default="vi")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    registration = models.ForeignKey(
        "attendance.Registration", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # occurrence and venue are indexed by the pairs in Meta, which lead with them.
    occurrence = models.ForeignKey(
        "events.Occurrence", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    # Whose budget and log the message belongs to.
    venue = models.ForeignKey(
        "venues.Venue", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    encoding = models.CharField(max_length=8, blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    cost = models.DecimalField(_("estimated cost"), max_digits=10, decimal_places=4, default=0)
    # Not before this instant (quiet hours, retry back-off).
    send_after = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True)  # indexed in Meta: equality only, no LIKE index
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "send_after"]),
            models.Index(fields=["venue", "created_at"]),
            models.Index(fields=["occurrence", "created_at"]),
            models.Index(fields=["provider_id"], name="message_provider_id"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient} · {self.get_status_display()}"


class SmsOptOut(models.Model):
    """A number that asked for no more reminders (link in the SMS, or STOP where
    the route has replies). Confirmations of what the person asked for still go."""

    class Source(models.TextChoices):
        LINK = "link", _("Opt-out link")
        STOP = "stop", _("STOP reply")
        STAFF = "staff", _("Staff")

    phone = models.CharField(max_length=20, unique=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")

    def __str__(self):
        return self.phone


class MessageTemplate(models.Model):
    """A venue's own wording of a kind of message (the built-in text otherwise)."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="message_templates")
    kind = models.CharField(_("kind"), max_length=24, choices=Message.Kind.choices)
    language = models.CharField(_("language"), max_length=5, default="vi")
    body = models.TextField(_("text"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [models.UniqueConstraint(fields=["venue", "kind", "language"], name="template_one_per_kind")]

    def __str__(self):
        return f"{self.venue} · {self.get_kind_display()} ({self.language})"


class SmsPolicy(models.Model):
    """How a venue spends on SMS."""

    venue = models.OneToOneField("venues.Venue", on_delete=models.CASCADE, related_name="sms_policy")
    without_diacritics = models.BooleanField(
        _("send without diacritics"), default=False,
        help_text=_("GSM-7: 160 characters a segment instead of 70, about a third of the price."),
    )
    monthly_cap = models.PositiveIntegerField(
        _("monthly SMS cap (segments)"), null=True, blank=True, help_text=_("Empty: no cap.")
    )

    class Meta:
        verbose_name = _("SMS policy")
        verbose_name_plural = _("SMS policies")

    def __str__(self):
        return str(self.venue)
