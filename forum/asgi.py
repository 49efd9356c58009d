"""The ASGI app for servers: `uvicorn forum.asgi:app`. Settings come from FORUM_* variables."""

from forum.app import create_app
from forum.settings import Settings

app = create_app(Settings.from_env())
