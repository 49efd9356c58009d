"""Confidential reports: committee seats, reports, the members they name, recusals, and the
hash-chained case log with its one head row."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0011_mailnotify')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CommitteeSeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='committee_seat', on_delete=OnDelete.RESTRICT)),
                ('body', fields.CharField(default='committee', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'committee_seat', 'app': 'forum', 'pk_attr': 'id', 'table_description': "A member's seat on the committee or the alternate body (one seat at most per member)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('reporter', fields.ForeignKeyField('forum.Member', source_field='reporter_id', db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.RESTRICT)),
                ('level', fields.CharField(max_length=16)),
                ('state', fields.CharField(max_length=24)),
                ('body', fields.CharField(default='committee', max_length=16)),
                ('consent', fields.CharField(default='none', max_length=16)),
                ('outcome', fields.CharField(null=True, max_length=32)),
                ('post_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('released_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('entry_count', fields.IntField(default=0)),
                ('head_hash', fields.CharField(default='', max_length=64)),
                ('event_seq', fields.BigIntField(default=0)),
            ],
            options={'table': 'report', 'app': 'forum', 'indexes': [Index(fields=['state', 'body'])], 'pk_attr': 'id', 'table_description': 'A report and the case it opens. Never deleted, only closed or withdrawn.'},
            bases=['PublicIdModel'],
        ),
        ops.CreateModel(
            name='CaseEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(unique=True)),
                ('case_seq', fields.IntField()),
                ('report', fields.ForeignKeyField('forum.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=32)),
                ('actor_id', fields.IntField(null=True)),
                ('side', fields.CharField(default='', max_length=16)),
                ('detail', fields.CharField(default='', max_length=64)),
                ('at', fields.CharField(max_length=40)),
                ('ciphertext', fields.TextField(null=True, unique=False)),
                ('content_hash', fields.CharField(default='', max_length=64)),
                ('erased', fields.BooleanField(default=False)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('case_prev_hash', fields.CharField(max_length=64)),
                ('entry_hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'case_entry', 'app': 'forum', 'unique_together': (('report', 'case_seq'),), 'pk_attr': 'id', 'table_description': 'One act on a case. Rows are only inserted. The one change ever made is an erasure,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Recusal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('forum.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='recusals', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='recusals', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'report_recusal', 'app': 'forum', 'unique_together': (('report', 'member'),), 'pk_attr': 'id', 'table_description': 'A committee member who declared a conflict on a case: they never see it again.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportLogHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(default=0)),
                ('head_hash', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'report_log_head', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'The head of the whole case log: one row, updated (under its row lock) by every append,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportRespondent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('forum.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='respondents', on_delete=OnDelete.RESTRICT)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='reports_naming', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'report_respondent', 'app': 'forum', 'unique_together': (('report', 'member'),), 'pk_attr': 'id', 'table_description': 'A member a report names.'},
            bases=['Model'],
        ),
        ops.RunSQL(
            "INSERT INTO report_log_head (id, seq, head_hash) VALUES (1, 0, '')",
            reverse_sql="DELETE FROM report_log_head",
        ),
    ]
