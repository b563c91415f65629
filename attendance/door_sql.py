"""The door's hot statements, by hand: every scan runs them, and building
them through the ORM took more of a scan's time than the database did.

`ticket_for_update` is the locking read: a ticket with its registration, date,
programme and event, locked for the scan's transaction. It is what
`Ticket.objects.select_for_update(of=("self",)).select_related(
"registration__occurrence__programme__event").get(secret=code)` does, reading
only the columns a scan uses: compiling that ORM query and converting its 77
columns made it take 3.3–5.1 ms in-process, against 1.0–1.2 ms for the same
SQL run by hand. The columns are
listed once, below, by model field; the SQL is built from them, and the row is
read back as the ORM reads it: the backend's converters, then `Model.from_db`,
then the relation caches select_related would fill. A field not listed is
deferred: reading it works and costs a query, so a new use is correct before
it is fast.

`scan_record` writes what a scan changes: the ticket's admitted count (one
UPDATE that adds, as `visits_add` adds to the visit totals), the visit totals,
and the scan's own record, an INSERT … RETURNING of every column as
`obj.save(force_insert=True)` would write it (the fields' pre_save and database
values; the statement built once per model; no signals, nothing listens to
check-ins). On PostgreSQL these are one statement (common.sql.execute_together),
which can also read the door's live counters (common.sql.execute_together_reading),
so a scan answers them without a round trip of their own.
"""

from functools import cache

from django.db import connection, connections, models
from django.db.transaction import TransactionManagementError
from schedule.models import Event

from attendance.models import CheckIn, Registration, Ticket
from common.sql import Statement, execute_together_reading
from events.models import Occurrence, Programme

# (model, table alias, fields read), from the ticket outwards: each model is
# joined to the one before it through RELATIONS.
COLUMNS = (
    (Ticket, "t", ("id", "registration_id", "secret", "admitted")),
    (Registration, "r", ("id", "occurrence_id", "kind", "status", "full_name", "organisation", "party_size")),
    (Occurrence, "o", ("id", "programme_id", "venue_id", "start", "end", "cancelled", "counted_by_hand")),
    (Programme, "p", ("id", "event_id", "category")),
    (Event, "e", ("id", "title")),
)
# The foreign key from each model to the next: the joins, and the caches
# select_related fills (ticket.registration, registration.occurrence, ...).
RELATIONS = ("registration", "occurrence", "programme", "event")


class _Statement:
    """The SQL for one database connection, and how to read its row back."""

    def __init__(self, db):
        ops, quote = db.ops, db.ops.quote_name
        select, self.layout = [], []
        for model, alias, names in COLUMNS:
            # Model.from_db takes values in the order of the model's concrete fields.
            fields = sorted((model._meta.get_field(name) for name in names), key=model._meta.concrete_fields.index)
            converters = []
            for field in fields:
                col = field.get_col(alias)
                found = ops.get_db_converters(col) + col.get_db_converters(db)
                if found:
                    converters.append((len(select), col, found))
                select.append(f"{alias}.{quote(field.column)}")
            self.layout.append((model, [f.attname for f in fields], len(select) - len(fields), len(select), converters))
        (first, first_alias, _), joins = COLUMNS[0], []
        for (parent, parent_alias, _), (child, alias, _), relation in zip(COLUMNS, COLUMNS[1:], RELATIONS):
            fk = parent._meta.get_field(relation)
            joins.append(
                f"INNER JOIN {quote(child._meta.db_table)} {alias} "
                f"ON {alias}.{quote(fk.target_field.column)} = {parent_alias}.{quote(fk.column)}"
            )
        secret = quote(Ticket._meta.get_field("secret").column)
        lock = f" FOR UPDATE OF {first_alias}" if db.features.has_select_for_update_of else ""
        self.sql = (
            f"SELECT {', '.join(select)} FROM {quote(first._meta.db_table)} {first_alias} {' '.join(joins)} "
            f"WHERE {first_alias}.{secret} = %s{lock}"
        )


@cache
def _statement(alias: str) -> _Statement:
    return _Statement(connections[alias])


def ticket_for_update(secret: str) -> Ticket | None:
    """The ticket whose secret is `secret`, locked until the transaction ends, with
    `ticket.registration.occurrence.programme.event` read in the same statement."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("ticket_for_update() locks a row: call it inside a transaction.")
    statement = _statement(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [secret])
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    instances = []
    for model, attnames, start, end, converters in statement.layout:
        for index, col, found in converters:
            for converter in found:
                row[index] = converter(row[index], col, connection)
        instances.append(model.from_db(connection.alias, attnames, row[start:end]))
    for parent, child, relation in zip(instances, instances[1:], RELATIONS):
        parent._meta.get_field(relation).set_cached_value(parent, child)
    return instances[0]


@cache
def _insert_sql(model, alias: str) -> tuple[str, list]:
    """INSERT of every concrete column but an auto primary key, returning it."""
    if model.save is not models.Model.save:
        # Its own save() sets something (Ticket: the digest); skipping it would store a wrong row.
        raise TypeError(f"{model.__name__} has its own save(); save it with the ORM.")
    quote = connections[alias].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if any(f.has_db_default() or getattr(f, "generated", False) for f in fields):
        # The ORM leaves those columns to the database; this INSERT would not.
        raise TypeError(f"{model.__name__} has database defaults or generated fields; save it with the ORM.")
    sql = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)), quote(model._meta.pk.column),
    )
    return sql, fields


def insert_statement(obj) -> Statement:
    """The INSERT `obj.save(force_insert=True)` would run, without signals, returning
    the primary key (see `inserted`). Runs the fields' pre_save (auto_now_add)."""
    sql, fields = _insert_sql(type(obj), connection.alias)
    return sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def inserted(obj, pk) -> None:
    """Mark `obj` as saved with the primary key its INSERT returned."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def admitted_statement(ticket: Ticket, count: int) -> Statement:
    """Add `count` (negative: take back) to a ticket's admitted count."""
    table = connection.ops.quote_name(Ticket._meta.db_table)
    return f"UPDATE {table} SET admitted = admitted + %s WHERE id = %s", [count, ticket.pk]


def scan_record(checkin: CheckIn, *, ticket: Ticket | None = None, admitted: int = 0,
                visits: list[Statement] = (), read: list[Statement] = ()) -> tuple | None:
    """Write a scan: `admitted` more people on its (locked) ticket, the visit totals'
    statements (attendance.totals.visits_statements), and its record, last for its
    id; one statement on PostgreSQL. `checkin` gets its id, `ticket` its new count.

    With `read` (scalar expressions, such as attendance.selectors.day_counts_read),
    they are evaluated in the same round trip on the database as it was just
    before this write, and their values are returned."""
    statements = [admitted_statement(ticket, admitted)] if admitted else []
    statements += visits
    statements.append(insert_statement(checkin))
    row, values = execute_together_reading(statements, read)
    inserted(checkin, row[0])
    if admitted:
        ticket.admitted += admitted
    return values
