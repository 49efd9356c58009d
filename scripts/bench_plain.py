"""The bare baseline for scripts/bench: one Starlette plaintext route, no middleware, served by
uvicorn with the same options `forum serve` uses (see forum/cli.py cmd_serve).

    python scripts/bench_plain.py PORT
"""

from __future__ import annotations

import asyncio
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


async def loop_info(request: Request) -> JSONResponse:
    loop = asyncio.get_running_loop()
    return JSONResponse({"loop": f"{type(loop).__module__}.{type(loop).__name__}"})


app = Starlette(routes=[Route("/", plaintext), Route("/loop", loop_info)])


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    # Mirrors forum.cli.cmd_serve: loop/http/ws "auto", warning logs, no proxy headers.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        workers=1,
        log_level="warning",
        ws_per_message_deflate=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
