"""One prepared query that loads a model with its related rows, for the hottest lookups.

tortoise builds a query with `select_related` anew on every call, and on a thread page that
building cost more than the database. Here the SQL is written once per (query, dialect) and
rows become models as tortoise's own queries build them (through `forum.seams`, the one module
that touches tortoise's internals), so templates and the policy see ordinary model objects.
When the seam no longer fits the installed tortoise, the root is fetched again through the
ORM's public query API with the same relations: slower, identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.models import Model

from forum import seams
from forum.db import for_dialect


@dataclass(frozen=True)
class Part:
    """One table of the query: its model, SQL alias, and where it hangs ("" for the root,
    "channel" or "channel.caucus" for relations), or `extra` columns returned as a dict."""

    model: type[Model] | None
    alias: str
    attach: str = ""
    extra: tuple[str, ...] = ()
    # A computed column instead of a table: this SQL expression, returned as the extra `alias`
    # (a correlated subquery, say).
    sql: str = ""


class JoinedQuery:
    def __init__(
        self,
        parts: Sequence[Part],
        from_sql: str,
        where: str,
        words: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.parts = list(parts)
        self.from_sql = from_sql
        # Words that differ by dialect, as `{name}` in from_sql (an aggregate's name).
        self.words = words or {}
        self.where = where
        self._sql: dict[str, str] = {}
        self._columns: list[tuple[int, str]] = []

    def sql(self, dialect: str) -> str:
        cached = self._sql.get(dialect)
        if cached is None:
            # Read the columns only now: foreign-key columns exist once tortoise is set up.
            self._columns = [
                (index, name)
                for index, part in enumerate(self.parts)
                for name in (
                    seams.db_columns(part.model)
                    if part.model
                    else (part.alias,)
                    if part.sql
                    else part.extra
                )
            ]
            words = self.words.get(dialect, {})

            def column(i: int, name: str) -> str:
                part = self.parts[i]
                if part.model:
                    return f'{part.alias}."{name}"'
                if part.sql:
                    return part.sql.format(**words) if words else part.sql
                return f"{part.alias}.{name}"

            # Every column gets an alias of its own: several tables have an "id".
            select = ", ".join(
                f"{column(i, name)} AS c{n}" for n, (i, name) in enumerate(self._columns)
            )
            from_sql = self.from_sql.format(**words) if words else self.from_sql
            sql = f"SELECT {select} FROM {from_sql} WHERE {self.where}"
            cached = self._sql[dialect] = for_dialect(sql, dialect)
        return cached

    async def first(self, params: list[Any]) -> tuple[Model | None, dict[str, Any]]:
        """The root model with its relations attached (None if no row), and the extras."""
        conn = connections.get("default")
        _, rows = await conn.execute_query(self.sql(conn.capabilities.dialect), params)
        if not rows:
            return None, {}
        values = list(rows[0].values()) if isinstance(rows[0], dict) else list(rows[0])
        grouped: list[dict[str, Any]] = [{} for _ in self.parts]
        for (index, name), value in zip(self._columns, values, strict=True):
            grouped[index][name] = value
        extras: dict[str, Any] = {}
        for part, columns in zip(self.parts, grouped, strict=True):
            if part.model is None:
                extras.update(columns)
        if not seams.ORM_FAST:
            return await self._plain(grouped[0].get("id")), extras
        built: dict[str, Any] = {}
        root: Model | None = None
        for part, columns in zip(self.parts, grouped, strict=True):
            if part.model is None:
                continue
            obj = seams.from_db(part.model, columns) if columns.get("id") is not None else None
            if part.attach == "":
                root = obj
            else:
                owner_path, _, attr = part.attach.rpartition(".")
                owner = built.get(owner_path) if owner_path else root
                if owner is not None:
                    seams.attach(owner, attr, obj)
            built[part.attach] = obj
        return root, extras

    async def _plain(self, root_id: Any) -> Model | None:
        """The root model by id through the ORM's public API, with the same relations."""
        model = self.parts[0].model
        assert model is not None
        related = [p.attach.replace(".", "__") for p in self.parts[1:] if p.model and p.attach]
        return await model.filter(pk=root_id).select_related(*related).first()
