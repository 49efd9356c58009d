"""Public ids: random, so that no id tells how many rows were made before it, or where.

A global sequence would count hidden areas: two public moderation-log entries whose ids are 40
apart say that 39 entries were written where the reader cannot look (one per caucus of a
suspended member), and post ids tell how busy caucuses are between two public posts. So every
row whose id reaches a URL, a page, an API answer or a live frame, and that can be made inside
a caucus, takes a random id at insert. Order of creation is kept by other columns
(`created_at`, a post's path and per-thread number), never by the id.

Ids stay below 2**31: the columns are 32-bit integers, and the URL, topic and live-hub parsers
accept `0 < id < 2**31`, as does JavaScript's exact integer range. A random id can meet one
already taken (the chance is rows / 2**31 per insert): the insert is tried again with a fresh
one. The ids come from the operating system's generator, not `random`, whose state (and so how
many ids were drawn between two seen ones) can be rebuilt from its outputs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

ID_LIMIT = 2**31
# Each try meets a taken id with chance rows / 2**31: eight in a row is out of reach.
ATTEMPTS = 8


def new_id() -> int:
    """A random id in 1 .. 2**31 - 1."""
    return secrets.randbelow(ID_LIMIT - 1) + 1


def distinct_ids(count: int, taken: Iterable[int] = ()) -> list[int]:
    """`count` random ids, none equal to another or to one in `taken`: for `bulk_create`, which
    inserts many rows in one statement and so cannot try one row again."""
    seen = set(taken)
    out: list[int] = []
    while len(out) < count:
        candidate = new_id()
        if candidate not in seen:
            seen.add(candidate)
            out.append(candidate)
    return out


def random_id_field() -> Any:
    """The primary key of a model with public ids: set by us at insert, not by the database."""
    return fields.IntField(primary_key=True, generated=False, default=new_id)


class PublicIdModel(Model):
    """A model whose id is random: `save` (and so `create`) tries again on a taken id."""

    id = random_id_field()

    class Meta:
        abstract = True

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        if self._saved_in_db or force_update or update_fields:
            await super().save(using_db, update_fields, force_create, force_update)
            return
        db = using_db or self._choose_db(True)
        # PostgreSQL aborts the whole transaction on a failed insert, so inside one the insert
        # runs under a savepoint that a taken id can roll back to; SQLite undoes only the
        # failed statement, and outside a transaction there is nothing to keep.
        guarded = isinstance(db, TransactionalDBClient) and db.capabilities.dialect == "postgres"
        for attempt in range(ATTEMPTS):
            try:
                if guarded:
                    await _insert_guarded(self, db)
                else:
                    await super().save(db, force_create=True)
                return
            except IntegrityError:
                taken = await type(self).filter(id=self.id).using_db(db).exists()
                if not taken or attempt == ATTEMPTS - 1:
                    raise  # another constraint (a duplicate key of the caller's), not the id
                self.id = new_id()


async def _insert_guarded(row: PublicIdModel, db: BaseDBAsyncClient) -> None:
    # The client's own nested-transaction context (what `in_transaction()` returns inside a
    # transaction): asyncpg's wrapper must not be asked for a savepoint directly, as that ends
    # the outer transaction's bookkeeping.
    async with db._in_transaction() as nested:
        await Model.save(row, nested, force_create=True)
