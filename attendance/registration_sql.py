"""Registration's statements by hand (common.rows), as attendance.door_sql does
for the door: the ORM's reads of a date with its programme, event and venue took
a millisecond or more each to build, several times what the database took.

`date_for_page` is the public registration page's read of a date, what
`Occurrence.objects.select_related("programme__event", "venue__sms_policy")
.exclude(programme__status=DRAFT).get(pk=pk)` reads, in one statement.

Registration then locks the date (`date_for_update`, its own statement) and
reads what depends on other rows with the next one (`registration_state`): this
phone's live registration, whether anyone waits, the venue's message texts,
and, on PostgreSQL, the new rows' ids, so the registration, its ticket, the
seats and the message are written in one statement
(common.rows.insert_together). The two reads are kept apart on purpose: under
READ COMMITTED a statement sees the rows committed when it started, so a
subquery of the locking statement, started before the lock was granted, would
miss what the transaction it waited for had just written (the party that joined
the waiting list, the same phone's first tap).
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


def date_read(pk: int) -> Occurrence:
    """The date with its programme, event, venue and the venue's SMS policy."""
    found = DATE_READ.read([pk])
    if found is None:
        raise Occurrence.DoesNotExist(f"No date {pk}.")
    return found


def date_for_page(pk: int) -> Occurrence | None:
    """As date_read, None when there is no such date or its programme is a draft."""
    return DATE_PAGE.read([pk, Programme.Status.DRAFT])


def date_for_update(pk: int) -> Occurrence:
    """The date, locked until the transaction ends, with its programme and venue."""
    found = DATE_LOCK.read([pk])
    if found is None:
        raise Occurrence.DoesNotExist(f"No date {pk}.")
    return found


@dataclass
class RegistrationState:
    existing_id: int | None  # this phone's live registration for the date
    someone_waiting: bool
    venue_bodies: dict[str, str | None]  # by message kind: the venue's template, None for the built-in
    registration_id: int | None = None  # drawn ahead (PostgreSQL), else None
    ticket_id: int | None = None


def registration_state(occurrence: Occurrence, *, phone: str, language: str) -> RegistrationState:
    """What a registration for the (locked) `occurrence` depends on, in one statement;
    run it after the lock is granted (see the module's docstring)."""
    quote = connection.ops.quote_name
    table = quote(Registration._meta.db_table)
    live = Registration.ACTIVE
    read: list[Statement] = [
        (f"(SELECT id FROM {table} WHERE occurrence_id = %s AND phone = %s "
         f"AND status IN ({', '.join(['%s'] * len(live))}) LIMIT 1)", [occurrence.pk, phone, *live]),
        (f"EXISTS (SELECT 1 FROM {table} WHERE occurrence_id = %s AND status = %s)",
         [occurrence.pk, Registration.Status.WAITING]),
        *(venue_template_read(occurrence.venue_id, kind, language) for kind in MESSAGE_KINDS),
    ]
    draw = connection.vendor == "postgresql"
    if draw:
        read += [(next_id_expression(Registration), []), (next_id_expression(Ticket), [])]
    values = read_together(read)
    existing_id, waiting, *bodies = values[:2 + len(MESSAGE_KINDS)]
    state = RegistrationState(existing_id, bool(waiting), dict(zip(MESSAGE_KINDS, bodies)))
    if draw:
        state.registration_id, state.ticket_id = values[-2:]
    return state


def seats_statement(occurrence: Occurrence, count: int) -> Statement:
    """Add `count` (negative: free) to the date's seats taken."""
    table = connection.ops.quote_name(Occurrence._meta.db_table)
    return f"UPDATE {table} SET seats_taken = seats_taken + %s WHERE id = %s", [count, occurrence.pk]
