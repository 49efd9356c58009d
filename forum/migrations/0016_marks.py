"""Reactions and bookmarks carry their post's thread, so a thread page reads its reader's own
marks in the thread's query instead of one more query with the page's post ids; a member's
caucus seats, read with every signed-in request, get an index of their own."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.migration_ops import AddFilledField
from tortoise import fields
from tortoise.indexes import Index


TABLES = ("reaction", "bookmark")


async def backfill(client):
    """Give every row written before this migration its post's thread."""
    for table in TABLES:
        await client.execute_script(
            f"UPDATE {table} SET thread_id = "
            f"(SELECT post.thread_id FROM post WHERE post.id = {table}.post_id) "
            "WHERE thread_id = 0"
        )


async def forward(apps, schema_editor):
    client = schema_editor.client
    for table in TABLES:
        await client.execute_script(
            f"ALTER TABLE {table} ADD COLUMN thread_id INT NOT NULL DEFAULT 0"
        )
    await backfill(client)


async def backward(apps, schema_editor):
    client = schema_editor.client
    for table in TABLES:
        await client.execute_script(f"ALTER TABLE {table} DROP COLUMN thread_id")


class Migration(migrations.Migration):
    dependencies = [('forum', '0015_invites')]

    initial = False

    operations = [
        AddFilledField(model_name='Bookmark', name='thread_id', field=fields.IntField(default=0)),
        AddFilledField(model_name='Reaction', name='thread_id', field=fields.IntField(default=0)),
        ops.RunPython(forward, backward),
        ops.AddIndex(model_name='Bookmark', index=Index(fields=['member_id', 'thread_id'])),
        ops.AddIndex(model_name='Reaction', index=Index(fields=['member_id', 'thread_id'])),
        ops.AddIndex(model_name='CaucusMembership', index=Index(fields=['member_id'])),
    ]
