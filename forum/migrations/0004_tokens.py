"""API tokens gain expiry, revocation and scopes; members' recent sign-in addresses.

Tokens issued before this migration could do everything their member could, so they keep
all three scopes; new tokens are `read` unless the member asks for more.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0002_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SignInAddress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='sign_in_addresses', on_delete=OnDelete.CASCADE)),
                ('address_hash', fields.CharField(max_length=64)),
                ('last_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sign_in_address', 'app': 'forum', 'unique_together': (('member', 'address_hash'),), 'pk_attr': 'id', 'table_description': 'An address a member signed in from recently. Failed sign-ins from such an address do not'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='revoked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='scopes',
            field=fields.CharField(default='read', max_length=32),
        ),
        ops.RunSQL(
            "UPDATE api_token SET scopes = 'read write admin'",
            reverse_sql="SELECT 1",
        ),
    ]
