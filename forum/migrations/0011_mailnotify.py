from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.migration_ops import AddFilledField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [('forum', '0010_decisions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MailSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='mail_settings', on_delete=OnDelete.CASCADE)),
                ('reply', fields.CharField(default='immediately', max_length=12)),
                ('mention', fields.CharField(default='immediately', max_length=12)),
                ('caucus', fields.CharField(default='immediately', max_length=12)),
                ('moderation', fields.CharField(default='immediately', max_length=12)),
                ('report', fields.CharField(default='immediately', max_length=12)),
                ('decision', fields.CharField(default='daily', max_length=12)),
                ('statement', fields.CharField(default='weekly', max_length=12)),
                ('daily_digest_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('weekly_digest_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('statements_mailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mail_settings', 'app': 'forum', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        AddFilledField(
            model_name='Notification',
            name='mail_state',
            field=fields.CharField(default='new', max_length=8),
        ),
        ops.RunSQL(
            "ALTER TABLE notification ADD COLUMN mail_state VARCHAR(8) NOT NULL DEFAULT 'new'",
            reverse_sql="ALTER TABLE notification DROP COLUMN mail_state",
        ),
        # Notifications from before email existed are not mailed now.
        ops.RunSQL("UPDATE notification SET mail_state = 'skipped'", reverse_sql=""),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['mail_state', 'created_at']),
        ),
    ]
