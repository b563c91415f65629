"""What the door says for each reason code (shown big on the scanner)."""

from django.utils.translation import gettext_lazy as _

from attendance.models import CheckIn

R = CheckIn.Result

SCAN_MESSAGES = {
    R.OK: _("Welcome: admitted"),
    R.ALREADY: _("Already checked in"),
    R.WRONG_OCCURRENCE: _("Ticket for another date"),
    R.WRONG_VENUE: _("Ticket for another venue"),
    R.TOO_EARLY: _("Too early: check-in has not opened"),
    R.TOO_LATE: _("Too late: this date is over"),
    R.CANCELLED: _("Cancelled ticket or date"),
    R.WAITING: _("On the waiting list: not confirmed"),
    R.UNKNOWN: _("Unknown code: not a ticket"),
}

# green / amber / red at the door
SCAN_COLOURS = {
    R.OK: "green",
    R.ALREADY: "amber",
    R.WRONG_OCCURRENCE: "amber",
    R.TOO_EARLY: "amber",
    R.WAITING: "amber",
    R.WRONG_VENUE: "red",
    R.TOO_LATE: "red",
    R.CANCELLED: "red",
    R.UNKNOWN: "red",
}
