from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_queued_messages_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SupportTicketMessage',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SupportTicketMessage',
            name='edited_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SupportTicketMessage',
            name='original_content',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
