"""The tables a scan or a registration writes carry no index that nothing reads.

Every row inserted (and every row updated out of place, as a date's seat count or a
month's visit total is) is written into each index of its table, so an index that
another one already serves, or a LIKE index beside an equality-only column, is
write work at the door for no reader. PostgreSQL only: SQLite's indexes are
whatever Django's defaults give it.
"""

import pytest
from django.db import connection

from attendance.models import CheckIn, Registration, Ticket, VisitCount, VisitMonth, WalkIn
from events.models import Occurrence
from notifications.models import Message

WRITTEN_BY_SCAN_OR_REGISTRATION = [CheckIn, Ticket, Registration, VisitCount, VisitMonth, WalkIn, Occurrence, Message]

# Columns a prefix search (`__startswith`) reads, so their LIKE index is used.
PREFIX_SEARCHED = {("notifications_message", "dedupe_key"), ("attendance_walkin", "client_id")}


def _indexes(table: str) -> list[dict]:
    """Each index of `table`: name, unique, partial, key columns with their operator
    classes, and the columns it carries besides its keys."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, i.indisunique, i.indpred IS NOT NULL,
                   i.indnkeyatts, array_agg(a.attname ORDER BY k.n), array_agg(o.opcname ORDER BY k.n)
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) WITH ORDINALITY AS k(attnum, opclass, n)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            LEFT JOIN pg_opclass o ON o.oid = k.opclass  -- none for carried columns
            WHERE i.indrelid = %s::regclass
            GROUP BY c.relname, i.indisunique, i.indpred, i.indnkeyatts
            """,
            [table],
        )
        return [
            {
                "name": name, "unique": unique, "partial": partial,
                # (column, operator class) of each key, then the columns only carried (INCLUDE)
                "keys": list(zip(columns[:key_count], classes[:key_count])), "carried": set(columns[key_count:]),
            }
            for name, unique, partial, key_count, columns, classes in cursor.fetchall()
        ]


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("index definitions are PostgreSQL's")


@pytest.mark.django_db
@pytest.mark.parametrize("model", WRITTEN_BY_SCAN_OR_REGISTRATION, ids=lambda m: m._meta.db_table)
def test_no_index_is_served_by_another(postgresql, model):
    # given a table each scan or registration writes
    table = model._meta.db_table

    # when its indexes are read from the catalogue
    indexes = _indexes(table)

    # then no plain index has keys that lead another index's keys (same operator
    # classes), unless it carries columns the other does not have
    redundant = [
        f"{mine['name']} ⊂ {other['name']}"
        for mine in indexes
        for other in indexes
        if mine is not other
        and not mine["unique"]
        and not mine["partial"]
        and not other["partial"]
        and other["keys"][: len(mine["keys"])] == mine["keys"]
        and mine["carried"] <= {column for column, _ in other["keys"]} | other["carried"]
    ]
    assert redundant == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", WRITTEN_BY_SCAN_OR_REGISTRATION, ids=lambda m: m._meta.db_table)
def test_like_indexes_only_where_a_prefix_search_reads_them(postgresql, model):
    # given a table each scan or registration writes
    table = model._meta.db_table

    # when the columns of its LIKE indexes (pattern operator classes) are listed
    like = {
        (table, column)
        for index in _indexes(table)
        for column, operator_class in index["keys"]
        if operator_class.endswith("_pattern_ops")
    }

    # then each is a column searched by prefix
    assert like == {searched for searched in PREFIX_SEARCHED if searched[0] == table}
