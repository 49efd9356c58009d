from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.migration_ops import AddFilledField
from forum.models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


async def forward(apps, schema_editor):
    await schema_editor.client.execute_script(
        "ALTER TABLE mail_settings ADD COLUMN following VARCHAR(12) NOT NULL DEFAULT 'daily'"
    )


async def backward(apps, schema_editor):
    await schema_editor.client.execute_script("ALTER TABLE mail_settings DROP COLUMN following")


class Migration(migrations.Migration):
    dependencies = [('forum', '0013_members')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('forum.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('channel', fields.ForeignKeyField('forum.Channel', source_field='channel_id', null=True, db_constraint=True, to_field='id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('muted', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'follow', 'app': 'forum', 'unique_together': (('thread', 'member'), ('channel', 'member')), 'indexes': [Index(fields=['member_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        AddFilledField(model_name='MailSettings', name='following', field=fields.CharField(default='daily', max_length=12)),
        ops.RunPython(forward, backward),
    ]
