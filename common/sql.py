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
            sql = "WITH {} {}".format(
                ", ".join(f"_s{i} AS ({text.strip()})" for i, (text, _) in enumerate(first)), last_sql.strip()
            )
            params = [p for _, statement_params in first for p in statement_params] + list(last_params)
            cursor.execute(sql, params)
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None
