"""Adding a column that a newer version of a model declares to a table made before it.

`Base.metadata.create_all` makes missing tables, never missing columns. The app has no
migration tool; the few nullable columns added since its tables first shipped are added here,
by the code that uses them, at the moment it makes its tables.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Table, inspect, text
from sqlalchemy.exc import DatabaseError


def _missing(engine: Engine, table: Table, names: tuple[str, ...]) -> list[Column[object]]:
    inspector = inspect(engine)
    if not inspector.has_table(table.name):
        return []
    present = {column["name"] for column in inspector.get_columns(table.name)}
    return [table.c[name] for name in names if name not in present]


def add_missing_columns(engine: Engine, table: Table, *names: str) -> list[str]:
    """Adds the named (nullable) columns of `table` that its database table lacks.

    Returns the names added. Two processes may race to add one: the loser's error means the
    column is there now, which a second look confirms.
    """
    added: list[str] = []
    for column in _missing(engine, table, names):
        if not column.nullable:
            raise ValueError(f"{table.name}.{column.name}: only nullable columns can be added")
        preparer = engine.dialect.identifier_preparer
        kind = column.type.compile(dialect=engine.dialect)
        statement = (
            f"ALTER TABLE {preparer.format_table(table)} "
            f"ADD COLUMN {preparer.format_column(column)} {kind}"
        )
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        except DatabaseError:
            if column in _missing(engine, table, (column.name,)):
                raise
            continue
        added.append(column.name)
    # Their indexes too (create_all made the table's other indexes with it).
    for index in table.indexes:
        if any(column.name in added for column in index.columns):
            index.create(engine, checkfirst=True)
    return added
