from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.system.migration_ops import StateOnlyAlterField, drop_foreign_keys

# Issue 13, the redirect's CPU budget: on PostgreSQL the raw click's last foreign key, its
# short link's, cost each COPY'd row an RI trigger (an index probe and a FOR KEY SHARE
# lock on the link's row, which writes that row's page): about 6 of the 15 us of backend
# CPU a row took, more than either secondary index (measured on a scratch database,
# 30,000 rows in batches of 1,500). The link id is the one the redirect just read from
# the database, like the four columns 0017 freed, so the row is right by construction;
# nothing deletes short links (they go only with a hand-deleted account or contact, whose
# raw clicks then stay until retention drops their month). Dropped on PostgreSQL, by
# what it references (the name varies by version); SQLite keeps its REFERENCES (its
# write is not the redirect's budget there, and the state change alters no table).


async def _drop(apps, schema_editor):
    await drop_foreign_keys(schema_editor, "message_short_link_click", ("message_short_link",))


async def _restore(apps, schema_editor):
    if schema_editor.DIALECT != "postgres":
        return
    await schema_editor._run_sql(
        "ALTER TABLE message_short_link_click ADD CONSTRAINT "
        "message_short_link_click_short_link_id_fkey FOREIGN KEY (short_link_id) "
        "REFERENCES message_short_link (id) ON DELETE CASCADE")


class Migration(migrations.Migration):
    dependencies = [('models', '0020_list_contact_layout')]

    initial = False

    operations = [
        ops.RunPython(_drop, _restore),
        StateOnlyAlterField(
            model_name='MessageShortLinkClick',
            name='short_link',
            field=fields.ForeignKeyField('models.MessageShortLink', source_field='short_link_id', db_constraint=False, to_field='id', related_name='clicks', on_delete=OnDelete.NO_ACTION),
        ),
    ]
