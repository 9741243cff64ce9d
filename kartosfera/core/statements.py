"""SQL written by hand for a hot path, with Django models on both ends (docs/processing.md, "Speed").

The ORM compiles every queryset to SQL again on each call: profiled, that was a quarter of an
authorization's time, and each statement its own round trip to the database. The card core's
decision instead reads its rows with two hand-written statements and writes them with a few more,
built here from the models' own metadata (columns, converters, defaults), so that:

- a row comes back as a model instance converted exactly as the ORM converts it (the same
  backend and field converters, ``Model.from_db``), and the rest of the code does not know;
- an instance is inserted with the values ``Model.save()`` would write (``pre_save`` for
  ``auto_now_add``, ``get_db_prep_save``), one SQL string per model and database, built once;
- on PostgreSQL, ``batch()`` sends several statements in ONE round trip (psycopg's pipeline mode,
  https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html); the server still runs them one
  after another, each seeing the previous one's rows. Elsewhere (SQLite, in-process) they simply
  run in turn. An error in any statement raises at the end of the batch, as Django's own
  database error, and the transaction around it rolls back.

Only plain columns are supported: no inheritance, no deferred fields. Every statement still goes
through Django's cursor, so query-count tests and logging see them.
"""

# The SQL text here is built only from the models' metadata (table and column names, quoted);
# every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Sequence[Any] = ()


def _db() -> BaseDatabaseWrapper:
    # The connection itself, looked up once per call: ``django.db.connection`` is a proxy that looks the
    # thread's connection up again on every attribute (a hundred times per authorization, profiled).
    return connections[DEFAULT_DB_ALIAS]


def quote(name: str) -> str:
    return _db().ops.quote_name(name)


@cache
def _fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(model._meta.concrete_fields)


def _column(field: Any) -> str:
    return str(field.column)


def select_list(model: type[Model], alias: str) -> str:
    """``alias."col1", alias."col2", …`` for every column of ``model``, in ``row_to_instance``'s order."""
    return _select_list(model, alias, _db().vendor)


@cache
def _select_list(model: type[Model], alias: str, vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per database
    return ", ".join(f"{alias}.{quote(_column(field))}" for field in _fields(model))


def column_count(model: type[Model]) -> int:
    return len(_fields(model))


def _converters(model: type[Model], db: BaseDatabaseWrapper) -> list[tuple[int, list[Any], Col]]:
    """Per column, the converters the ORM would apply (backend's, then the field's), cached per connection."""
    cached: dict[type[Model], list[tuple[int, list[Any], Col]]] = db.__dict__.setdefault("_row_converters", {})
    if model not in cached:
        found = []
        for index, field in enumerate(_fields(model)):
            expression = Col(model._meta.db_table, field)
            functions = db.ops.get_db_converters(expression) + expression.get_db_converters(db)
            if functions:
                found.append((index, functions, expression))
        cached[model] = found
    return cached[model]


def row_to_instance(model: type[M], values: Sequence[Any]) -> M:
    """The instance the ORM would build from ``values`` (a row's slice in ``select_list`` order)."""
    db = _db()
    row = list(values)
    for index, functions, expression in _converters(model, db):
        value = row[index]
        for function in functions:
            value = function(value, expression, db)
        row[index] = value
    return model.from_db(db.alias, [field.attname for field in _fields(model)], row)


@cache
def _select_by_sql(model: type[Model], column: str, vendor: str) -> str:
    columns = _select_list(model, "t", vendor)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} t WHERE t.{quote(column)} = %s"


def select_by(model: type[M], column: str, value: Any) -> M | None:
    """The row of ``model`` whose ``column`` (a unique one) equals ``value``, or None: ``filter().first()`` without
    the ORM's per-call compiling, for a look-up on every request (e.g. an API key)."""
    db = _db()
    with _prepared(), _cursor() as cursor:
        cursor.execute(_select_by_sql(model, column, db.vendor), (value,))
        row = cursor.fetchone()
    return row_to_instance(model, row) if row is not None else None


@cache
def _insert_sql(model: type[Model], vendor: str, returning: bool, overridden: frozenset[str]) -> str:
    del vendor  # part of the cache key: quoting and RETURNING differ per database
    fields = [field for field in _fields(model) if not field.primary_key]
    columns = ", ".join(quote(_column(field)) for field in fields)
    values = ", ".join("{" + field.attname + "}" if field.attname in overridden else "%s" for field in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values})"
    if returning:
        sql += f" RETURNING {quote(_column(model._meta.pk))}"
    return sql


def insert_statement(obj: Model, *, sql_values: dict[str, Statement] | None = None) -> Statement:
    """The INSERT ``obj.save()`` would run (its primary key is left to the database).

    ``sql_values``: attnames whose value is an SQL expression instead (e.g. a subquery for an id
    not known before the batch runs), each with its own parameters.
    """
    db = _db()
    sql_values = sql_values or {}
    returning = db.features.can_return_columns_from_insert
    template = _insert_sql(type(obj), db.vendor, returning, frozenset(sql_values))
    params: list[Any] = []
    for field in _fields(type(obj)):
        if field.primary_key:
            continue
        if field.attname in sql_values:
            params.extend(sql_values[field.attname].params)
            continue
        value = field.pre_save(obj, add=True)
        params.append(field.get_db_prep_save(value, db))
    sql = template.format(**{name: expression.sql for name, expression in sql_values.items()})
    return Statement(sql, params)


@contextlib.contextmanager
def _prepared() -> Iterator[None]:
    """On PostgreSQL, psycopg PREPAREs each statement run inside on its first run on the connection and
    afterwards only executes it: the server no longer parses and plans it (planning the decision's
    reads took ~1.5 ms of server time per authorization). Django leaves psycopg's ``prepare_threshold``
    at None (never prepare) for all other queries, and so does this once the block ends. psycopg keeps at
    most ``prepared_max`` (100) statements per connection, least recently used dropped first."""
    db = _db()
    if db.vendor != "postgresql":
        yield
        return
    db.ensure_connection()
    raw = db.connection
    previous = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        yield
    finally:
        raw.prepare_threshold = previous


def _cursor() -> Any:
    """A cursor for these statements: on PostgreSQL with server-side binding (psycopg prepares only
    such statements, see ``_prepared``); still wrapped by Django (query logging, error translation)."""
    db = _db()
    if db.vendor != "postgresql":
        return db.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.ensure_connection()
    db.validate_thread_sharing()
    raw: Any = ServerBindingCursor(db.connection)  # type: ignore[call-arg]  # psycopg's Cursor(connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def _has_rows(cursor: Any) -> bool:
    """Whether the statement returned rows (a SELECT, an INSERT … RETURNING), not only a count."""
    result = getattr(cursor.cursor, "pgresult", None)
    if result is not None:
        # psycopg's ``description`` would build a Column object per column just to say so.
        from psycopg import pq

        return bool(result.status == pq.ExecStatus.TUPLES_OK)
    return cursor.description is not None


def update_statement(obj: Model, values: dict[str, Any]) -> Statement:
    """``UPDATE`` of ``obj``'s row setting ``values`` (field name or attname → value), prepared as ``save()`` would."""
    db = _db()
    meta = type(obj)._meta
    fields: list[Any] = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in fields)
    # Iterating the values alongside their fields: a key given as an attname ("card_id") works too.
    params = [field.get_db_prep_save(value, db) for field, value in zip(fields, values.values(), strict=True)]
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(_column(meta.pk))} = %s"
    return Statement(sql, [*params, obj.pk])


class Batch:
    """Statements sent together; ``add`` answers a handle whose rows ``rows`` gives after the batch."""

    def __init__(self) -> None:
        self._cursors: list[Any] = []
        self._rows: list[list[tuple[Any, ...]]] = []

    def add(self, statement: Statement) -> int:
        cursor = _cursor()
        self._cursors.append(cursor)
        cursor.execute(statement.sql, statement.params)
        return len(self._cursors) - 1

    def rows(self, handle: int) -> list[tuple[Any, ...]]:
        return self._rows[handle]

    def _collect(self) -> None:
        # After the batch every statement has run: read each one's rows (none for a plain UPDATE).
        self._rows = [list(cursor.fetchall()) if _has_rows(cursor) else [] for cursor in self._cursors]

    def _close(self) -> None:
        for cursor in self._cursors:
            cursor.close()


@contextlib.contextmanager
def batch() -> Iterator[Batch]:
    """Run the statements added inside the block in one round trip on PostgreSQL; read rows after it.

    Use it inside ``transaction.atomic`` when the statements must stand or fall together, as
    everywhere in the card core.
    """
    db = _db()
    db.ensure_connection()
    pending = Batch()
    raw = db.connection
    try:
        if db.vendor == "postgresql":
            # A database error surfaces when the pipeline syncs, outside Django's cursor: wrap it the same way.
            with db.wrap_database_errors, _prepared(), raw.pipeline():
                yield pending
        else:
            yield pending
        with db.wrap_database_errors:
            pending._collect()
    finally:
        pending._close()
