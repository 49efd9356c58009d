"""Live pushes carry each viewer's controls as data, from the policy's view model: a post
pushed to a socket offers the same links the page would after a reload, and sockets of the
same kind of viewer share one frame."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.testclient import TestClient

from forum.policy import Actor
from forum.realtime.hub import Frames
from tests.test_ws import ORIGIN, client, login, receive_until, reply, start_thread, world

__all__ = ["client", "world"]  # the fixtures, shared with tests/test_ws.py


def _subscribed(ws: Any, topic: str) -> None:
    ws.send_json({"op": "subscribe", "topic": topic})
    assert ws.receive_json()["op"] == "subscribed"


def test_a_pushed_post_offers_each_reader_their_own_links(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    topic = f"thread:{tid}"
    login(client, "ada")  # an admin: moderates open channels
    with client.websocket_connect("/ws", headers=ORIGIN) as admin:
        _subscribed(admin, topic)
        login(client, "bo")
        with client.websocket_connect("/ws", headers=ORIGIN) as member:
            _subscribed(member, topic)
            csrf = login(client, "amara")
            with client.websocket_connect("/ws", headers=ORIGIN) as author:
                _subscribed(author, topic)
                post_id = reply(client, csrf, tid, "pushed live")

                def created(frame: dict[str, Any]) -> bool:
                    return frame.get("kind") == "post.created"

                seen = {
                    name: receive_until(ws, created)
                    for name, ws in (("admin", admin), ("member", member), ("author", author))
                }
    for frame in seen.values():
        assert frame["data"]["post_id"] == post_id
        assert frame["can"]["reply"] is True
    assert seen["admin"]["can"] == {
        "reply": True,
        "edit": False,
        "delete": False,
        "flag": True,
        "moderate": True,
        "appeal": False,
        "history": True,
        "react": True,
        "bookmark": True,
    }
    assert seen["member"]["can"]["flag"] is True
    assert seen["member"]["can"]["moderate"] is False
    assert seen["member"]["can"]["edit"] is False
    assert seen["author"]["can"]["edit"] is True
    assert seen["author"]["can"]["delete"] is True
    assert seen["author"]["can"]["flag"] is False
    # The HTML itself is the same for everyone: the controls are data, not markup.
    assert seen["admin"]["html"] == seen["member"]["html"] == seen["author"]["html"]


def _post(author_id: int, caucus_id: int | None = None) -> Any:
    channel = SimpleNamespace(caucus_id=caucus_id, public=False, archived=False)
    thread = SimpleNamespace(channel=channel, locked=False)
    return SimpleNamespace(
        __policy_kind__="Post", author_id=author_id, hidden=False, deleted=False, thread=thread
    )


def test_sockets_of_one_kind_of_viewer_share_one_frame() -> None:
    frames = Frames({"topic": "thread:1", "seq": 2, "kind": "post.created", "data": {}}, _post(9))
    bo = Actor(member_id=2, handle="bo", role="member", status="active")
    cy = Actor(member_id=3, handle="cy", role="member", status="active")
    fran = Actor(member_id=4, handle="fran", role="facilitator", status="active")
    author = Actor(member_id=9, handle="amara", role="member", status="active")
    assert frames.for_actor(bo) is frames.for_actor(cy)
    assert frames.for_actor(fran) is not frames.for_actor(bo)
    assert frames.for_actor(author) is not frames.for_actor(bo)
    assert len(frames.by_kind) == 3
