from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Hand-written: the executor claims the oldest queued messages thousands of times a
    minute; without this it walks every sent row before the first queued one. A partial
    index (both PostgreSQL and SQLite have them; tortoise models cannot express one)
    holds only the rows still waiting."""

    dependencies = [("models", "0002_message_replies_and_time_indexes")]

    initial = False

    operations = [
        ops.RunSQL(
            'CREATE INDEX "idx_message_sent_queued" ON "message_sent" ("id") '
            "WHERE status = 'queued'",
            reverse_sql='DROP INDEX "idx_message_sent_queued"',
        ),
    ]
