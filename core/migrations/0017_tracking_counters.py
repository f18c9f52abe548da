from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

from core.system.migration_ops import StateOnlyAlterField, drop_foreign_keys


# The redirect's click insert keeps one foreign key, its short link's (CASCADE): account,
# message, contact and offer are copies of that link's own columns, right by
# construction (core.tracking.models.MessageShortLinkClick says why). On PostgreSQL the
# four constraints are dropped here, by what they reference (names vary by version).
# The AlterFields change the model state only: tortoise would alter no constraint on
# PostgreSQL, and on SQLite it would rebuild the table and lose its indexes; SQLite
# keeps its four REFERENCES (cheap there, and nothing deletes what they point at).
async def _drop_click_foreign_keys(apps, schema_editor):
    await drop_foreign_keys(schema_editor, "message_short_link_click",
                            ("account", "message_sent", "contact", "offer"))


class Migration(migrations.Migration):
    dependencies = [('models', '0016_selection_control')]

    initial = False

    operations = [
        ops.RunPython(_drop_click_foreign_keys, ops.RunPython.noop),
        StateOnlyAlterField(
            model_name='MessageShortLinkClick',
            name='account',
            field=fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=False, to_field='id', related_name='link_clicks', on_delete=OnDelete.NO_ACTION),
        ),
        StateOnlyAlterField(
            model_name='MessageShortLinkClick',
            name='contact',
            field=fields.ForeignKeyField('models.Contact', source_field='contact_id', null=True, db_constraint=False, to_field='id', related_name='link_clicks', on_delete=OnDelete.NO_ACTION),
        ),
        StateOnlyAlterField(
            model_name='MessageShortLinkClick',
            name='message',
            field=fields.ForeignKeyField('models.MessageSent', source_field='message_id', null=True, db_constraint=False, to_field='id', related_name='link_clicks', on_delete=OnDelete.NO_ACTION),
        ),
        StateOnlyAlterField(
            model_name='MessageShortLinkClick',
            name='offer',
            field=fields.ForeignKeyField('models.Offer', source_field='offer_id', null=True, db_constraint=False, to_field='id', related_name='link_clicks', on_delete=OnDelete.NO_ACTION),
        ),
        ops.AddField(
            model_name='Schedule',
            name='click_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='WelcomeJourney',
            name='click_count',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
