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
