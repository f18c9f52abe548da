from tortoise import migrations
from tortoise.migrations import operations as ops
from core.contacts.models import UnsubscribeReason
from tortoise.fields.base import OnDelete
from tortoise import fields

# Account-wide STOPs received before this table existed, so lists created from now on
# honour them too: in an account whose STOP scope is "account", each contact's latest
# STOP that no opt-in (START) handled after it undid. (The scope when it arrived is not
# stored; the account's scope today is what a STOP arriving now would get.)
BACKFILL = (
    "INSERT INTO account_opt_out (account_id, contact_id, reason, keyword, opted_out_at) "
    "SELECT i.account_id, i.contact_id, 'message', NULL, MAX(i.received_at) "
    "FROM inbound_message i JOIN account a ON a.id = i.account_id "
    "WHERE a.stop_scope = 'account' AND i.contact_id IS NOT NULL "
    "AND i.action_taken IN ('unsubscribed', 'already_unsubscribed', "
    "'complaint_unsubscribed') "
    "AND NOT EXISTS (SELECT 1 FROM inbound_message j WHERE j.account_id = i.account_id "
    "AND j.contact_id = i.contact_id AND j.action_taken IN ('subscribed', 'resubscribed') "
    "AND j.id > i.id) "
    "GROUP BY i.account_id, i.contact_id"
)

class Migration(migrations.Migration):
    dependencies = [('models', '0004_ticket_message_edits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountOptOut',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='opt_outs', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='account_opt_outs', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharEnumField(description='MESSAGE: message\nMANUAL: manual\nCOMPLAINT: complaint\nBAD_RESPONSE: bad_response\nINVALID_CONTACT: invalid_contact', enum_type=UnsubscribeReason, max_length=16)),
                ('keyword', fields.CharField(null=True, max_length=64)),
                ('opted_out_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_opt_out', 'app': 'models', 'unique_together': (('account', 'contact'),), 'pk_attr': 'id', 'table_description': 'A STOP with account scope. Every list of the account honours it, those created'},
            bases=['Model'],
        ),
        ops.RunSQL(BACKFILL, reverse_sql='DELETE FROM "account_opt_out"'),
    ]
