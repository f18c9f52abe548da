from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MessageSent',
            name='is_reply',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddIndex(
            model_name='MessageSent',
            index=Index(fields=['sent_at']),
        ),
        ops.AddIndex(
            model_name='MessageSent',
            index=Index(fields=['failed_at']),
        ),
    ]
