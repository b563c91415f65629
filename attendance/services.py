"""Writes for registrations, tickets and the door.

Locking (see pretix's locking notes): what is consumed is what is locked.
Registration and cancellation lock the occurrence row (its seats) and then the
registration; check-in locks the ticket row. Locks are taken late, once,
inside the transaction.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from attendance.door_sql import scan_record, ticket_for_update, ticket_for_update_reading
from attendance.models import CheckIn, ManualAttendance, Registration, Ticket, WalkIn
from attendance.registration_sql import (
    date_ahead,
    date_for_update,
    live_registration_id,
    nobody_ahead,
    phone_free,
    registration_state,
    seats_statement,
    waiting_ahead,
)
from attendance.selectors import day_counts_of, day_counts_read, registrations_for_phone
from attendance.totals import local_day, visits_add, visits_statements
from common.errors import DomainError
from common.phone import phone_normalise
from common.rows import InsertIf, insert_together
from common.sql import Statement, atomic_committed_by_last_write, read_together
from events.models import Occurrence, Programme
from notifications.models import Message
from notifications.services import (
    PreparedMessage,
    message_create,
    message_prepare,
    message_record,
    message_recorded,
)
from notifications.templating import registration_message_text
from notifications.texts import ticket_lookup_text

# The consent text a registrant accepts; bump the version when the text changes.
CONSENT_VERSION = "2025-01"


class RegistrationError(DomainError):
    pass


# -- registration -------------------------------------------------------------------


def registration_window_check(occurrence: Occurrence, *, now: dt.datetime) -> None:
    """Raise RegistrationError when `occurrence` does not take registrations now."""
    programme = occurrence.programme
    if programme.status != Programme.Status.PUBLISHED or not occurrence.venue.is_active:
        raise RegistrationError("not_open", _("This event is not open for registration."))
    if occurrence.cancelled:
        raise RegistrationError("cancelled", _("This date has been cancelled."))
    if now >= occurrence.start:
        raise RegistrationError("started", _("This event has already started."))
    if not programme.registration_required:
        raise RegistrationError("walk_in_only", _("No registration needed: just come along."))
    if programme.registration_opens_days is not None:
        opens = occurrence.start - dt.timedelta(days=programme.registration_opens_days)
        if now < opens:
            raise RegistrationError(
                "not_yet_open",
                _("Registration opens on %(date)s.") % {"date": timezone.localtime(opens).strftime("%d/%m/%Y %H:%M")},
            )
    closes = occurrence.start - dt.timedelta(minutes=programme.registration_closes_minutes)
    if now >= closes:
        raise RegistrationError("closed", _("Registration for this date has closed."))


def _validate_party(programme: Programme, *, kind: str, party_size: int, capacity: int | None) -> None:
    if party_size < 1:
        raise RegistrationError("bad_party_size", _("Enter at least one person."), field="party_size")
    if kind == Registration.Kind.GROUP:
        if not programme.group_bookings:
            raise RegistrationError("groups_not_allowed", _("This programme does not take group bookings."))
    elif party_size > programme.max_party_size:
        raise RegistrationError(
            "party_too_large",
            _("At most %(n)d people per registration.") % {"n": programme.max_party_size},
            field="party_size",
        )
    if capacity is not None and party_size > capacity:
        raise RegistrationError(
            "party_exceeds_capacity",
            _("This date has only %(n)d places in all.") % {"n": capacity},
            field="party_size",
        )


def _message_key(registration: Registration, kind: str, sequence: int) -> str:
    return f"registration:{registration.pk}:{kind}:{sequence}"


def _message(registration: Registration, kind: str, *, sequence: int | None = None, **extra) -> PreparedMessage:
    """The SMS of `kind` to `registration`, worked out but not recorded. The n-th
    message of a kind for a registration exists once (a second promotion after a
    re-queue is a new message, a retry is not); `sequence` None counts the earlier ones.
    `extra`: the text's values (position), and `venue_body` (notifications.templating)."""
    if sequence is None:
        sequence = registration.messages.filter(kind=kind, channel=Message.Channel.SMS).count()
    return message_prepare(
        channel=Message.Channel.SMS,
        recipient=registration.phone,
        kind=kind,
        body=registration_message_text(registration, kind, **extra),
        language=registration.language,
        registration=registration,
        occurrence=registration.occurrence,
        dedupe_key=_message_key(registration, kind, sequence),
    )


def _notify(registration: Registration, kind: str, *, sequence: int | None = None, **extra) -> None:
    """Record the message for `registration` (sent after commit)."""
    if registration.phone:
        message_record(_message(registration, kind, sequence=sequence, **extra))


def waiting_position(registration: Registration) -> int | None:
    """1 for the first in line; None when not waiting."""
    if registration.status != Registration.Status.WAITING:
        return None
    (ahead,) = read_together([waiting_ahead(registration)])
    return ahead + 1


@dataclass
class RegistrationOutcome:
    registration: Registration
    created: bool
    position: int | None = None


def registration_create(
    *,
    occurrence_id: int,
    full_name: str,
    phone: str,
    party_size: int = 1,
    email: str = "",
    kind: str = Registration.Kind.INDIVIDUAL,
    organisation: str = "",
    language: str = "vi",
    sms_opt_in: bool = True,
    consent: bool,
    source: str = Registration.Source.ONLINE,
    created_by=None,
    now: dt.datetime | None = None,
) -> RegistrationOutcome:
    """Register for one date.

    Guarantees: seats are never oversold (the occurrence row is locked while
    seats are counted); the same phone for the same date gets its live
    registration back (`created=False`), never a second one, also when both
    arrive at once; a full date, or one with people already waiting, puts the
    registrant on the waiting list in arrival order. The message is recorded in
    the same transaction. The date is read first (with its programme, event,
    venue and SMS policy: a caller needs no read of its own) and the rows and
    message made ready; while the date is locked, on PostgreSQL, when a seat is
    free: the locking read and one statement that writes the registration,
    ticket, seats and message if nobody waits and the phone is not registered
    yet (attendance.registration_sql); when the date is full, one statement that
    puts the registration and its ticket on the waiting list, if the phone is not
    registered yet, and counts who waits ahead, then its message; otherwise a read
    of those, then the writes.
    Raises RegistrationError with a code (invalid_phone, consent_required,
    not_open, cancelled, started, walk_in_only, not_yet_open, closed, ...).
    """
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise RegistrationError("name_required", _("Enter your full name."), field="full_name")
    if not consent:
        raise RegistrationError(
            "consent_required", _("Please agree to the processing of your personal data."), field="consent"
        )
    try:
        phone = phone_normalise(phone)
    except DomainError as error:
        raise RegistrationError(error.code, error.message, field="phone") from error
    if kind == Registration.Kind.GROUP and not organisation.strip():
        raise RegistrationError("organisation_required", _("Enter the school or organisation."), field="organisation")

    language = language if language in ("vi", "en") else "vi"
    ahead = date_ahead(occurrence_id, language=language)
    date, now = ahead.occurrence, now or timezone.now()
    registration = Registration(
        occurrence=date,
        kind=kind,
        source=source,
        full_name=full_name,
        phone=phone,
        email=(email or "").strip(),
        party_size=party_size,
        organisation=organisation.strip(),
        language=language,
        sms_opt_in=sms_opt_in,
        consent_version=CONSENT_VERSION,
        created_by=created_by,
        consent_at=now,
    )
    ticket = Ticket(registration=registration)  # its secret is drawn now: the message carries its link
    registration.pk, ticket.pk = ahead.registration_id, ahead.ticket_id
    # The common case made ready before the lock (ids drawn ahead: PostgreSQL): a seat,
    # written in one statement if, after the lock, nobody waits and the phone has no
    # live registration. The date as read now only guesses; the lock decides.
    seated = _seated_status(date.programme, kind)
    ready = None
    if registration.pk is not None and _fits(date, party_size):
        _set_status(registration, seated, now)
        prepared = _first_message(registration, ahead)
        rows = [registration, ticket] + ([prepared.message] if prepared else [])
        ready = InsertIf(nobody_ahead(date, phone=phone), rows, [seats_statement(date, party_size)]), prepared

    with transaction.atomic():
        locked = date_for_update(occurrence_id)
        try:
            registration_window_check(locked, now=now)
            _validate_party(locked.programme, kind=kind, party_size=party_size, capacity=locked.capacity)
        except RegistrationError:
            # The same phone again still gets its registration back.
            existing_id = registration_state(locked, phone=phone).existing_id
            if existing_id:
                return _existing(existing_id)
            raise
        fits, seated_now = _fits(locked, party_size), _seated_status(locked.programme, kind)
        if ready is not None and fits and seated_now == seated:
            write, prepared = ready
            if write.run():
                if prepared is not None:
                    message_recorded(prepared)
                return RegistrationOutcome(registration, created=True)

        if registration.pk is not None and not fits:
            # Full: the newcomer waits. Written with its ticket, unless the phone is
            # registered already, in one statement that also counts who waits ahead
            # (read after the lock, so everyone ahead is counted; made now, so the
            # count uses the time stored). Then its message, which names the place.
            _set_status(registration, Registration.Status.WAITING, now)
            write = InsertIf(phone_free(locked, phone=phone), [registration, ticket])
            written = write.run([waiting_ahead(registration), live_registration_id(locked, phone=phone)])
            ahead_count, existing_id = write.values
            if not written:
                return _existing(existing_id)
            position = ahead_count + 1
            prepared = _first_message(registration, ahead, position=position)
            if prepared is not None:
                insert_together([prepared.message])
                message_recorded(prepared)
            return RegistrationOutcome(registration, created=True, position=position)

        # What other registrations wrote, read after the lock (registration_sql).
        state = registration_state(locked, phone=phone)
        if state.existing_id:
            return _existing(state.existing_id)
        _set_status(registration, seated_now if fits and not state.someone_waiting else Registration.Status.WAITING, now)
        writes, position = [registration, ticket], None
        if registration.status == Registration.Status.WAITING:
            # Its place in line counts the rows ahead of it: written first.
            insert_together(writes)
            writes, position = [], waiting_position(registration)
        elif registration.pk is None:  # no id drawn ahead (not PostgreSQL): the message's key needs it
            insert_together([registration])
            writes = [ticket]
        prepared = _first_message(registration, ahead, position=position)
        if prepared is not None:
            writes.append(prepared.message)
        if writes:
            insert_together(writes, [seats_statement(locked, party_size)] if registration.holds_seats else [])
        if prepared is not None:
            message_recorded(prepared)
    return RegistrationOutcome(registration, created=True, position=position)


def _fits(occurrence: Occurrence, party_size: int) -> bool:
    return occurrence.capacity is None or occurrence.seats_taken + party_size <= occurrence.capacity


def _seated_status(programme: Programme, kind: str) -> str:
    """What a registration that gets its seats is: a group may await approval."""
    if kind == Registration.Kind.GROUP and programme.group_approval_required:
        return Registration.Status.PENDING
    return Registration.Status.CONFIRMED


def _existing(registration_id: int) -> RegistrationOutcome:
    existing = Registration.objects.select_related("ticket").get(pk=registration_id)
    return RegistrationOutcome(existing, created=False, position=waiting_position(existing))


def _set_status(registration: Registration, status: str, now: dt.datetime) -> None:
    registration.status = status
    registration.confirmed_at = now if status == Registration.Status.CONFIRMED else None


_FIRST_MESSAGE = {
    Registration.Status.CONFIRMED: Message.Kind.CONFIRMATION,
    Registration.Status.PENDING: Message.Kind.PENDING,
    Registration.Status.WAITING: Message.Kind.WAITING,
}


def _first_message(registration: Registration, ahead, *, position: int | None = None) -> PreparedMessage | None:
    """A new registration's first SMS, in the venue's words (read ahead); its key
    (the new registration's id) cannot be taken. None without a phone."""
    if not registration.phone:
        return None
    kind = _FIRST_MESSAGE[registration.status]
    return _message(registration, kind, sequence=0, venue_body=ahead.venue_bodies[kind], position=position)


def _promote_waiting(occurrence: Occurrence, *, now: dt.datetime) -> list[Registration]:
    """Move waiting registrations to confirmed, first come first served, while
    their whole party fits. Strict order: a party that does not fit stops the
    line (it is never split, and nobody behind it jumps ahead).

    The caller holds the lock on `occurrence` and passes its current row.
    """
    if occurrence.cancelled or now >= occurrence.start:
        return []
    promoted = []
    seats = occurrence.seats_taken
    waiting = Registration.objects.filter(occurrence=occurrence, status=Registration.Status.WAITING).order_by(
        "created_at", "pk"
    )
    for registration in waiting:
        if occurrence.capacity is not None and seats + registration.party_size > occurrence.capacity:
            break
        seats += registration.party_size
        needs_approval = (
            registration.kind == Registration.Kind.GROUP and occurrence.programme.group_approval_required
        )
        registration.status = Registration.Status.PENDING if needs_approval else Registration.Status.CONFIRMED
        registration.confirmed_at = None if needs_approval else now
        registration.save(update_fields=["status", "confirmed_at"])
        _notify(registration, Message.Kind.PENDING if needs_approval else Message.Kind.PROMOTED)
        promoted.append(registration)
    if promoted:
        Occurrence.objects.filter(pk=occurrence.pk).update(seats_taken=seats)
        occurrence.seats_taken = seats
    return promoted


def _locked(registration_id: int) -> tuple[Occurrence, Registration]:
    # Lock order everywhere: occurrence, then registration.
    occurrence_id = Registration.objects.values_list("occurrence_id", flat=True).get(pk=registration_id)
    occurrence = (
        Occurrence.objects.select_for_update(of=("self",)).select_related("programme").get(pk=occurrence_id)
    )
    registration = Registration.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=registration_id)
    return occurrence, registration


def _release(occurrence: Occurrence, registration: Registration) -> None:
    if registration.holds_seats:
        occurrence.seats_taken = max(occurrence.seats_taken - registration.party_size, 0)
        Occurrence.objects.filter(pk=occurrence.pk).update(seats_taken=occurrence.seats_taken)


def registration_cancel(*, registration_id: int, by=None, now: dt.datetime | None = None) -> list[Registration]:
    """Cancel a registration (the citizen through the ticket link, or staff).

    Frees its seats and promotes the waiting list in the same transaction;
    returns the promoted registrations. Idempotent: cancelling twice is a no-op.
    Raises RegistrationError("already_checked_in") for a ticket already used.
    """
    now = now or timezone.now()
    with transaction.atomic():
        occurrence, registration = _locked(registration_id)
        if registration.status in (Registration.Status.CANCELLED, Registration.Status.DECLINED):
            return []
        if registration.ticket.admitted:
            raise RegistrationError("already_checked_in", _("This ticket has already been used at the door."))
        _release(occurrence, registration)
        registration.status = Registration.Status.CANCELLED
        registration.cancelled_at = now
        registration.cancelled_by = by
        registration.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        _notify(registration, Message.Kind.CANCELLED)
        return _promote_waiting(occurrence, now=now)


def registration_approve(*, registration_id: int, by=None, now: dt.datetime | None = None) -> Registration:
    """Approve a group awaiting approval (its seats are already held)."""
    now = now or timezone.now()
    with transaction.atomic():
        _occurrence, registration = _locked(registration_id)
        if registration.status == Registration.Status.CONFIRMED:
            return registration
        if registration.status != Registration.Status.PENDING:
            raise RegistrationError("not_pending", _("Only a group awaiting approval can be approved."))
        registration.status = Registration.Status.CONFIRMED
        registration.confirmed_at = now
        registration.save(update_fields=["status", "confirmed_at"])
        _notify(registration, Message.Kind.CONFIRMATION)
        return registration


def registration_decline(*, registration_id: int, by=None, now: dt.datetime | None = None) -> list[Registration]:
    """Decline a group awaiting approval; its seats go to the waiting list."""
    now = now or timezone.now()
    with transaction.atomic():
        occurrence, registration = _locked(registration_id)
        if registration.status == Registration.Status.DECLINED:
            return []
        if registration.status != Registration.Status.PENDING:
            raise RegistrationError("not_pending", _("Only a group awaiting approval can be declined."))
        _release(occurrence, registration)
        registration.status = Registration.Status.DECLINED
        registration.cancelled_at = now
        registration.cancelled_by = by
        registration.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        _notify(registration, Message.Kind.DECLINED)
        return _promote_waiting(occurrence, now=now)


def waiting_list_promote(*, occurrence_id: int, now: dt.datetime | None = None) -> list[Registration]:
    """Fill seats that became free (e.g. a larger capacity) from the waiting list."""
    with transaction.atomic():
        occurrence = (
            Occurrence.objects.select_for_update(of=("self",)).select_related("programme").get(pk=occurrence_id)
        )
        return _promote_waiting(occurrence, now=now or timezone.now())


def registrations_erase_personal_data(*, older_than_days: int | None = None, now: dt.datetime | None = None) -> int:
    """Erase names, phones, emails and organisations of registrations whose date
    ended more than `older_than_days` ago (Decree 13/2023/NĐ-CP: keep personal
    data no longer than its purpose). Counts, statuses and check-ins stay.
    Idempotent; returns the number of registrations erased."""
    days = settings.PERSONAL_DATA_RETENTION_DAYS if older_than_days is None else older_than_days
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    with transaction.atomic():
        due = Registration.objects.filter(occurrence__end__lt=cutoff, erased_at__isnull=True)
        # Their messages carry the same data (phone or address, name, ticket link):
        # kept as counts and costs, emptied of who and what. One never sent is dropped.
        messages = Message.objects.filter(registration__in=due.values("pk"))
        messages.filter(status=Message.Status.PENDING).update(
            status=Message.Status.FAILED, last_error="personal data erased before sending"
        )
        messages.update(recipient="", subject="", body="")
        return due.update(full_name="", phone="", email="", organisation="", erased_at=now)


# -- check-in -----------------------------------------------------------------------


@dataclass
class ScanOutcome:
    """What the door is told: a reason code, the scan row, and what staff need to see."""

    result: str
    checkin: CheckIn
    ticket: Ticket | None = None
    details: dict = field(default_factory=dict)
    # The venue's live counters for today, after this scan, when asked for and
    # read with it (None: ask attendance.selectors.venue_day_counts).
    counts: dict | None = None

    @property
    def ok(self) -> bool:
        return self.result == CheckIn.Result.OK


def _details(ticket: Ticket | None, checkin: CheckIn) -> dict:
    details = {"headcount": checkin.headcount}
    if ticket is None:
        return details
    registration = ticket.registration
    occurrence = registration.occurrence
    details.update(
        {
            "name": registration.full_name,
            "organisation": registration.organisation,
            "party_size": registration.party_size,
            "admitted": ticket.admitted,
            "kind": registration.kind,
            "occurrence_id": occurrence.pk,
            "occurrence_start": timezone.localtime(occurrence.start).isoformat(),
            "title": occurrence.programme.event.title,
        }
    )
    if checkin.result == CheckIn.Result.ALREADY:
        first = (
            CheckIn.objects.filter(ticket=ticket, result=CheckIn.Result.OK, undone_at__isnull=True)
            .select_related("user")
            .order_by("scanned_at", "pk")
            .first()
        )
        if first:
            details["first_checked_in_at"] = timezone.localtime(first.scanned_at).isoformat()
            details["first_checked_in_by"] = first.user.get_username() if first.user else ""
            details["first_device"] = first.device
    return details


def _lock_ticket(code: str, confirm: Statement | None) -> Ticket | None:
    """The ticket whose secret is `code`, locked for this transaction, in one query.
    Only the secret opens the door; the digests scanners keep offline do not.
    `confirm` is read with it (on its own when no ticket matches), and the scan
    goes no further when it is false."""
    code = (code or "").strip()
    if not code or len(code) > 64:
        ticket, values = None, (read_together([confirm]) if confirm else ())
    elif confirm:
        ticket, values = ticket_for_update_reading(code, [confirm])
    else:
        return ticket_for_update(code)
    if confirm and not values[0]:
        raise ScanNotConfirmed
    return ticket


class ScanError(DomainError):
    pass


class ScanNotConfirmed(Exception):
    """The caller's `confirm` read was false: nothing was recorded."""


def _check_occurrence_at(venue, occurrence_id: int | None, ticket: Ticket | None) -> None:
    """The date the scanner chose must be at its venue. Asked of the database only
    when the ticket does not already show it (its own date, at this venue)."""
    if occurrence_id is None:
        return
    if ticket is not None:
        occurrence = ticket.registration.occurrence
        if occurrence.pk == occurrence_id and occurrence.venue_id == venue.pk:
            return
    if not Occurrence.objects.filter(pk=occurrence_id, venue=venue).exists():
        raise ScanError("unknown_occurrence", _("This date is not at this venue."), field="occurrence_id")


def _validate(ticket: Ticket, *, venue, occurrence_id: int | None, at: dt.datetime) -> str:
    """The reason a scan is refused, checked in a fixed order; OK if none."""
    registration = ticket.registration
    occurrence = registration.occurrence
    if registration.status in (Registration.Status.CANCELLED, Registration.Status.DECLINED):
        return CheckIn.Result.CANCELLED
    if registration.status in (Registration.Status.WAITING, Registration.Status.PENDING):
        return CheckIn.Result.WAITING
    if occurrence.venue_id != venue.pk:
        return CheckIn.Result.WRONG_VENUE
    if occurrence_id is not None and occurrence.pk != occurrence_id:
        return CheckIn.Result.WRONG_OCCURRENCE
    if occurrence.cancelled:
        return CheckIn.Result.CANCELLED
    if at < occurrence.start - dt.timedelta(minutes=settings.CHECKIN_OPENS_MINUTES):
        return CheckIn.Result.TOO_EARLY
    if at > occurrence.end + dt.timedelta(minutes=settings.CHECKIN_CLOSES_MINUTES):
        return CheckIn.Result.TOO_LATE
    if ticket.admitted >= registration.party_size:
        return CheckIn.Result.ALREADY
    return CheckIn.Result.OK


def ticket_redeem(
    *,
    code: str,
    venue,
    scan_id: str,
    occurrence_id: int | None = None,
    headcount: int | None = None,
    device: str = "",
    user=None,
    scanned_at: dt.datetime | None = None,
    offline: bool = False,
    now: dt.datetime | None = None,
    with_counts: bool = False,
    confirm: Statement | None = None,
) -> ScanOutcome:
    """Redeem one scan at the door (shaped like pretix's perform_checkin).

    Cheap checks first; then, in one transaction, the ticket row is locked and
    validated in a fixed order: cancelled, waiting_list, wrong_venue,
    wrong_occurrence, cancelled date, too_early / too_late, already_checked_in.
    Every scan is recorded, denied ones too. `scan_id` (client-generated) makes a
    repeated upload a no-op that answers the first result again. Offline scans
    are judged at the time the device scanned; when two devices admitted the same
    ticket offline, the earlier scan is kept and the other recorded as already
    checked in. `headcount` admits part of a group (27 of 30). An `occurrence_id`
    not at `venue` raises ScanError, and nothing is recorded. `with_counts`: the
    outcome also brings the venue's live counters for today, read in the scan's
    own write (one round trip fewer per scan at a busy door). `confirm`: a scalar
    read that must be true for the scan to be judged and recorded, read with the
    ticket's lock (the caller's check that it may still act, such as
    attendance.door_auth.grant_read); when false, ScanNotConfirmed is raised and
    nothing is recorded. The scan's record is its transaction's last write and
    carries the COMMIT (common.sql.atomic_committed_by_last_write).
    """
    now = now or timezone.now()
    today = local_day(now)
    read = day_counts_read(venue_id=venue.pk, day=today) if with_counts else []
    scanned_at = scanned_at or now
    if scanned_at > now + dt.timedelta(minutes=5):
        scanned_at = now  # a device clock running ahead must not open the door early
    at = scanned_at if offline else now

    # A repeated scan_id is not looked up first: its INSERT below fails on the
    # unique scan_id, everything the attempt changed rolls back with it, and the
    # first answer is given again. Fresh scans, the common case, save a query.
    try:
        with atomic_committed_by_last_write():
            ticket = _lock_ticket(code, confirm)
            _check_occurrence_at(venue, occurrence_id, ticket)
            if ticket is None:
                checkin = CheckIn(
                    scan_id=scan_id, venue=venue, occurrence_id=occurrence_id, result=CheckIn.Result.UNKNOWN,
                    scanned_at=scanned_at, offline=offline, device=device, user=user,
                )
                values = scan_record(checkin, read=read, last=True)
                return ScanOutcome(checkin.result, checkin, None, _details(None, checkin), _door_counts(values))
            result = _validate(ticket, venue=venue, occurrence_id=occurrence_id, at=at)
            admit, new_visitors = 0, False
            if result == CheckIn.Result.OK:
                remaining = ticket.registration.party_size - ticket.admitted
                admit = remaining if headcount is None else max(1, min(headcount, remaining))
                new_visitors = True
            elif result == CheckIn.Result.ALREADY and offline:
                # Takes over a later scan's admission: no new visitors.
                result, admit = _keep_earlier_offline_scan(ticket, scanned_at)
            checkin = CheckIn(
                scan_id=scan_id, ticket=ticket, venue=venue,
                occurrence_id=occurrence_id or ticket.registration.occurrence_id, result=result,
                headcount=admit, scanned_at=scanned_at, offline=offline, device=device, user=user,
            )
            occurrence = ticket.registration.occurrence
            visits = []
            if admit and not occurrence.counted_by_hand:
                visits = visits_statements(
                    venue_id=venue.pk, day=local_day(scanned_at), occurrence=occurrence, checked_in=admit
                )
            values = scan_record(
                checkin, ticket=ticket, admitted=admit if new_visitors else 0, visits=visits, read=read, last=True
            )
            # The counters were read just before this write: add what it wrote.
            counts = _door_counts(values, checked_in=admit if visits and local_day(scanned_at) == today else 0)
    except IntegrityError:
        # A repeated scan_id (a replayed upload, or two at once): answer what the first one got.
        previous = CheckIn.objects.select_related("ticket__registration__occurrence__programme__event").get(
            scan_id=scan_id
        )
        return ScanOutcome(previous.result, previous, previous.ticket, _details(previous.ticket, previous))
    return ScanOutcome(checkin.result, checkin, ticket, _details(ticket, checkin), counts)


def _door_counts(values, *, checked_in: int = 0) -> dict | None:
    if values is None:
        return None
    counts = day_counts_of(values)
    counts["checked_in"] += checked_in
    return counts


def _keep_earlier_offline_scan(ticket: Ticket, scanned_at: dt.datetime) -> tuple[str, int]:
    """Two devices admitted the same ticket while offline: the earlier scan wins.

    If an admitted scan on record is later than this one, it becomes the
    duplicate and this one takes its place, with the same headcount, so the
    number of visits does not change."""
    later = (
        CheckIn.objects.select_for_update()
        .filter(ticket=ticket, result=CheckIn.Result.OK, undone_at__isnull=True, scanned_at__gt=scanned_at)
        .order_by("-scanned_at", "-pk")
        .first()
    )
    if later is None:
        return CheckIn.Result.ALREADY, 0
    CheckIn.objects.filter(pk=later.pk).update(result=CheckIn.Result.ALREADY)
    if ticket.registration.occurrence.counted_by_hand:
        return CheckIn.Result.OK, later.headcount
    # The visits move to the earlier scan's day (the caller adds them there).
    visits_add(
        venue_id=later.venue_id, day=local_day(later.scanned_at), occurrence=ticket.registration.occurrence,
        checked_in=-later.headcount,
    )
    return CheckIn.Result.OK, later.headcount


def checkin_undo(*, scan_id: str, user=None, now: dt.datetime | None = None) -> CheckIn | None:
    """Undo an admitted scan (a mistaken scan at the door). Idempotent; returns
    None for an unknown scan id."""
    with transaction.atomic():
        checkin = CheckIn.objects.filter(scan_id=scan_id).first()
        if checkin is None or checkin.ticket_id is None:
            return checkin
        ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=checkin.ticket_id)
        checkin = CheckIn.objects.get(pk=checkin.pk)
        if checkin.result != CheckIn.Result.OK or checkin.undone_at is not None:
            return checkin
        checkin.undone_at = now or timezone.now()
        checkin.save(update_fields=["undone_at"])
        ticket.admitted = max(ticket.admitted - checkin.headcount, 0)
        ticket.save(update_fields=["admitted"])
        occurrence = Occurrence.objects.select_related("programme").get(pk=checkin.occurrence_id)
        if not occurrence.counted_by_hand:
            visits_add(
                venue_id=checkin.venue_id, day=local_day(checkin.scanned_at), occurrence=occurrence,
                checked_in=-checkin.headcount,
            )
        return checkin


class WalkInError(DomainError):
    pass


def walkin_record(
    *,
    venue,
    client_id: str,
    count: int = 1,
    occurrence_id: int | None = None,
    audience: str = "",
    device: str = "",
    user=None,
    recorded_at: dt.datetime | None = None,
    offline: bool = False,
    now: dt.datetime | None = None,
) -> tuple[WalkIn, bool]:
    """Count visitors without a ticket (+1 / +N), for a date or for the venue's
    day. `client_id` makes a repeated upload a no-op; returns (walk-in, created)."""
    if not 1 <= count <= settings.WALKIN_MAX_COUNT:
        raise WalkInError(
            "bad_count", _("Enter between 1 and %(n)d visitors.") % {"n": settings.WALKIN_MAX_COUNT}, field="count"
        )
    if audience and audience not in WalkIn.Audience.values:
        raise WalkInError("bad_audience", _("Unknown audience."), field="audience")
    now = now or timezone.now()
    recorded_at = min(recorded_at or now, now)
    occurrence = None
    if occurrence_id is not None:
        occurrence = Occurrence.objects.filter(pk=occurrence_id, venue=venue).select_related("programme").first()
        if occurrence is None:
            raise WalkInError("unknown_occurrence", _("This date is not at this venue."), field="occurrence_id")
    try:
        with transaction.atomic():
            walkin, created = WalkIn.objects.get_or_create(
                client_id=client_id,
                defaults={
                    "venue": venue,
                    "occurrence_id": occurrence_id,
                    "day": timezone.localtime(recorded_at).date(),
                    "count": count,
                    "audience": audience,
                    "recorded_at": recorded_at,
                    "offline": offline,
                    "device": device,
                    "user": user,
                },
            )
            if created:
                visits_add(
                    venue_id=venue.pk, day=walkin.day, occurrence=occurrence, audience=audience, walk_ins=count
                )
    except IntegrityError:
        return WalkIn.objects.get(client_id=client_id), False
    return walkin, created


def walkin_undo(*, client_id: str, now: dt.datetime | None = None) -> WalkIn | None:
    """Undo a walk-in count. Idempotent; None for an unknown id."""
    with transaction.atomic():
        undone = WalkIn.objects.filter(client_id=client_id, undone_at__isnull=True).update(
            undone_at=now or timezone.now()
        )
        walkin = WalkIn.objects.filter(client_id=client_id).select_related("occurrence__programme").first()
        if undone:
            # The conditional UPDATE let exactly one undo through: only it takes the visits back.
            visits_add(
                venue_id=walkin.venue_id, day=walkin.day, occurrence=walkin.occurrence, audience=walkin.audience,
                walk_ins=-walkin.count,
            )
    return walkin


# -- find my tickets ----------------------------------------------------------------

LOOKUP_SALT = "ticket-lookup"
LOOKUP_MAX_AGE = 3600  # seconds; the SMS text says "valid for 1 hour"


def lookup_token_make(phone: str) -> str:
    """A link token for an E.164 phone, URL-safe (no "+" for SMS apps to turn
    into a call link) and valid for LOOKUP_MAX_AGE seconds."""
    return signing.TimestampSigner(salt=LOOKUP_SALT).sign_object(phone)


def lookup_token_read(token: str) -> str:
    """The phone a token was made for. Raises signing.SignatureExpired when it is
    too old and signing.BadSignature when it was not made by us."""
    return signing.TimestampSigner(salt=LOOKUP_SALT).unsign_object(token, max_age=LOOKUP_MAX_AGE)


def ticket_lookup_send(*, phone: str, language: str, now: dt.datetime) -> Message | None:
    """Record an SMS to `phone` with a link to its tickets, only if it has a
    registration for an upcoming date. The caller answers the same either way."""
    if not registrations_for_phone(phone=phone, now=now).filter(occurrence__end__gt=now).exists():
        return None
    url = settings.SITE_URL + reverse("attendance:ticket_lookup", args=[lookup_token_make(phone)])
    return message_create(
        channel=Message.Channel.SMS,
        recipient=phone,
        kind=Message.Kind.TICKET_LOOKUP,
        body=ticket_lookup_text(url, language),
        language=language,
    )


# -- attendance entered by hand -------------------------------------------------------


class ManualAttendanceError(DomainError):
    pass


MANUAL_ATTENDANCE_MAX = 100_000


def manual_attendance_enter(
    *, occurrence_id: int, count: int, audience: str = "", note: str = "", user=None, now: dt.datetime | None = None
) -> ManualAttendance:
    """Record (or correct) how many people came to a date whose tickets were not
    scanned. The previous entry is kept, superseded; totals change by the difference."""
    now = now or timezone.now()
    if not 0 <= count <= MANUAL_ATTENDANCE_MAX:
        raise ManualAttendanceError(
            "bad_count", _("Enter a number between 0 and %(n)s.") % {"n": f"{MANUAL_ATTENDANCE_MAX:,}".replace(",", ".")},
            field="count",
        )
    if audience and audience not in WalkIn.Audience.values:
        raise ManualAttendanceError("bad_audience", _("Unknown audience."), field="audience")
    with transaction.atomic():
        occurrence = (
            Occurrence.objects.select_for_update(of=("self",)).select_related("programme").get(pk=occurrence_id)
        )
        if occurrence.start > now:
            raise ManualAttendanceError("not_started", _("This date has not started yet."), field="count")
        if occurrence.cancelled:
            raise ManualAttendanceError("cancelled", _("This date was cancelled."), field="count")
        if (
            not occurrence.counted_by_hand
            and CheckIn.objects.filter(occurrence=occurrence, result=CheckIn.Result.OK, undone_at__isnull=True).exists()
        ):
            raise ManualAttendanceError(
                "scanned",
                _("Tickets were scanned for this date, so its visits are already counted. Record extra visitors as walk-ins."),
                field="count",
            )
        day = local_day(occurrence.start)
        previous = ManualAttendance.objects.filter(occurrence=occurrence, superseded_at__isnull=True).first()
        if previous is not None:
            previous.superseded_at = now
            previous.save(update_fields=["superseded_at"])
            visits_add(
                venue_id=occurrence.venue_id, day=day, occurrence=occurrence, audience=previous.audience,
                manual=-previous.count,
            )
        entry = ManualAttendance.objects.create(
            occurrence=occurrence, count=count, audience=audience, note=note[:300], entered_by=user, entered_at=now
        )
        if not occurrence.counted_by_hand:
            # A ticket scanned later (an offline device uploading) must not count on top of the hand count.
            occurrence.counted_by_hand = True
            occurrence.save(update_fields=["counted_by_hand", "updated_at"])
        visits_add(venue_id=occurrence.venue_id, day=day, occurrence=occurrence, audience=audience, manual=count)
    return entry
