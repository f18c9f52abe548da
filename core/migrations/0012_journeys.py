from tortoise import migrations
from tortoise.migrations import operations as ops
from core.journeys.models import StepType
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_redirect')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JourneyStepRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='journey_step_runs', on_delete=OnDelete.CASCADE)),
                ('journey', fields.ForeignKeyField('models.WelcomeJourney', source_field='journey_id', db_constraint=True, to_field='id', related_name='step_runs', on_delete=OnDelete.CASCADE)),
                ('enrollment', fields.ForeignKeyField('models.JourneyEnrollment', source_field='enrollment_id', db_constraint=True, to_field='id', related_name='step_runs', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('position', fields.IntField()),
                ('step_type', fields.CharEnumField(description='SEND: send\nWAIT: wait\nWAIT_UNTIL: wait_until\nCONDITION: condition\nSET_FIELD: set_field\nUNSUBSCRIBE: unsubscribe\nEXIT: exit', enum_type=StepType, max_length=16)),
                ('outcome', fields.CharField(max_length=16)),
                ('message', fields.ForeignKeyField('models.MessageSent', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='journey_step_runs', on_delete=OnDelete.SET_NULL)),
                ('ran_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'journey_step_run', 'app': 'models', 'unique_together': (('enrollment', 'seq'),), 'indexes': [Index(fields=['journey_id', 'position'])], 'pk_attr': 'id', 'table_description': 'One step run for one enrollment: what per-step statistics count (entered, sent,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SelectionDecision',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='selection_decisions', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='selection_decisions', on_delete=OnDelete.CASCADE)),
                ('creative', fields.ForeignKeyField('models.MessageCreative', source_field='creative_id', db_constraint=True, to_field='id', related_name='selection_decisions', on_delete=OnDelete.CASCADE)),
                ('message', fields.ForeignKeyField('models.MessageSent', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='selection_decisions', on_delete=OnDelete.SET_NULL)),
                ('offer_id', fields.IntField(null=True)),
                ('mode', fields.CharField(max_length=16)),
                ('seg_recency', fields.CharField(max_length=48)),
                ('seg_history', fields.CharField(max_length=48)),
                ('seg_carrier', fields.CharField(max_length=48)),
                ('seg_line_type', fields.CharField(max_length=48)),
                ('seg_hour', fields.CharField(max_length=48)),
                ('draw', fields.FloatField(null=True)),
                ('offer_draw', fields.FloatField(null=True)),
                ('posterior', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('decided_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'selection_decision', 'app': 'models', 'indexes': [Index(fields=['account_id', 'decided_at']), Index(fields=['message_id'])], 'pk_attr': 'id', 'table_description': "Which creative a send got, and how: the model's draw and the posterior it came"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SelectionStat',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='selection_stats', on_delete=OnDelete.CASCADE)),
                ('creative', fields.ForeignKeyField('models.MessageCreative', source_field='creative_id', db_constraint=True, to_field='id', related_name='selection_stats', on_delete=OnDelete.CASCADE)),
                ('dimension', fields.CharField(max_length=16)),
                ('value', fields.CharField(max_length=48)),
                ('sends', fields.IntField(default=0)),
                ('clicks', fields.IntField(default=0)),
                ('conversions', fields.IntField(default=0)),
                ('revenue', fields.DecimalField(default=0, max_digits=14, decimal_places=4)),
                ('refreshed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'selection_stat', 'app': 'models', 'unique_together': (('account', 'creative', 'dimension', 'value'),), 'pk_attr': 'id', 'table_description': 'Sends, human clicks, conversions and revenue of one creative, overall'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='JourneyEnrollment',
            name='steps_run',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='JourneyStep',
            name='next_position',
            field=fields.IntField(null=True),
        ),
    ]
