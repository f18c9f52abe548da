from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_schedule_send_time_text')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InboundMessage',
            name='needs_review',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='review_decision',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='reviewed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='reviewed_by',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='InboundMessage',
            name='set_aside',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddIndex(
            model_name='InboundMessage',
            index=Index(fields=['account_id', 'needs_review', 'reviewed_at']),
        ),
    ]
