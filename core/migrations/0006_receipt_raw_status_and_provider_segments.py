from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_ticket_message_edits')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MessageEvent',
            name='provider_status',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='MessageSent',
            name='provider_segments',
            field=fields.IntField(null=True),
        ),
    ]
