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
    occurrence = models.ForeignKey(
        "events.Occurrence", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient} · {self.get_status_display()}"
