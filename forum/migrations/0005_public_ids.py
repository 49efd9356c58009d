"""Public ids become random; posts get a per-thread number that read markers compare.

Ids: the models now choose a random id at insert (forum.models.ids), so the columns keep their
type and rows keep their ids; only the model state changes, and on PostgreSQL the columns lose
their sequence default, so nothing can fall back to a global counter. (SQLite's AUTOINCREMENT
only takes effect when an insert gives no id, which none does; changing it would rebuild every
table.)

Order: lists once ordered by id are ordered by time (two new indexes). Read markers held the
id of the last post read and compared ids; they now hold a post's number in its thread.
Existing posts are numbered by their old ids (which were in order within a thread), so markers
keep their values; new posts take the thread's next number.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from forum.models.ids import new_id

TABLES = {
    "Caucus": "caucus",
    "CaucusMembership": "caucus_membership",
    "Channel": "channel",
    "Flag": "flag",
    "ModerationAction": "moderation_action",
    "Notification": "notification",
    "Post": "post",
    "PostRevision": "post_revision",
    "ReviewItem": "review_item",
    "Thread": "thread",
}


class AlterIdState(ops.AlterField):
    """The id's model state changes (set at insert, not by the database); its column does not."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


def random_id():
    return fields.IntField(
        primary_key=True, generated=False, default=new_id, unique=True, db_index=True
    )


class AddCountedField(ops.AddField):
    """A counter column for existing rows: added below with a database default of 0, as a NOT
    NULL column without one cannot be added to a table that has rows."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


async def forward(apps, schema_editor):
    client = schema_editor.client
    await client.execute_script("ALTER TABLE post ADD COLUMN seq INT NOT NULL DEFAULT 0")
    await client.execute_script(
        "ALTER TABLE thread ADD COLUMN last_post_seq INT NOT NULL DEFAULT 0"
    )
    await client.execute_script("UPDATE post SET seq = id")
    await client.execute_script("UPDATE thread SET last_post_seq = last_post_id")
    if client.capabilities.dialect == "postgres":
        for table in TABLES.values():
            await client.execute_script(f"ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT")


async def backward(apps, schema_editor):
    client = schema_editor.client
    await client.execute_script("ALTER TABLE post DROP COLUMN seq")
    await client.execute_script("ALTER TABLE thread DROP COLUMN last_post_seq")
    if client.capabilities.dialect != "postgres":
        return
    for table in TABLES.values():
        rows = await client.execute_query_dict(
            "SELECT pg_get_serial_sequence($1, 'id') AS seq, "
            f"COALESCE(MAX(id), 0) + 1 AS next FROM {table}",
            [table],
        )
        sequence, following = rows[0]["seq"], rows[0]["next"]
        if sequence:
            await client.execute_query("SELECT setval($1, $2, false)", [sequence, following])
            await client.execute_script(
                f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}')"
            )


class Migration(migrations.Migration):
    dependencies = [("forum", "0004_tokens")]

    operations = [
        *(AlterIdState(model_name=name, name="id", field=random_id()) for name in TABLES),
        AddCountedField(model_name="Post", name="seq", field=fields.IntField(default=0)),
        AddCountedField(
            model_name="Thread", name="last_post_seq", field=fields.IntField(default=0)
        ),
        ops.RenameField(
            model_name="ReadMarker", old_name="last_read_post_id", new_name="last_read_seq"
        ),
        ops.RunPython(forward, backward),
        # Lists once ordered by id are ordered by time.
        ops.AddIndex(
            model_name="ModerationAction", index=Index(fields=["caucus_id", "created_at"])
        ),
        ops.AddIndex(model_name="Notification", index=Index(fields=["member_id", "created_at"])),
    ]
