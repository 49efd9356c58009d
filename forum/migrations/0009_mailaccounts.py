from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0008_drafts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='email_tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=16)),
                ('address', fields.CharField(max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_by', fields.ForeignKeyField('forum.Member', source_field='sent_by_id', null=True, db_constraint=True, to_field='id', related_name='email_tokens_sent', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'email_token', 'app': 'forum', 'indexes': [Index(fields=['member_id', 'purpose'])], 'pk_attr': 'id', 'table_description': "A single-use link sent by email. Only the token's sha256 is kept. A used token is kept"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='email_key',
            field=fields.CharField(null=True, unique=True, max_length=254),
        ),
    ]
