"""Decisions in threads: the decision, its frozen electorate (voters) and its ballots; who may
propose in a channel.

On SQLite the ballot and voter tables are rebuilt WITHOUT ROWID: a table whose key is declared
`INT PRIMARY KEY` keeps a hidden rowid counting up in order of insertion, which would tell in
what order ballots were cast and voters voted. Without it a row lives in the order of its random
id. (PostgreSQL: see `forum.services.decisions.reshuffle`.)
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.migration_ops import AddFilledField
import functools
from forum.models.ids import new_id
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

UNORDERED = ("ballot", "decision_voter")


async def without_rowid(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    for table in UNORDERED:
        rows = await client.execute_query_dict(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", [table]
        )
        create = next(r["sql"] for r in rows if r["type"] == "table")
        indexes = [r["sql"] for r in rows if r["type"] == "index"]
        await client.execute_script(f'DROP TABLE "{table}"')
        await client.execute_script(create.rstrip().rstrip(";") + " WITHOUT ROWID")
        for sql in indexes:
            await client.execute_script(sql)


async def nothing(apps, schema_editor):
    return None



class Migration(migrations.Migration):
    dependencies = [('forum', '0009_mailaccounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Decision',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('forum.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.CASCADE)),
                ('proposer', fields.ForeignKeyField('forum.Member', source_field='proposer_id', null=True, db_constraint=True, to_field='id', related_name='decisions_proposed', on_delete=OnDelete.SET_NULL)),
                ('caucus', fields.ForeignKeyField('forum.Caucus', source_field='caucus_id', null=True, db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('options', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('multiple', fields.BooleanField(default=False)),
                ('seats', fields.IntField(default=1)),
                ('secret', fields.BooleanField(default=False)),
                ('results_shown', fields.CharField(default='closed', max_length=16)),
                ('quorum', fields.IntField(default=0)),
                ('threshold', fields.CharField(default='simple', max_length=16)),
                ('status', fields.CharField(default='draft', max_length=16)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('electorate', fields.IntField(default=0)),
                ('ballots_cast', fields.IntField(default=0)),
                ('outcome', fields.CharField(null=True, max_length=16)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('statement', fields.TextField(default='', unique=False)),
                ('statement_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded', fields.BooleanField(default=False)),
                ('receipt_key', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'decision', 'app': 'forum', 'indexes': [Index(fields=['status', 'closes_at']), Index(fields=['caucus_id', 'closed_at']), Index(fields=['thread_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        ops.CreateModel(
            name='Ballot',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('decision', fields.ForeignKeyField('forum.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='ballots', on_delete=OnDelete.CASCADE)),
                ('choice', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('receipt_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='open_ballots', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'ballot', 'app': 'forum', 'unique_together': (('decision', 'member'),), 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        ops.CreateModel(
            name='DecisionVoter',
            fields=[
                ('id', fields.IntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('decision', fields.ForeignKeyField('forum.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='voters', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('forum.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='decision_seats', on_delete=OnDelete.CASCADE)),
                ('voted', fields.BooleanField(default=False)),
            ],
            options={'table': 'decision_voter', 'app': 'forum', 'unique_together': (('decision', 'member'),), 'pk_attr': 'id'},
            bases=['PublicIdModel'],
        ),
        AddFilledField(
            model_name='Channel',
            name='proposers',
            field=fields.CharField(default='members', max_length=16),
        ),
        ops.RunSQL(
            "ALTER TABLE channel ADD COLUMN proposers VARCHAR(16) NOT NULL DEFAULT 'members'",
            reverse_sql="ALTER TABLE channel DROP COLUMN proposers",
        ),
        ops.RunPython(without_rowid, nothing),
    ]
