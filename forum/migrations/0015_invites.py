from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0014_follows')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Invite',
            name='batch',
            field=fields.CharField(null=True, db_index=True, max_length=32),
        ),
        ops.AddField(
            model_name='Invite',
            name='email',
            field=fields.CharField(null=True, max_length=254),
        ),
        ops.AddField(
            model_name='Invite',
            name='revoked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Invite',
            name='revoked_by',
            field=fields.ForeignKeyField('forum.Member', source_field='revoked_by_id', null=True, db_constraint=True, to_field='id', related_name='invites_revoked', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Invite',
            name='sealed',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
