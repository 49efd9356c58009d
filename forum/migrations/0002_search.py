"""Full-text search structures, which differ by database (written by hand).

SQLite: an FTS5 table keyed by post id, kept up to date by the posting service.
PostgreSQL: GIN indexes over to_tsvector of post bodies and thread titles.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS post_fts USING fts5("
    "title, body, tokenize = 'porter unicode61 remove_diacritics 2')",
]
POSTGRES = [
    "CREATE INDEX IF NOT EXISTS post_body_fts ON post USING GIN (to_tsvector('english', body))",
    "CREATE INDEX IF NOT EXISTS thread_title_fts ON thread "
    "USING GIN (to_tsvector('english', title))",
]


async def forward(apps, schema_editor):
    client = schema_editor.client
    statements = POSTGRES if client.capabilities.dialect == "postgres" else SQLITE
    for sql in statements:
        await client.execute_script(sql)


async def backward(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("DROP INDEX IF EXISTS post_body_fts")
        await client.execute_script("DROP INDEX IF EXISTS thread_title_fts")
    else:
        await client.execute_script("DROP TABLE IF EXISTS post_fts")


class Migration(migrations.Migration):
    dependencies = [("forum", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
