"""Operations that migrations share (kept outside `forum/migrations`, which holds only
migrations)."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class AddFilledField(ops.AddField):
    """A column that existing rows must have, in the migration's state only: the migration's
    own `RunPython` adds it to the database with an SQL DEFAULT, since tortoise's AddField adds
    no database default and a NOT NULL column without one cannot be added to a table that has
    rows."""

    async def database_forward(
        self, app_label: Any, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None

    async def database_backward(
        self, app_label: Any, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None
