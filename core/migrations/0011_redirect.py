from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Every request to a short link keeps the detector's verdict (human, preview, scanner or
# bot) next to is_bot and its reason. Rows written before this migration were all
# written by a stand-in of the recorder: their default is human, as is_bot says.


class Migration(migrations.Migration):
    dependencies = [('models', '0010_campaigns')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MessageShortLinkClick',
            name='verdict',
            field=fields.CharField(default='human', db_default='human', max_length=16),
        ),
    ]
