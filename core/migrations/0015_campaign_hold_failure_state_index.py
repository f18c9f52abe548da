from tortoise import migrations
from tortoise.migrations import operations as ops
from core.campaigns.models import RunStatus
from core.messaging.models import MessageStatus
from tortoise import fields
from tortoise.indexes import Index

from core.system.migration_ops import StateOnlyAlterField

# The status AlterFields change only the enums' descriptions (a new 'held' and 'failed'):
# state only, since tortoise's AlterField rebuilds a SQLite table and drops its indexes.

class Migration(migrations.Migration):
    dependencies = [('models', '0014_discord')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['state', 'id']),
        ),
        StateOnlyAlterField(
            model_name='MessageEvent',
            name='status',
            field=fields.CharEnumField(description='QUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nUNDELIVERED: undelivered\nFAILED: failed\nDROPPED: dropped\nORPHANED: orphaned\nHELD: held', enum_type=MessageStatus, max_length=16),
        ),
        StateOnlyAlterField(
            model_name='MessageSent',
            name='status',
            field=fields.CharEnumField(default=MessageStatus.QUEUED, description='QUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nUNDELIVERED: undelivered\nFAILED: failed\nDROPPED: dropped\nORPHANED: orphaned\nHELD: held', enum_type=MessageStatus, max_length=16),
        ),
        StateOnlyAlterField(
            model_name='ScheduleRun',
            name='status',
            field=fields.CharEnumField(default=RunStatus.RESOLVING, description='RESOLVING: resolving\nQUEUED: queued\nTESTING: testing\nSENDING: sending\nPAUSED: paused\nCOMPLETED: completed\nCANCELLED: cancelled\nSKIPPED: skipped\nFAILED: failed', enum_type=RunStatus, max_length=16),
        ),
    ]
