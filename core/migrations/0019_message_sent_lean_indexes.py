from tortoise import migrations
from tortoise.migrations import operations as ops

from core.system.partitions import PARTITIONED, month_partitions, storage_sql

# Issue 17, must-show 2: PostgreSQL's CPU per message sent is the workers' ceiling, and
# most of it went into index entries: none of the executor's UPDATEs of message_sent is
# HOT (status is in the claim index's predicate), so each wrote one entry into every
# index of the partition, twelve, whether or not the indexed columns changed.
#
# Four indexes are over columns NULL until a message leaves (sent_at, failed_at, the
# provider's id): they become partial, WHERE the column IS NOT NULL. The queries that
# use them compare the column (sent_at >= ..., provider_message_id = ...), which implies
# IS NOT NULL, so their plans do not change (tests/test_partitions.py, bench/plans.py);
# the outbox insert, the claim and mark-sending no longer write into them, and a
# failed_at entry exists only for a failed message. Same names on both backends (SQLite
# has partial indexes too); tortoise's PartialIndex cannot say IS NOT NULL, so, like
# idx_message_sent_queued, they are written here and named in the model's Meta comment.
#
# PostgreSQL: the partitions of message_sent get fillfactor 80 (core/system/partitions.py
# creates later ones with it), so the claim's and a release's UPDATE (token, lease,
# not_before: no indexed column) find room on the row's own page and are HOT (no index
# entry at all). Existing pages keep what they hold; new pages are filled to 80%.

_PARTIAL = (
    ("idx_message_sent_sent_at", "sent_at", "sent_at"),
    ("idx_message_sent_failed_at", "failed_at", "failed_at"),
    ("idx_message_sent_account_sent_at", "account_id, sent_at", "sent_at"),
    ("idx_message_sent_provider_id", "provider, provider_message_id", "provider_message_id"),
)


async def _storage(apps, schema_editor):
    if schema_editor.DIALECT != "postgres":
        return
    client = schema_editor.client
    for spec in PARTITIONED:
        if not spec.storage:
            continue
        names = [name for name, _ in await month_partitions(client, spec.table)]
        for name in [*names, f"{spec.table}_default"]:
            await client.execute_script(f'ALTER TABLE "{name}" SET ({storage_sql(spec)})')


class Migration(migrations.Migration):
    dependencies = [('models', '0018_partitions')]

    initial = False

    operations = [
        ops.RemoveIndex(model_name='MessageSent', fields=['sent_at']),
        ops.RemoveIndex(model_name='MessageSent', fields=['failed_at']),
        ops.RemoveIndex(model_name='MessageSent', fields=['account_id', 'sent_at']),
        ops.RemoveIndex(model_name='MessageSent', fields=['provider', 'provider_message_id']),
        *(ops.RunSQL(f'CREATE INDEX "{name}" ON "message_sent" ({columns}) '
                     f'WHERE "{column}" IS NOT NULL',
                     reverse_sql=f'DROP INDEX "{name}"')
          for name, columns, column in _PARTIAL),
        ops.RunPython(_storage, ops.RunPython.noop),
    ]
