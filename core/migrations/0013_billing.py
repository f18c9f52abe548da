from tortoise import migrations
from tortoise.migrations import operations as ops
from core.billing.models import Gateway
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

async def _key_earlier_invoices(apps, schema_editor):
    # Invoices issued before this migration get a key of their own, so the unique
    # (account, dedup_key) below holds on a database that already has some.
    await schema_editor._run_sql(
        "UPDATE invoice SET dedup_key = 'legacy:' || CAST(id AS VARCHAR(20)) "
        "WHERE dedup_key = ''")


class Migration(migrations.Migration):
    dependencies = [('models', '0012_journeys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.CharField(max_length=64)),
                ('face', fields.CharField(max_length=16)),
                ('action', fields.CharField(max_length=48)),
                ('target', fields.CharField(default='', max_length=200)),
                ('outcome', fields.CharField(default='ok', max_length=16)),
                ('changes', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_event', 'app': 'models', 'indexes': [Index(fields=['account_id', 'occurred_at']), Index(fields=['account_id', 'action'])], 'pk_attr': 'id', 'table_description': 'One sensitive action, done or refused. ``changes`` never holds a secret.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BillingAdjustment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='billing_adjustments', on_delete=OnDelete.CASCADE)),
                ('amount', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('description', fields.CharField(max_length=200)),
                ('created_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('invoice', fields.ForeignKeyField('models.Invoice', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='adjustments', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'billing_adjustment', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A correction (credit if negative) waiting for the next invoice, which shows it as a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BillingProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='billing_profile', on_delete=OnDelete.CASCADE)),
                ('gateway', fields.CharEnumField(default=Gateway.MANUAL, description='MANUAL: manual\nSTRIPE: stripe', enum_type=Gateway, max_length=16)),
                ('cycle_anchor', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('spend_cap', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('stripe_customer_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'billing_profile', 'app': 'models', 'pk_attr': 'id', 'table_description': "An account's billing set-up: how it pays, where its rolling cycle starts, its cap."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PricePlan',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('free_segments', fields.IntField()),
                ('tiers', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('cycle_days', fields.IntField(default=360)),
                ('platform_fee', fields.DecimalField(max_digits=10, decimal_places=2)),
                ('fee_waiver_segments', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'price_plan', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A price plan as data (PRODUCT.md section 7 is the ``default`` one). Accounts name'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StripeEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event_id', fields.CharField(unique=True, max_length=255)),
                ('type', fields.CharField(max_length=64)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'stripe_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Each Stripe webhook event applied once, whatever Stripe or a replayer resends.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AccountAccess',
            name='invite_token_hash',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AlterModelOptions(
            name='Invoice',
            options={'table': 'invoice', 'app': 'models', 'unique_together': (('account', 'dedup_key'),), 'indexes': [Index(fields=['account_id', 'period_start'])], 'pk_attr': 'id', 'table_description': 'Immutable once issued: only its payment state moves (issued -> paid | failed).'},
        ),
        ops.AddField(
            model_name='Invoice',
            name='dedup_key',
            field=fields.CharField(db_default='', max_length=48),
        ),
        ops.RunPython(_key_earlier_invoices, ops.RunPython.noop),
        ops.AddField(
            model_name='Invoice',
            name='external_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Invoice',
            name='gateway',
            field=fields.CharEnumField(default=Gateway.MANUAL, db_default='manual', description='MANUAL: manual\nSTRIPE: stripe', enum_type=Gateway, max_length=16),
        ),
        ops.AddConstraint(
            model_name='Invoice',
            constraint=UniqueConstraint(fields=('account', 'dedup_key'), name=None),
        ),
        ops.AddField(
            model_name='UsageRecord',
            name='billed_segments',
            field=fields.IntField(null=True),
        ),
    ]
