"""Model rows read and written by hand, as the ORM would, for the few hot paths
where building the ORM's query took longer than the database did.

`RowsRead` is `select_related` by hand: one SELECT of a row and the rows its
relations lead to, its SQL built once per database from the model fields, and
the row read back as the ORM reads it (the backend's converters, then
`Model.from_db`, then the relation caches select_related fills). Fields not
listed are deferred: reading one works and costs a query, so a new use is
correct before it is fast.

`insert_statement` is the INSERT `obj.save(force_insert=True)` would run (the
fields' pre_save and database values; the SQL built once per model), for
common.sql.execute_together to run beside other statements.
"""

from dataclasses import dataclass
from functools import cache

from django.db import connection, connections, models
from django.db.models.fields.related import ForeignObjectRel
from django.db.transaction import TransactionManagementError

from common.sql import Statement, execute_together


@dataclass(frozen=True)
class Join:
    """A table of a RowsRead: `model` under `alias`, reached from an earlier table
    through `via` ("alias.relation": a foreign key, or a reverse one-to-one, as
    select_related follows them); `fields` None reads every concrete field."""

    alias: str
    model: type[models.Model]
    fields: tuple[str, ...] | None = None
    via: str | None = None


class _Compiled:
    """A RowsRead's SQL for one database connection, and how to read its row back."""

    def __init__(self, read: "RowsRead", db):
        ops, quote = db.ops, db.ops.quote_name
        columns, self.layout, self.links = [], [], []
        tables = {}
        for join in read.tables:
            meta = join.model._meta
            names = join.fields if join.fields is not None else [f.name for f in meta.concrete_fields]
            # Model.from_db takes values in the order of the model's concrete fields.
            fields = sorted((meta.get_field(name) for name in names), key=meta.concrete_fields.index)
            if meta.pk not in fields:
                raise ValueError(f"{join.alias}: the primary key must be read (it tells a missing row).")
            converters = []
            for field in fields:
                col = field.get_col(join.alias)
                found = ops.get_db_converters(col) + col.get_db_converters(db)
                if found:
                    converters.append((len(columns), col, found))
                columns.append(f"{join.alias}.{quote(field.column)}")
            start = len(columns) - len(fields)
            self.layout.append((join.model, [f.attname for f in fields], start, columns.index(
                f"{join.alias}.{quote(meta.pk.column)}"), converters))
            tables[join.alias] = join

        first, *rest = read.tables
        sql_from = [f"{quote(first.model._meta.db_table)} {first.alias}"]
        for index, join in enumerate(rest, start=1):
            parent_alias, relation = join.via.split(".")
            parent = tables[parent_alias]
            field = parent.model._meta.get_field(relation)
            parent_index = list(tables).index(parent_alias)
            if isinstance(field, ForeignObjectRel):  # reverse one-to-one: the row may be missing
                kind = "LEFT OUTER"
                on = f"{join.alias}.{quote(field.field.column)} = {parent_alias}.{quote(field.field.target_field.column)}"
            else:
                kind = "LEFT OUTER" if field.null else "INNER"
                on = f"{join.alias}.{quote(field.target_field.column)} = {parent_alias}.{quote(field.column)}"
            sql_from.append(f"{kind} JOIN {quote(join.model._meta.db_table)} {join.alias} ON {on}")
            self.links.append((parent_index, index, field))

        def column(ref):
            alias, name = ref.split(".")
            return f"{alias}.{quote(tables[alias].model._meta.get_field(name).column)}"

        where = " AND ".join(f"{column(ref)} {operator} %s" for ref, operator in read.where)
        # An integer no column can hold matches no row, as the ORM's lookups decide,
        # rather than failing in the database: the range of each integer compared.
        self.ranges = []
        for ref, operator in read.where:
            alias, name = ref.split(".")
            internal = tables[alias].model._meta.get_field(name).get_internal_type()
            known = operator == "=" and internal in ops.integer_field_ranges
            self.ranges.append(ops.integer_field_range(internal) if known else None)
        lock = ""
        if read.lock and db.features.has_select_for_update:
            lock = f" FOR UPDATE OF {first.alias}" if db.features.has_select_for_update_of else " FOR UPDATE"
        self.columns, self.width = ", ".join(columns), len(columns)
        self.rest = f"FROM {' '.join(sql_from)} WHERE {where}{lock}"
        self.sql = f"SELECT {self.columns} {self.rest}"


class RowsRead:
    """One row of the first table's model and, in the same SELECT, the rows the
    other tables join to it (see Join), returned as instances with their relation
    caches filled. `where`: ("alias.field", operator) pairs, each compared with
    a parameter. With `lock`, the first table's row is locked
    (FOR UPDATE OF it) until the transaction ends.

    `read_with` also reads scalar expressions in the same statement. Beside a
    lock, mind that they see the database as it was when the statement started,
    before any wait for the lock: only what the row's lock holders do not write
    (the row's own columns are read as they are once locked)."""

    def __init__(self, *tables: Join, where: tuple[tuple[str, str], ...], lock: bool = False):
        if tables[0].via is not None or any(join.via is None for join in tables[1:]):
            raise ValueError("The first table is the row read; each other one joins through `via`.")
        self.tables, self.where, self.lock = tables, where, lock
        self._compiled = {}

    def compiled(self, alias: str) -> _Compiled:
        if alias not in self._compiled:
            self._compiled[alias] = _Compiled(self, connections[alias])
        return self._compiled[alias]

    def read(self, params: list) -> models.Model | None:
        """The first table's instance, None when no row matches."""
        return self.read_with(params, ())[0]

    def read_with(self, params: list, extra: list[Statement]) -> tuple[models.Model | None, tuple]:
        """(the first table's instance or None, the values of the `extra` expressions;
        () when no row matches)."""
        if self.lock and not connection.in_atomic_block:
            raise TransactionManagementError("A locking read must run inside a transaction.")
        compiled = self.compiled(connection.alias)
        for value, bounds in zip(params, compiled.ranges):
            if bounds is not None and not _within(value, *bounds):
                return None, ()
        sql, extra_params = compiled.sql, []
        if extra:
            sql = f"SELECT {compiled.columns}, {', '.join(text.strip() for text, _ in extra)} {compiled.rest}"
            extra_params = [p for _, values in extra for p in values]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*extra_params, *params])
            row = cursor.fetchone()
        if row is None:
            return None, ()
        row = list(row)
        instances = []
        for model, attnames, start, pk_at, converters in compiled.layout:
            if row[pk_at] is None:  # an outer join found no row
                instances.append(None)
                continue
            for index, col, found in converters:
                for converter in found:
                    row[index] = converter(row[index], col, connection)
            instances.append(model.from_db(connection.alias, attnames, row[start:start + len(attnames)]))
        for parent_index, index, field in compiled.links:
            parent, child = instances[parent_index], instances[index]
            if parent is None:
                continue
            field.set_cached_value(parent, child)  # select_related caches a missing row as None
            if isinstance(field, ForeignObjectRel) and child is not None:
                field.field.set_cached_value(child, parent)
            elif getattr(field, "one_to_one", False) and child is not None:
                field.remote_field.set_cached_value(child, parent)
        return instances[0], tuple(row[compiled.width:])


def _within(value, low, high) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


@cache
def _insert_sql(model, alias: str, with_pk: bool) -> tuple[str, str, str, list]:
    """The parts of an INSERT of every concrete column (the primary key only
    `with_pk`): "INSERT INTO t (columns)", the placeholders, "RETURNING pk"."""
    if model.save is not models.Model.save:
        # Its own save() sets something; skipping it would store a wrong row.
        raise TypeError(f"{model.__name__} has its own save(); save it with the ORM.")
    meta, quote = model._meta, connections[alias].ops.quote_name
    fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
    if any(f.has_db_default() or getattr(f, "generated", False) for f in fields):
        # The ORM leaves those columns to the database; this INSERT would not.
        raise TypeError(f"{model.__name__} has database defaults or generated fields; save it with the ORM.")
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    return head, ", ".join(["%s"] * len(fields)), f"RETURNING {quote(meta.pk.column)}", fields


def _insert_parts(obj) -> tuple[str, str, str, list]:
    obj._prepare_related_fields_for_save(operation_name="save")
    head, placeholders, returning, fields = _insert_sql(type(obj), connection.alias, obj.pk is not None)
    return head, placeholders, returning, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def insert_statement(obj) -> Statement:
    """The INSERT `obj.save(force_insert=True)` would run, without signals, returning
    the primary key (see `inserted`). Runs the fields' pre_save (auto_now_add). An
    instance whose pk is already set (drawn with next_id_expression) is inserted with it.
    A related instance saved after `obj` was built gives its id now, as in save()."""
    head, placeholders, returning, params = _insert_parts(obj)
    return f"{head} VALUES ({placeholders}) {returning}", params


def inserted(obj, pk) -> None:
    """Mark `obj` as saved with the primary key its INSERT returned."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def next_id_expression(model) -> str:
    """A SQL expression drawing the next primary key of `model` from its sequence
    (PostgreSQL), so rows referring to it can be written in the same statement."""
    meta, ops = model._meta, connection.ops
    table = ops.quote_name(meta.db_table).replace("'", "''")
    return f"nextval(pg_get_serial_sequence('{table}', '{meta.pk.column}'))"


def insert_together(objs: list[models.Model], statements: list[Statement] = ()) -> None:
    """INSERT `objs` in order (one may refer to an earlier one) and run `statements`
    (which must not read what the INSERTs write), marking each obj saved.

    On PostgreSQL, when every obj but the last has its primary key drawn already
    (next_id_expression), this is one statement, one round trip: the last INSERT
    returns its key. Otherwise each INSERT runs alone, for the key the next may
    refer to, and then the statements."""
    *first, last = objs
    if connection.vendor == "postgresql" and all(obj.pk is not None for obj in first):
        row = execute_together([*(insert_statement(obj) for obj in first), *statements, insert_statement(last)])
        for obj in first:
            inserted(obj, obj.pk)
        inserted(last, row[0])
        return
    for obj in objs:
        (pk,) = execute_together([insert_statement(obj)])
        inserted(obj, pk)
    if statements:
        execute_together(list(statements))


class InsertIf:
    """As insert_together, in one statement, but only if `condition` (a SQL boolean
    expression) holds, evaluated once on the database as it was just before the
    statement. Built ahead (before a lock is taken, say) from the instances as they
    are then (their values, pre_save included); `run()` executes it and returns
    whether the condition held, and so whether anything was written.

    `run(read)` also evaluates scalar expressions (as common.sql.execute_together_reading)
    on the database as it was before the statement, into `values`, whether or not
    the condition held. They are given to run(), not here, so that they can use what
    building the INSERTs set on the instances (an auto_now_add time, say).

    PostgreSQL only, and every obj but the last must have its primary key drawn
    already; each of `statements` must be an UPDATE or DELETE ending with its
    WHERE clause (the condition is added to it)."""

    def __init__(self, condition: Statement, objs: list[models.Model], statements: list[Statement] = ()):
        if connection.vendor != "postgresql" or any(obj.pk is None for obj in objs[:-1]):
            raise ValueError("InsertIf runs on PostgreSQL, with every primary key but the last drawn.")
        condition_sql, params = condition
        ctes = [f"_if AS (SELECT ({condition_sql.strip()}) AS ok)"]
        self.params = list(params)
        for i, obj in enumerate(objs):
            head, placeholders, returning, values = _insert_parts(obj)
            ctes.append(f"_w{i} AS ({head} SELECT {placeholders} FROM _if WHERE _if.ok {returning})")
            self.params += values
        for i, (sql, values) in enumerate(statements):
            if " WHERE " not in sql.upper():
                raise ValueError("Each statement must end with its WHERE clause.")
            ctes.append(f"_u{i} AS ({sql.strip()} AND (SELECT ok FROM _if))")
            self.params += values
        self.with_ = f"WITH {', '.join(ctes)}"
        self.last = f"_w{len(objs) - 1}"
        self.objs = objs
        self.values: tuple = ()

    def run(self, read: list[Statement] = ()) -> bool:
        expressions = "".join(f", {text.strip()}" for text, _ in read)
        sql = f"{self.with_} SELECT _if.ok{expressions}, {self.last}.* FROM _if LEFT JOIN {self.last} ON TRUE"
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params + [p for _, params in read for p in params])
            held, *values, last_pk = cursor.fetchone()
        self.values = tuple(values)
        if held:
            for obj in self.objs[:-1]:
                inserted(obj, obj.pk)
            inserted(self.objs[-1], last_pk)
        return bool(held)
