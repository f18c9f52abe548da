from tortoise import migrations
from tortoise.migrations import operations as ops
from core.campaigns.models import WallTimeField


async def _keep_wall_times(apps, schema_editor):
    # PostgreSQL held send_time as TIMETZ ("10:00:00+00"); keep the wall time. SQLite
    # could never store one (sqlite3 cannot bind a datetime.time), so it has none to keep.
    if schema_editor.DIALECT == "postgres":
        await schema_editor._run_sql(
            'ALTER TABLE "schedule" ALTER COLUMN "send_time" TYPE VARCHAR(8) '
            'USING to_char("send_time"::time, \'HH24:MI:SS\')')


class Migration(migrations.Migration):
    dependencies = [('models', '0006_receipt_raw_status_and_provider_segments')]

    initial = False

    operations = [
        ops.RunPython(_keep_wall_times, ops.RunPython.noop),
        ops.AlterField(
            model_name='Schedule',
            name='send_time',
            field=WallTimeField(null=True, generated=False, unique=False),
        ),
    ]
