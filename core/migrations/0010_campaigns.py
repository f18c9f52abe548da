from tortoise import migrations
from tortoise.migrations import operations as ops
from core.campaigns.models import RunStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_revenue')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScheduleEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('account_id', fields.IntField()),
                ('action', fields.CharField(max_length=32)),
                ('from_status', fields.CharField(max_length=16)),
                ('to_status', fields.CharField(max_length=16)),
                ('actor', fields.CharField(max_length=64)),
                ('detail', fields.CharField(default='', max_length=300)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'schedule_event', 'app': 'models', 'indexes': [Index(fields=['schedule_id', 'occurred_at'])], 'pk_attr': 'id', 'table_description': 'A lifecycle transition of a schedule and who made it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScheduleRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.ScheduleRun', source_field='run_id', db_constraint=False, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('contact_id', fields.BigIntField()),
                ('list_contact_id', fields.BigIntField()),
                ('blast_id', fields.IntField(null=True)),
                ('skip_reason', fields.CharField(null=True, max_length=16)),
            ],
            options={'table': 'schedule_recipient', 'app': 'models', 'unique_together': (('run', 'position'),), 'pk_attr': 'id', 'table_description': "A run's recipients, fixed when the run is resolved: numbered, each with its"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='ScheduleRun',
            name='status',
            field=fields.CharEnumField(default=RunStatus.RESOLVING, description='RESOLVING: resolving\nQUEUED: queued\nTESTING: testing\nSENDING: sending\nPAUSED: paused\nCOMPLETED: completed\nCANCELLED: cancelled\nSKIPPED: skipped', enum_type=RunStatus, max_length=16),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='cursor',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='queued_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='run_day',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='skip_reason',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='skipped',
            field=fields.JSONField(default=dict, db_default=SqlDefault("'{}'"), encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='test_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='winner_decision',
            field=fields.JSONField(default=dict, db_default=SqlDefault("'{}'"), encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='ScheduleRun',
            name='winner_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='ScheduleRun',
            index=Index(fields=['status', 'lease_until']),
        ),
    ]
