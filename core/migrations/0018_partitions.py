import datetime as dt

from tortoise import migrations
from tortoise.migrations import operations as ops

from core.system.partitions import convert_all

# Issue 17, "data that grows". Both backends: the index audit of message_sent (three
# indexes nothing filters on go; the reconciler's scan of 'sending' rows, which used the
# first column of (status, not_before), gets a partial index of its own). PostgreSQL only:
# message_sent, message_event and message_short_link_click become partitioned by month
# (core/system/partitions.py says how uniqueness and integrity are kept).


async def _partition(apps, schema_editor):
    if schema_editor.DIALECT == "postgres":
        await convert_all(schema_editor.client, dt.datetime.now(dt.UTC))


class Migration(migrations.Migration):
    dependencies = [('models', '0017_tracking_counters')]

    initial = False

    operations = [
        ops.RemoveIndex(model_name='MessageSent', fields=['status', 'not_before']),
        ops.RemoveIndex(model_name='MessageSent', fields=['sending_list_id', 'status']),
        ops.RemoveIndex(model_name='MessageSent', fields=['schedule_id', 'status']),
        ops.RunSQL(
            'CREATE INDEX "idx_message_sent_sending" ON "message_sent" ("id") '
            "WHERE status = 'sending'",
            reverse_sql='DROP INDEX "idx_message_sent_sending"',
        ),
        ops.RunPython(_partition, ops.RunPython.noop),
    ]
