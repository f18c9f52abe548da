from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_discord')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SelectionDecision',
            name='run_id',
            field=fields.BigIntField(null=True),
        ),
    ]
