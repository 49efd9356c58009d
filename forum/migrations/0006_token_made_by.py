from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0005_public_ids')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ApiToken',
            name='made_by_id',
            field=fields.IntField(null=True, db_index=True),
        ),
    ]
