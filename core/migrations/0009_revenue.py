from tortoise import migrations
from tortoise.migrations import operations as ops
from core.offers.models import NetworkStatus
from core.tracking.models import ConversionType
from core.webhooks.models import DeliveryStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from orjson import loads
from tortoise.fields.data import JSON_DUMPS

# conversion and webhook_delivery had no writer before this migration, so they are
# empty everywhere: they are made anew rather than altered, because SQLite can neither
# drop an inline UNIQUE constraint nor add a NOT NULL column without a default.


class Migration(migrations.Migration):
    dependencies = [('models', '0008_inbound_review')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TuneConnection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tune_connection', on_delete=OnDelete.CASCADE)),
                ('network_id', fields.CharField(max_length=64)),
                ('api_key_sealed', fields.TextField(unique=False)),
                ('timezone', fields.CharField(default='America/New_York', max_length=64)),
                ('status', fields.CharEnumField(default=NetworkStatus.ACTIVE, description='ACTIVE: active\nPAUSED: paused', enum_type=NetworkStatus, max_length=16)),
                ('last_synced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tune_connection', 'app': 'models', 'pk_attr': 'id', 'table_description': "An account's TUNE (HasOffers) network, whose conversions the hourly sync pulls."},
            bases=['Model'],
        ),
        ops.DeleteModel(name='Conversion'),
        ops.CreateModel(
            name='Conversion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.CASCADE)),
                ('click', fields.ForeignKeyField('models.MessageClick', source_field='click_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('message', fields.ForeignKeyField('models.MessageSent', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('offer', fields.ForeignKeyField('models.Offer', source_field='offer_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('creative', fields.ForeignKeyField('models.MessageCreative', source_field='creative_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('journey', fields.ForeignKeyField('models.WelcomeJourney', source_field='journey_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('sending_list', fields.ForeignKeyField('models.SendingList', source_field='sending_list_id', null=True, db_constraint=True, to_field='id', related_name='conversions', on_delete=OnDelete.SET_NULL)),
                ('event_type', fields.CharEnumField(default=ConversionType.SALE, description='LEAD: lead\nSALE: sale\nREBILL: rebill\nSIGNUP: signup\nINSTALL: install\nREFUND: refund\nCHARGEBACK: chargeback', enum_type=ConversionType, max_length=16)),
                ('revenue', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('txn_id', fields.CharField(max_length=128)),
                ('source', fields.CharField(max_length=32)),
                ('dedup_key', fields.CharField(max_length=200)),
                ('attributed', fields.BooleanField(default=True)),
                ('unattributed_reason', fields.CharField(null=True, max_length=32)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'conversion', 'app': 'models', 'unique_together': (('account', 'dedup_key'),), 'indexes': [Index(fields=['account_id', 'occurred_at']), Index(fields=['message_id']), Index(fields=['contact_id', 'sending_list_id'])], 'pk_attr': 'id', 'table_description': 'A postback or pixel hit, attributed through its click to everything upstream.'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='MessageSent',
            index=Index(fields=['account_id', 'sent_at']),
        ),
        ops.DeleteModel(name='WebhookDelivery'),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='webhook_deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event_id', fields.CharField(max_length=32)),
                ('event', fields.CharField(max_length=16)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=300)),
                ('last_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'unique_together': (('endpoint', 'event_id'),), 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['endpoint_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One event for one endpoint: the outbox row, and its log once tried.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='WebhookEndpoint',
            name='paused_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
