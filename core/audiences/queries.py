"""Named SQL for audiences: the compiled condition tree, run in the database.

Never loads contacts to filter them: one statement answers the size, one the sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.audiences.compiler import Scope, count_sql, matching_sql, sample_sql
from core.audiences.conditions import Group
from core.sql import conn


@dataclass(frozen=True, slots=True)
class SampleContact:
    contact_id: int
    list_contact_id: int  # its first subscription that matches


async def count_audience(tree: Group, scope: Scope) -> int:
    """How many contacts the audience holds now."""
    if not scope.list_ids:
        return 0
    client = conn()
    query = count_sql(tree, scope, client.capabilities.dialect)
    rows = await client.execute_query_dict(query.sql, query.params)
    return int(rows[0]["size"])


async def sample_audience(tree: Group, scope: Scope, limit: int = 10) -> list[SampleContact]:
    """Up to ``limit`` of the audience's contacts, lowest id first."""
    if not scope.list_ids or limit < 1:
        return []
    client = conn()
    query = sample_sql(tree, scope, client.capabilities.dialect, limit)
    rows = await client.execute_query_dict(query.sql, query.params)
    return [SampleContact(int(r["contact_id"]), int(r["list_contact_id"])) for r in rows]


async def matching(tree: Group, scope: Scope, list_contact_ids: Sequence[int]) -> set[int]:
    """Those of ``list_contact_ids`` (on the scope's lists) that the tree matches."""
    if not scope.list_ids or not list_contact_ids:
        return set()
    client = conn()
    query = matching_sql(tree, scope, client.capabilities.dialect, list_contact_ids)
    rows = await client.execute_query_dict(query.sql, query.params)
    return {int(r["list_contact_id"]) for r in rows}
