"""The door's hot statements, by hand: every scan runs them, and building
them through the ORM took more of a scan's time than the database did.

`ticket_for_update` is the locking read: a ticket with its registration, date,
programme and event, locked for the scan's transaction. It is what
`Ticket.objects.select_for_update(of=("self",)).select_related(
"registration__occurrence__programme__event").get(secret=code)` does, reading
only the columns a scan uses: compiling that ORM query and converting its 77
columns made it take 3.3–5.1 ms in-process, against 1.0–1.2 ms for the same
SQL run by hand (common.rows.RowsRead). The columns are listed once, below, by
model field; a field not listed is deferred: reading it works and costs a
query, so a new use is correct before it is fast.

`scan_record` writes what a scan changes: the ticket's admitted count (one
UPDATE that adds, as `visits_add` adds to the visit totals), the visit totals,
and the scan's own record, an INSERT … RETURNING of every column as
`obj.save(force_insert=True)` would write it (common.rows.insert_statement; no
signals, nothing listens to check-ins). On PostgreSQL these are one statement
(common.sql.execute_together), which can also read the door's live counters
(common.sql.execute_together_reading), so a scan answers them without a round
trip of their own. It is the scan's last statement and, in
common.sql.atomic_committed_by_last_write, carries the COMMIT: the hot rows it
updates (the day's and the month's totals) are released in the same round trip.
"""

from django.db import connection
from schedule.models import Event

from attendance.models import CheckIn, Registration, Ticket
from common.rows import Join, RowsRead, insert_statement, inserted
from common.sql import Statement, execute_together_reading, read_together
from events.models import Occurrence, Programme

# The tables of the locking read, from the ticket outwards, and the fields read.
TICKET_READ = RowsRead(
    Join("t", Ticket, ("id", "registration_id", "secret", "admitted")),
    Join("r", Registration, ("id", "occurrence_id", "kind", "status", "full_name", "organisation", "party_size"),
         via="t.registration"),
    Join("o", Occurrence, ("id", "programme_id", "venue_id", "start", "end", "cancelled", "counted_by_hand"),
         via="r.occurrence"),
    Join("p", Programme, ("id", "event_id", "category"), via="o.programme"),
    Join("e", Event, ("id", "title"), via="p.event"),
    where=(("t.secret", "="),),
    lock=True,
)


def ticket_for_update(secret: str) -> Ticket | None:
    """The ticket whose secret is `secret`, locked until the transaction ends, with
    `ticket.registration.occurrence.programme.event` read in the same statement."""
    return TICKET_READ.read([secret])


def ticket_for_update_reading(secret: str, read: list[Statement]) -> tuple[Ticket | None, tuple]:
    """(ticket_for_update(secret), the values of `read`, scalar expressions): read in
    the same statement, or in one of their own when no ticket matches."""
    ticket, values = TICKET_READ.read_with([secret], read)
    return ticket, values if ticket is not None else read_together(read)


def admitted_statement(ticket: Ticket, count: int) -> Statement:
    """Add `count` (negative: take back) to a ticket's admitted count."""
    table = connection.ops.quote_name(Ticket._meta.db_table)
    return f"UPDATE {table} SET admitted = admitted + %s WHERE id = %s", [count, ticket.pk]


def scan_record(checkin: CheckIn, *, ticket: Ticket | None = None, admitted: int = 0,
                visits: list[Statement] = (), read: list[Statement] = (), last: bool = False) -> tuple | None:
    """Write a scan: `admitted` more people on its (locked) ticket, the visit totals'
    statements (attendance.totals.visits_statements), and its record, last for its
    id; one statement on PostgreSQL. `checkin` gets its id, `ticket` its new count.

    With `read` (scalar expressions, such as attendance.selectors.day_counts_read),
    they are evaluated in the same round trip on the database as it was just
    before this write, and their values are returned. `last`: the transaction's
    last write, which carries its COMMIT in common.sql.atomic_committed_by_last_write."""
    statements = [admitted_statement(ticket, admitted)] if admitted else []
    statements += visits
    statements.append(insert_statement(checkin))
    row, values = execute_together_reading(statements, read, last=last)
    inserted(checkin, row[0])
    if admitted:
        ticket.admitted += admitted
    return values
