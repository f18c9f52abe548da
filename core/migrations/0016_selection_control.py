from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_campaign_hold_failure_state_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SelectionDecision',
            name='run_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='SelectionStat',
            name='click_exposure',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='SelectionStat',
            name='conversion_exposure',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='WelcomeJourney',
            name='automated_percent',
            field=fields.IntField(default=100, db_default=100),
        ),
    ]
