from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0007_email_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Draft',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='drafts', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('forum.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='drafts', on_delete=OnDelete.CASCADE)),
                ('parent_key', fields.IntField(default=0)),
                ('body', fields.TextField(unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'draft', 'app': 'forum', 'unique_together': (('member', 'thread', 'parent_key'),), 'pk_attr': 'id', 'table_description': 'A reply being written, kept for its author so it follows them across devices: one per'},
            bases=['Model'],
        ),
    ]
