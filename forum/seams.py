"""The one place that reaches into libraries' private internals, each with a plain fallback.

Two hot paths use state the libraries do not promise to keep:

- **uvicorn's websockets-sansio socket**: fan-out writes a text frame's bytes straight to the
  socket's transport instead of going through the ASGI `send` coroutine (which builds the same
  frame again for every socket).
- **tortoise's model construction**: the prepared joined queries (`forum.services.joined`) turn
  rows into models with tortoise's own `_init_from_db` and attach fetched relations where
  tortoise keeps them (`_<relation>`), instead of building the query anew on every request.

`check()` runs once at start-up (from the app's lifespan). If a library changed so that a seam
no longer fits, it logs a warning naming the library and its version and turns that fast path
off: the plain path (the ASGI send; the ORM's own query) then serves, slower but correct. It
never raises. `tests/test_seams.py` proves both paths give identical output.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.protocol import OPEN as WS_OPEN

log = logging.getLogger("forum.seams")

# Whether each fast path is in use; `check()` may turn one off, tests flip them to compare.
DIRECT_WRITES = True
ORM_FAST = True


def library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


# ---- uvicorn: writing a websocket frame straight to the transport ---------------------------
#
# Only in the state where uvicorn's own `send` would do exactly this (open, writable, handshake
# done, no extension such as permessage-deflate, no fragmented message in progress); in any
# other state, and with any other server, the ASGI send is used.

_DIRECT_ATTRS = (
    "transport",
    "writable",
    "disconnected",
    "close_sent",
    "handshake_complete",
    "initial_response",
    "conn",
)
_CONN_ATTRS = ("state", "extensions", "debug", "expect_continuation_frame")


def text_frame(text: str) -> bytes:
    """A text frame as a server sends it: FIN, text opcode, unmasked."""
    return WsFrame(Opcode.TEXT, text.encode()).serialize(mask=False)


def direct_writer(send: Callable[..., Coroutine[Any, Any, None]]) -> Any:
    """uvicorn's protocol object behind `send`, or None (another server, a uvicorn whose
    protocol no longer has the state `write_now` reads, or the seam turned off)."""
    if not DIRECT_WRITES:
        return None
    proto: Any = getattr(send, "__self__", None)
    if type(proto).__name__ != "WebSocketsSansIOProtocol" or send.__name__ != "send":
        return None
    if not all(hasattr(proto, name) for name in _DIRECT_ATTRS):
        return None
    conn = proto.conn
    if not all(hasattr(conn, name) for name in _CONN_ATTRS):
        return None
    return proto


def write_now(proto: Any, out: Any) -> bool:
    """Write `out.wire` (a text frame's bytes) straight to the transport when the socket is in
    the state where uvicorn's `send` would write exactly those bytes; False (nothing written)
    otherwise, and the caller uses the ASGI send."""
    conn = proto.conn
    if (
        proto.writable.is_set()
        and not proto.disconnected
        and not proto.close_sent
        and proto.handshake_complete
        and proto.initial_response is None
        and conn.state is WS_OPEN
        and not conn.extensions
        and not conn.debug
        and not conn.expect_continuation_frame
    ):
        proto.transport.write(out.wire)
        return True
    return False


def _check_uvicorn() -> str | None:
    """Why the direct write no longer fits this uvicorn, or None when it does."""
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from uvicorn.server import ServerState

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = Config(app=app, log_config=None, ws="websockets-sansio", lifespan="off")
    config.load()
    proto = WebSocketsSansIOProtocol(config, ServerState(), {})
    missing = [n for n in _DIRECT_ATTRS if not hasattr(proto, n)]
    missing += [f"conn.{n}" for n in _CONN_ATTRS if not hasattr(proto.conn, n)]
    if missing:
        return f"its websocket protocol lacks {', '.join(missing)}"
    if direct_writer(proto.send) is not proto:
        return "its websocket send is no longer the protocol's `send` method"
    # The bytes uvicorn's send would write for a text message are the bytes we write.
    proto.conn.state = WS_OPEN
    sample = '{"op": "ping", "text": "\u00e9t\u00e9"}' + "x" * 300
    proto.conn.send_text(sample.encode())
    theirs = b"".join(proto.conn.data_to_send())
    if theirs != text_frame(sample):
        return "its protocol frames a text message differently"
    return None


# ---- tortoise: models built from rows, relations attached -----------------------------------


def db_columns(model: Any) -> list[str]:
    """A model's database columns (foreign keys as their `_id` columns), sorted."""
    return sorted(model._meta.db_fields)


_DATETIME_COLUMNS: dict[Any, tuple[str, ...]] = {}


def _datetime_columns(model: Any) -> tuple[str, ...]:
    found = _DATETIME_COLUMNS.get(model)
    if found is None:
        from tortoise.fields import DatetimeField

        meta = model._meta
        found = _DATETIME_COLUMNS[model] = tuple(
            meta.fields_db_projection[name]
            for name, field in meta.fields_map.items()
            if isinstance(field, DatetimeField) and name in meta.fields_db_projection
        )
    return found


def from_db(model: Any, columns: dict[str, Any]) -> Any:
    """A model instance from a row's columns, as tortoise's own queries build it. SQLite
    returns moments as text, which tortoise parses with a pure-Python ISO parser; the
    standard library's C `fromisoformat` reads the same text several times faster, and
    tortoise takes a datetime as it is (then sets its zone as it would have)."""
    for column in _datetime_columns(model):
        value = columns.get(column)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # tortoise parses what this cannot
                columns[column] = datetime.fromisoformat(value)
    return model._init_from_db(**columns)


def attach(owner: Any, relation: str, obj: Any) -> None:
    """Attach a fetched related object where tortoise's select_related keeps it."""
    object.__setattr__(owner, f"_{relation}", obj)


def _check_tortoise() -> str | None:
    """Why the model construction no longer fits this tortoise, or None when it does."""
    from forum.models import Caucus, Channel

    if not callable(getattr(Channel, "_init_from_db", None)):
        return "models no longer have _init_from_db"
    columns: dict[str, Any] = dict.fromkeys(db_columns(Channel))
    columns.update(id=7, name="General", slug="general", caucus_id=3, public=True)
    channel = from_db(Channel, columns)
    if (channel.pk, channel.name, channel.public, channel.caucus_id) != (7, "General", True, 3):
        return "_init_from_db no longer fills a model's fields from its columns"
    if not getattr(channel, "_saved_in_db", False):
        return "_init_from_db no longer marks a model as loaded from the database"
    caucus = from_db(Caucus, dict.fromkeys(db_columns(Caucus)) | {"id": 3})
    attach(channel, "caucus", caucus)
    if channel.caucus is not caucus:
        return "a fetched relation is no longer kept as _<relation>"
    return None


def check() -> None:
    """Run at start-up: turn off each fast path whose library changed under it, with a
    warning that names the library and its version. Never raises."""
    global DIRECT_WRITES, ORM_FAST
    for name, probe, libraries in (
        ("direct websocket writes", _check_uvicorn, ("uvicorn", "websockets")),
        ("prepared model construction", _check_tortoise, ("tortoise-orm",)),
    ):
        try:
            why = probe()
        except Exception as exc:  # any surprise means the seam does not fit
            why = f"the check failed: {exc!r}"
        if why is None:
            continue
        versions = ", ".join(f"{lib} {library_version(lib)}" for lib in libraries)
        log.warning("%s turned off (%s): %s; using the plain path", name, versions, why)
        if probe is _check_uvicorn:
            DIRECT_WRITES = False
        else:
            ORM_FAST = False
