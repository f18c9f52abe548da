from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_account_opt_outs')]

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
