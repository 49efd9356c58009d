from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.migration_ops import AddFilledField
from forum.models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

COLUMNS = (
    ("member", "bio", "TEXT"),
    ("member", "pronouns", "VARCHAR(40)"),
    ("post", "reaction_counts", "VARCHAR(200)"),
)


async def forward(apps, schema_editor):
    client = schema_editor.client
    for table, column, kind in COLUMNS:
        await client.execute_script(
            f"ALTER TABLE {table} ADD COLUMN {column} {kind} NOT NULL DEFAULT ''"
        )


async def backward(apps, schema_editor):
    client = schema_editor.client
    for table, column, _ in COLUMNS:
        await client.execute_script(f"ALTER TABLE {table} DROP COLUMN {column}")


class Migration(migrations.Migration):
    dependencies = [('forum', '0012_reports')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Bookmark',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='bookmarks', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='bookmarks', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'bookmark', 'app': 'forum', 'unique_together': (('member', 'post'),), 'indexes': [Index(fields=['member_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        ops.CreateModel(
            name='Reaction',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='reactions', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='reactions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reaction', 'app': 'forum', 'unique_together': (('post', 'member', 'kind'),), 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        AddFilledField(model_name='Member', name='bio', field=fields.TextField(default='', unique=False)),
        AddFilledField(model_name='Member', name='pronouns', field=fields.CharField(default='', max_length=40)),
        AddFilledField(model_name='Post', name='reaction_counts', field=fields.CharField(default='', max_length=200)),
        ops.RunPython(forward, backward),
    ]
