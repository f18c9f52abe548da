"""Migration operations of our own, for changes tortoise would make the hard way."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class StateOnlyAlterField(ops.AlterField):
    """Changes the migration state only. For a field change the tables need nothing for
    (an enum's description, a foreign key whose constraint a RunPython step handles):
    tortoise's AlterField rebuilds the whole table on SQLite and loses its indexes."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None


async def drop_foreign_keys(schema_editor: Any, table: str, referenced: tuple[str, ...]
                            ) -> None:
    """On PostgreSQL, drop every foreign key of ``table`` that points at one of
    ``referenced``, by what it references (the constraints' names vary by version).
    SQLite keeps its REFERENCES: nothing is done there."""
    if schema_editor.DIALECT != "postgres":
        return
    targets = ", ".join(f"'{name}'::regclass" for name in referenced)
    await schema_editor._run_sql(
        "DO $$ DECLARE c record; BEGIN "
        "FOR c IN SELECT conname FROM pg_constraint "
        f"WHERE conrelid = '{table}'::regclass AND contype = 'f' "
        f"AND confrelid IN ({targets}) LOOP "
        f"EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', "
        "c.conname); END LOOP; END $$")
