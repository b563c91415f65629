"""Hand-written statements run together, and a transaction whose last write
carries its COMMIT."""

from contextlib import contextmanager
from functools import cache

from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

Statement = tuple[str, list]  # SQL with %s placeholders, and its parameters

# On the connection wrapper, inside atomic_committed_by_last_write: None (the last
# write is run as any other), "ready" (it carries the COMMIT) or "committed".
_LAST_WRITE = "_last_write_commit"


@contextmanager
def atomic_committed_by_last_write():
    """`transaction.atomic()` for a transaction that ends with one write run with
    `last=True` (execute_together, execute_together_reading).

    On PostgreSQL, when this block is the outermost one, that write and the
    COMMIT go to the database together, in one round trip (psycopg's pipeline
    mode), so the rows the transaction locked are released as soon as the
    database has committed, not when this process, scheduled again, asks for
    the COMMIT. Every scan updates its day's and month's visit totals, the same
    rows for every scan at a door: on two busy cores that wait was part of
    every scan's hold on them. Django's commit at the end of the block then has
    nothing left to do, and on_commit callbacks run as usual.

    Nothing may run in the block after that write: a statement that does starts
    a transaction of its own, and leaving the block then raises
    TransactionManagementError (what that statement did is rolled back). An
    exception raised after it leaves the write committed, so the caller's retry
    must find it (a scan's is found by its scan id).
    Inside another atomic block (a caller's, a test's), or elsewhere than on
    PostgreSQL with psycopg 3, this is plain `transaction.atomic()`."""
    with transaction.atomic():
        previous = getattr(connection, _LAST_WRITE, None)
        setattr(connection, _LAST_WRITE, "ready" if _pipelines() else None)  # outermost: checked at the write
        try:
            yield
            if getattr(connection, _LAST_WRITE) == "committed" and not transaction_idle(connection):
                raise TransactionManagementError(
                    "A statement ran after the write that committed the transaction "
                    "(common.sql.atomic_committed_by_last_write)."
                )
        finally:
            setattr(connection, _LAST_WRITE, previous)


def _outermost() -> bool:
    return connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1


@cache
def _pipelines() -> bool:
    if connection.vendor != "postgresql":
        return False
    try:
        import psycopg
    except ImportError:  # psycopg2: no pipeline mode
        return False
    return isinstance(connection.connection, psycopg.Connection) and psycopg.Pipeline.is_supported()


def transaction_idle(db) -> bool:
    """No transaction open on the connection of `db` (a Django connection on
    PostgreSQL with psycopg 3): committed or rolled back, or none begun."""
    from psycopg.pq import TransactionStatus

    return db.connection.info.transaction_status == TransactionStatus.IDLE


def _commit_in_the_same_trip(execute, sql, params, many, context):
    """An execute wrapper (innermost, so timing wrappers see the whole trip): the
    statement and a COMMIT sent together, their results read back together."""
    db = context["connection"]
    raw = db.connection
    with db.wrap_database_errors:  # errors arrive when the pipeline is read, after Django's own wrapper
        with raw.pipeline():
            result = execute(sql, params, many, context)
            raw.execute("COMMIT")
    return result


def _execute(cursor, sql: str, params: list, last: bool) -> None:
    """cursor.execute, carrying the COMMIT when `last` may (atomic_committed_by_last_write):
    not in a savepoint opened since, nor after a failure inside the block."""
    if last and getattr(connection, _LAST_WRITE, None) == "ready" and _outermost() and not connection.needs_rollback:
        with connection.execute_wrapper(_commit_in_the_same_trip):
            cursor.execute(sql, params)
        setattr(connection, _LAST_WRITE, "committed")
    else:
        cursor.execute(sql, params)


def execute_together(statements: list[Statement], *, last: bool = False) -> tuple | None:
    """Run `statements` in order in the current transaction and return the first
    row of the last one's result (its RETURNING), or None.

    On PostgreSQL they are one statement, one round trip: each but the last
    becomes a data-modifying WITH, which runs whether or not anything reads it.
    They all see the database as it was before the statement, so they must not
    read what another of them writes (different tables, or rows written once).
    Elsewhere they run one after the other.

    `last`: they are the transaction's last statement; in
    atomic_committed_by_last_write they carry its COMMIT (PostgreSQL)."""
    if not statements:
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            *first, (last_sql, last_params) = statements
            sql = "WITH {} {}".format(_ctes(first), last_sql.strip()) if first else last_sql
            _execute(cursor, sql, _params(first) + list(last_params), last)
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def execute_together_reading(
    statements: list[Statement], read: list[Statement], *, last: bool = False
) -> tuple[tuple | None, tuple]:
    """`execute_together(statements)`, and `read` — scalar expressions, such as
    `(SELECT COUNT(*) FROM …)` — evaluated on the database as it was before
    the statements: everything this transaction did before the call is seen,
    nothing these statements write is. Returns (the last statement's first
    returned row or None, the values of `read`, None when it is empty).

    On PostgreSQL this is one round trip: every statement becomes a WITH and
    the read selects beside the last one's row, so the last statement must
    have a RETURNING clause. Elsewhere the read runs first, then the statements.
    `last`: as in execute_together."""
    if not statements:
        raise ValueError("execute_together_reading() needs at least one statement.")
    if not read:
        return execute_together(statements, last=last), None
    if connection.vendor != "postgresql":
        values = read_together(read)
        return execute_together(statements), values
    expressions = ", ".join(text.strip() for text, _ in read)
    last = f"_s{len(statements) - 1}"
    # The LEFT JOIN keeps the read's row when the last statement returns none.
    sql = f"WITH {_ctes(statements)} SELECT {expressions}, {last}.* FROM (SELECT 1) AS _one LEFT JOIN {last} ON TRUE"
    with connection.cursor() as cursor:
        _execute(cursor, sql, _params(statements) + _params(read), last)
        row = cursor.fetchone()
    values, returned = row[:len(read)], row[len(read):]
    return (None if all(value is None for value in returned) else returned), values


def read_together(read: list[Statement]) -> tuple:
    """The values of scalar expressions (see execute_together_reading), in one SELECT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(text.strip() for text, _ in read), _params(read))
        return cursor.fetchone()


def _ctes(statements: list[Statement]) -> str:
    return ", ".join(f"_s{i} AS ({text.strip()})" for i, (text, _) in enumerate(statements))


def _params(statements: list[Statement]) -> list:
    return [p for _, params in statements for p in params]
