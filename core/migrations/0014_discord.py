from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_billing')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DiscordServer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='discord_server', on_delete=OnDelete.CASCADE)),
                ('guild_id', fields.BigIntField(unique=True)),
                ('alert_channel_id', fields.BigIntField(null=True)),
                ('report_channel_id', fields.BigIntField(null=True)),
                ('reply_channel_id', fields.BigIntField(null=True)),
                ('min_severity', fields.CharField(default='low', max_length=16)),
                ('disabled_kinds', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('muted_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('summary_hour', fields.SmallIntField(null=True)),
                ('summary_sent_on', fields.DateField(null=True)),
                ('linked_by_discord_id', fields.BigIntField()),
                ('linked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'discord_server', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The Discord server (guild) an account runs from, and the channels where its alerts,'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Notification',
            name='attempts',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Notification',
            name='channel_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Notification',
            name='discord_message_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='outcome',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
