"""Hand-written statements run together."""

from django.db import connection

Statement = tuple[str, list]  # SQL with %s placeholders, and its parameters


def execute_together(statements: list[Statement]) -> tuple | None:
    """Run `statements` in order in the current transaction and return the first
    row of the last one's result (its RETURNING), or None.

    On PostgreSQL they are one statement, one round trip: each but the last
    becomes a data-modifying WITH, which runs whether or not anything reads it.
    They all see the database as it was before the statement, so they must not
    read what another of them writes (different tables, or rows written once).
    Elsewhere they run one after the other."""
    if not statements:
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) > 1:
            *first, (last_sql, last_params) = statements
            sql = "WITH {} {}".format(_ctes(first), last_sql.strip())
            cursor.execute(sql, _params(first) + list(last_params))
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def execute_together_reading(statements: list[Statement], read: list[Statement]) -> tuple[tuple | None, tuple]:
    """`execute_together(statements)`, and `read` — scalar expressions, such as
    `(SELECT COUNT(*) FROM …)` — evaluated on the database as it was before
    the statements: everything this transaction did before the call is seen,
    nothing these statements write is. Returns (the last statement's first
    returned row or None, the values of `read`, None when it is empty).

    On PostgreSQL this is one round trip: every statement becomes a WITH and
    the read selects beside the last one's row, so the last statement must
    have a RETURNING clause. Elsewhere the read runs first, then the statements."""
    if not statements:
        raise ValueError("execute_together_reading() needs at least one statement.")
    if not read:
        return execute_together(statements), None
    if connection.vendor != "postgresql":
        values = read_together(read)
        return execute_together(statements), values
    expressions = ", ".join(text.strip() for text, _ in read)
    last = f"_s{len(statements) - 1}"
    # The LEFT JOIN keeps the read's row when the last statement returns none.
    sql = f"WITH {_ctes(statements)} SELECT {expressions}, {last}.* FROM (SELECT 1) AS _one LEFT JOIN {last} ON TRUE"
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(statements) + _params(read))
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
