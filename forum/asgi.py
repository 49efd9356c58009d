"""The ASGI app for servers: `uvicorn forum.asgi:app`. Settings come from FORUM_* variables."""

from forum.app import create_app
from forum.settings import Settings

# A server warms the render workers at start, so its first posts do not wait for them.
app = create_app(Settings.from_env(), warm_renderer=True)
