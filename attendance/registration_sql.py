"""Registration's statements by hand (common.rows), as attendance.door_sql does
for the door: the ORM's reads of a date with its programme, event and venue took
a millisecond or more each to build, several times what the database took.

`date_for_page` is the public registration page's read of a date, what
`Occurrence.objects.select_related("programme__event", "venue__sms_policy")
.exclude(programme__status=DRAFT).get(pk=pk)` reads, in one statement.

Registration first reads the date with what no lock holder writes
(`date_ahead`: the venue's message texts and, on PostgreSQL, the new rows' ids),
so its rows and message are ready before it locks the date (`date_for_update`,
a narrow read). What depends on other registrations (this phone's live
registration, whether anyone waits) is checked by a statement that starts after
the lock is granted, on purpose: under READ COMMITTED a statement sees the rows
committed when it started, so a subquery of the locking statement, started
before the lock was granted, would miss what the transaction it waited for had
just written (the party that joined the waiting list, the same phone's first
tap). On PostgreSQL, when a seat is free, that statement is the write: the
registration, its ticket, the seats and the message, written only if
`nobody_ahead` holds (common.rows.InsertIf, built before the lock). When the
date is full, the newcomer and its ticket are written to the waiting list if
`phone_free` holds, by a statement that also counts who waits ahead
(`waiting_ahead`). Otherwise `registration_state` reads it and the writes follow.
"""

from dataclasses import dataclass

from django.db import connection
from schedule.models import Event

from attendance.models import Registration, Ticket
from common.rows import Join, RowsRead, next_id_expression
from common.sql import Statement, read_together
from events.models import Occurrence, Programme
from notifications.models import Message, SmsPolicy
from notifications.templating import venue_template_read
from venues.models import Venue

_DATE_TABLES = (
    Join("o", Occurrence),
    Join("p", Programme, via="o.programme"),
    Join("e", Event, via="p.event"),
    Join("v", Venue, via="o.venue"),
    Join("sp", SmsPolicy, via="v.sms_policy"),
)
DATE_READ = RowsRead(*_DATE_TABLES, where=(("o.id", "="),))
DATE_PAGE = RowsRead(*_DATE_TABLES, where=(("o.id", "="), ("p.status", "<>")))

# What deciding a registration reads of the locked date (registration_window_check,
# the party's limits, the seats); other fields are deferred.
DATE_LOCK = RowsRead(
    Join("o", Occurrence, ("id", "programme_id", "venue_id", "start", "end", "cancelled", "capacity", "seats_taken")),
    Join("p", Programme, ("id", "status", "registration_required", "registration_opens_days",
                         "registration_closes_minutes", "group_bookings", "group_approval_required",
                         "max_party_size"), via="o.programme"),
    Join("v", Venue, ("id", "is_active"), via="o.venue"),
    where=(("o.id", "="),),
    lock=True,
)

# The messages a new registration may get, by the status it gets.
MESSAGE_KINDS = (Message.Kind.CONFIRMATION, Message.Kind.PENDING, Message.Kind.WAITING)


def date_for_page(pk: int) -> Occurrence | None:
    """The date with its programme, event, venue and the venue's SMS policy; None
    when there is no such date or its programme is a draft."""
    return DATE_PAGE.read([pk, Programme.Status.DRAFT])


@dataclass
class DateAhead:
    """What a registration reads before it locks the date."""

    occurrence: Occurrence  # with programme, event, venue and SMS policy
    venue_bodies: dict[str, str | None]  # by message kind: the venue's template, None for the built-in
    registration_id: int | None = None  # drawn ahead (PostgreSQL), else None
    ticket_id: int | None = None


def date_ahead(pk: int, *, language: str) -> DateAhead:
    """The date with its programme, event, venue and SMS policy, the venue's texts
    of a new registration's messages in `language` and, on PostgreSQL, the new
    registration's and ticket's ids: one statement, before the lock, so the
    messages and the rows can be made ready while nothing is held."""
    venue_id = f"o.{connection.ops.quote_name('venue_id')}"
    extra = [venue_template_read(venue_id, kind, language) for kind in MESSAGE_KINDS]
    draw = connection.vendor == "postgresql"
    if draw:
        extra += [(next_id_expression(Registration), []), (next_id_expression(Ticket), [])]
    found, values = DATE_READ.read_with([pk], extra)
    if found is None:
        raise Occurrence.DoesNotExist(f"No date {pk}.")
    ahead = DateAhead(found, dict(zip(MESSAGE_KINDS, values)))
    if draw:
        ahead.registration_id, ahead.ticket_id = values[len(MESSAGE_KINDS):]
    return ahead


def date_for_update(pk: int) -> Occurrence:
    """The date, locked until the transaction ends, with the fields of it, its
    programme and its venue that deciding a registration reads (DATE_LOCK)."""
    found = DATE_LOCK.read([pk])
    if found is None:
        raise Occurrence.DoesNotExist(f"No date {pk}.")
    return found


def _registrations() -> str:
    return connection.ops.quote_name(Registration._meta.db_table)


def _live_registration(occurrence: Occurrence, phone: str) -> Statement:
    live = Registration.ACTIVE
    return (f"SELECT id FROM {_registrations()} WHERE occurrence_id = %s AND phone = %s "
            f"AND status IN ({', '.join(['%s'] * len(live))})", [occurrence.pk, phone, *live])


def _waiting(occurrence: Occurrence) -> Statement:
    return (f"SELECT 1 FROM {_registrations()} WHERE occurrence_id = %s AND status = %s",
            [occurrence.pk, Registration.Status.WAITING])


@dataclass
class RegistrationState:
    existing_id: int | None  # this phone's live registration for the date
    someone_waiting: bool


def registration_state(occurrence: Occurrence, *, phone: str) -> RegistrationState:
    """What a registration for the (locked) `occurrence` depends on, in one statement;
    run it after the lock is granted (see the module's docstring)."""
    waiting, waiting_params = _waiting(occurrence)
    existing_id, someone_waiting = read_together(
        [live_registration_id(occurrence, phone=phone), (f"EXISTS ({waiting})", waiting_params)]
    )
    return RegistrationState(existing_id, bool(someone_waiting))


def nobody_ahead(occurrence: Occurrence, *, phone: str) -> Statement:
    """A SQL condition: nobody waits for the (locked) `occurrence` and `phone` has no
    live registration for it, i.e. registration_state's answer lets a newcomer take
    a seat; for common.rows.InsertIf, which evaluates it after the lock."""
    (free, free_params), (waiting, waiting_params) = phone_free(occurrence, phone=phone), _waiting(occurrence)
    return f"{free} AND NOT EXISTS ({waiting})", [*free_params, *waiting_params]


def phone_free(occurrence: Occurrence, *, phone: str) -> Statement:
    """A SQL condition: `phone` has no live registration for `occurrence`, for
    common.rows.InsertIf (a newcomer to a full date's waiting list)."""
    live, params = _live_registration(occurrence, phone)
    return f"NOT EXISTS ({live})", params


def live_registration_id(occurrence: Occurrence, *, phone: str) -> Statement:
    """A scalar expression: the id of `phone`'s live registration for `occurrence`, or NULL."""
    live, params = _live_registration(occurrence, phone)
    return f"({live} LIMIT 1)", params


def waiting_ahead(registration: Registration) -> Statement:
    """A scalar expression: how many wait ahead of `registration` for its date, in the
    line's order (created_at, then id; services.waiting_position is this plus one).
    For a registration about to be written, its created_at must be the one it will
    be stored with (set when its INSERT is built)."""
    ops = connection.ops
    created_at = ops.adapt_datetimefield_value(registration.created_at)
    return (f"(SELECT COUNT(*) FROM {_registrations()} WHERE occurrence_id = %s AND status = %s "
            "AND (created_at < %s OR (created_at = %s AND id < %s)))",
            [registration.occurrence_id, Registration.Status.WAITING, created_at, created_at, registration.pk])


def seats_statement(occurrence: Occurrence, count: int) -> Statement:
    """Add `count` (negative: free) to the date's seats taken."""
    table = connection.ops.quote_name(Occurrence._meta.db_table)
    return f"UPDATE {table} SET seats_taken = seats_taken + %s WHERE id = %s", [count, occurrence.pk]
