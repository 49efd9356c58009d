"""Static files under names that carry a hash of their content (`css/forum.3f9a0c1b2d4e.css`).

Pages link the hashed name, so a file can be cached for a year and a new version is a new
address: nginx (deploy/nginx) serves `/static/NAME.HASH.EXT` from `static/NAME.EXT` with
`Cache-Control: immutable`, and so does the app when it serves static files itself. The plain
names still work, with a short cache.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HASHED = re.compile(r"^(?P<stem>.+)\.[0-9a-f]{12}(?P<ext>\.[A-Za-z0-9]+)$")
LONG = "public, max-age=31536000, immutable"
SHORT = "public, max-age=3600"

_hashes: dict[str, str] = {}


def static_url(directory: Path, name: str) -> str:
    """`/static/<name with its content hash>`; computed once per file and process."""
    hashed = _hashes.get(name)
    if hashed is None:
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]
        stem, dot, ext = name.rpartition(".")
        hashed = _hashes[name] = f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"
    return f"/static/{hashed}"


class HashedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        match = HASHED.match(path)
        if match is not None:
            response = await super().get_response(match["stem"] + match["ext"], scope)
            if response.status_code == 200:
                response.headers["cache-control"] = LONG
            return response
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = SHORT
        return response
